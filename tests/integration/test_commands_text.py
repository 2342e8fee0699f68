"""The chat commands people expect (issue 16), over the text protocol, with
the course's French byte for byte: /msg (/query), /reply, /me, /nick,
/away, /topic, /ignore, /unignore, /ignore-list, /whois, the // escape,
any case, the usual aliases, and every refusal an "Erreur : …" that says
why."""

import re

import pytest

from conftest import Peer


def members(line):
    assert line.startswith("Présents dans general : "), line
    return set(line.split(" : ", 1)[1].split(", "))


def trio(server):
    a, b, c = server.peer(), server.peer(), server.peer()
    a.join("alice")
    b.join("bob")
    c.join("carol")
    a.skip_until("Annonce : carol a rejoint la chatroom")
    b.skip_until("Annonce : carol a rejoint la chatroom")
    return a, b, c


def test_a_private_message_reaches_its_two_ends_only(server):
    a, b, c = trio(server)
    a.send("/msg bob salut en secret\n")
    b.expect("alice a dit en privé : salut en secret")
    a.expect("Vous avez dit en privé à bob : salut en secret")
    c.silent()
    # Nothing of it in the room's history, nor in the conversation log.
    a.send("témoin\n")
    b.expect("alice a dit : témoin")
    server.stop()
    assert "témoin" in server.history_path.read_text()
    assert "secret" not in server.history_path.read_text()
    assert "témoin" in server.chatlog_path.read_text()
    assert "secret" not in server.chatlog_path.read_text()


def test_private_messages_in_the_log_only_when_asked(start_server):
    srv = start_server("--log-private")
    a, b = srv.peer(), srv.peer()
    a.join("alice")
    b.join("bob")
    a.send("/query bob noté\n")
    b.expect("alice a dit en privé : noté")
    srv.stop()
    assert "alice -> bob : noté" in srv.chatlog_path.read_text()
    assert "noté" not in srv.history_path.read_text()


def test_a_private_message_reaches_another_room_and_replies(server):
    a, b, c = trio(server)
    b.send("/join jeux\n")
    b.skip_until("Annonce : bob a rejoint le salon jeux")
    a.expect("Annonce : bob a quitté la chatroom")
    a.send("/MSG Bob tu es où ?\n")  # any case, a look-alike of the pseudo
    b.expect("alice a dit en privé : tu es où ?")
    a.expect("Vous avez dit en privé à bob : tu es où ?")
    b.send("/reply dans jeux\n")
    a.expect("bob a dit en privé : dans jeux")
    b.expect("Vous avez dit en privé à alice : dans jeux")
    c.expect("Annonce : bob a quitté la chatroom")
    c.send("/reply rien\n")
    c.expect("Erreur : personne ne vous a écrit en privé")


@pytest.mark.parametrize("line,why", [
    ("/msg zed salut", "personne ne s'appelle zed ici"),
    ("/msg bob", "usage : /msg PSEUDO TEXTE"),
    ("/msg alice moi", "vous ne pouvez pas vous écrire en privé"),
    ("/whois zed", "personne ne s'appelle zed ici"),
    ("/nick bob", "le pseudo bob est déjà pris"),
    ("/nick BOB", "le pseudo BOB est déjà pris"),
    ("/nick alice", "vous vous appelez déjà alice"),
    ("/nick a|b", "le pseudo contient un caractère interdit"),
    ("/unignore bob", "vous n'ignorez pas bob"),
    ("/ignore alice", "vous ne pouvez pas vous ignorer"),
    ("/away " + "x" * 201, "texte trop long (au plus 200 octets)"),
    ("/topic " + "x" * 301, "texte trop long (au plus 300 octets)"),
])
def test_every_refusal_says_why(server, line, why):
    a, b = server.peer(), server.peer()
    a.join("alice")
    b.join("bob")
    a.skip_until("Annonce : bob a rejoint la chatroom")
    a.send(line + "\n")
    a.expect("Erreur : " + why)
    b.silent(0.1)


def test_a_peer_without_a_pseudo_is_told_to_take_one(server):
    b = server.peer()
    b.join("bob")
    a = server.peer()
    for line in ("/msg bob salut", "/me danse", "/nick zed", "/away café", "/topic x",
                 "/ignore bob"):
        a.send(line + "\n")
        a.expect("Erreur : choisissez d'abord un pseudo (Hello|pseudo)")
    b.silent(0.1)


def test_me_is_an_action_for_the_others(server):
    a, b, c = trio(server)
    a.send("/me danse\n")
    b.expect("* alice danse")
    c.expect("* alice danse")
    a.silent(0.2)


def test_nick_is_told_to_the_room_and_moves_the_pseudo(server):
    a, b, c = trio(server)
    a.send("/nick alicia\n")
    for p in (a, b, c):
        p.expect("Annonce : alice s'appelle désormais alicia")
    c.send("/names\n")
    assert members(c.line()) == {"alicia", "bob", "carol"}
    b.send("/msg alicia coucou\n")
    a.expect("bob a dit en privé : coucou")
    b.line()
    b.send("/msg alice coucou\n")
    b.expect("Erreur : personne ne s'appelle alice ici")
    # The old pseudo is free again; another spelling of one's own is fine.
    d = server.peer()
    d.join("alice")
    a.send("/nick Alicia\n")
    a.skip_until("Annonce : alicia s'appelle désormais Alicia")
    b.skip_until("Annonce : alice a rejoint la chatroom")
    b.expect("Annonce : alicia s'appelle désormais Alicia")
    a.send("hop\n")
    b.expect("Alicia a dit : hop")


def test_away_shows_in_who_and_answers_private_messages(server):
    a, b, c = trio(server)
    b.send("/away pause café\n")
    b.expect("Annonce : vous êtes absent : pause café")
    a.send("/who\n")
    assert members(a.line()) == {"alice", "bob (absent : pause café)", "carol"}
    a.send("/msg bob tu es là ?\n")
    a.expect("Vous avez dit en privé à bob : tu es là ?")
    a.expect("Annonce : bob est absent : pause café")
    b.expect("alice a dit en privé : tu es là ?")
    b.send("/away\n")
    b.expect("Annonce : vous n'êtes plus absent")
    a.send("/who\n")
    assert members(a.line()) == {"alice", "bob", "carol"}


def test_topic_is_told_and_shown_to_joiners(server):
    a, b, c = trio(server)
    a.send("/topic\n")
    a.expect("Pas de sujet dans general")
    a.send("/topic Bienvenue ici\n")
    for p in (a, b, c):
        p.expect("Annonce : alice a changé le sujet : Bienvenue ici")
    b.send("/topic\n")
    b.expect("Sujet de general : Bienvenue ici")
    d = server.peer()
    d.join("dave")
    d.expect("Sujet de general : Bienvenue ici")
    # Another room has its own; coming back shows general's.
    d.send("/j jeux\n")
    d.skip_until("Annonce : dave a rejoint le salon jeux")
    d.send("/topic\n")
    d.expect("Pas de sujet dans jeux")
    d.send("/join general\n")
    d.skip_until("Annonce : dave a rejoint la chatroom")
    d.expect("Sujet de general : Bienvenue ici")


def test_topic_survives_a_restart_through_the_history(start_server, tmp_path):
    history = tmp_path / "h.jsonl"
    srv = start_server("--history", str(history))
    a = srv.peer()
    a.join("alice")
    a.send("/topic On garde ça\n")
    a.expect("Annonce : alice a changé le sujet : On garde ça")
    srv.stop()
    srv = start_server("--history", str(history))
    b = srv.peer()
    b.send("/topic\n")
    b.expect("Sujet de general : On garde ça")


def test_ignore_hides_everything_of_the_ignored(server):
    a, b, c = trio(server)
    a.send("/ignore bob\n")
    a.expect("Annonce : vous ignorez désormais bob")
    a.send("/ignore\n")
    a.expect("Ignorés : bob")
    b.send("tu m'entends ?\n")
    b.send("/me crie\n")
    b.send("/msg alice en privé\n")
    b.expect("Vous avez dit en privé à alice : en privé")
    c.expect("bob a dit : tu m'entends ?")
    c.expect("* bob crie")
    b.send("/join jeux\n")
    c.expect("Annonce : bob a quitté la chatroom")
    c.send("témoin\n")
    b.skip_until("Annonce : bob a rejoint le salon jeux")
    # alice hears carol's line, and nothing of bob's before it.
    a.expect("carol a dit : témoin")
    a.send("/unignore BOB\n")
    a.expect("Annonce : vous n'ignorez plus BOB")
    a.send("/ignore-list\n")
    a.expect("Ignorés : personne")
    b.send("/msg alice de retour\n")
    a.expect("bob a dit en privé : de retour")


def test_ignore_follows_a_rename(server):
    a, b, c = trio(server)
    a.send("/ignore bob\n")
    a.expect("Annonce : vous ignorez désormais bob")
    b.send("/nick robert\n")
    c.expect("Annonce : bob s'appelle désormais robert")
    b.send("encore moi\n")
    c.expect("robert a dit : encore moi")
    c.send("témoin\n")
    a.expect("carol a dit : témoin")


def test_whois(server):
    a, b, c = trio(server)
    b.send("/away en réunion\n")
    b.line()
    a.send("/whois bob\n")
    got = a.line()
    assert re.fullmatch(r"bob : salon general, connecté depuis \d\d:\d\d, "
                        r"inactif depuis \d+ s, absent : en réunion", got), got
    assert "127.0.0.1" not in got  # the address is for operators


def test_double_slash_sends_a_line_starting_with_a_slash(server):
    a, b, c = trio(server)
    a.send("//tmp est plein\n")
    b.expect("alice a dit : /tmp est plein")
    c.expect("alice a dit : /tmp est plein")


def test_aliases_and_help_of_one_command(server):
    a = server.peer()
    a.join("alice")
    a.send("/names\n")
    a.expect("Présents dans general : alice")
    a.send("/LIST\n")
    assert a.line().startswith("Salons : general (1)")
    a.send("/help msg\n")
    a.expect("/msg PSEUDO TEXTE : un message privé, où qu'il soit (aussi /query)")
    a.send("/help /topic\n")
    a.expect("/topic [SUJET] : le sujet du salon, ou le changer")
    a.send("/J jeux\n")
    a.skip_until("Annonce : alice a rejoint le salon jeux")
