"""The chat commands of issue 16 over the binary protocol: one COMMAND frame
runs the server's table; answers are NOTICE kinds 4 to 8 and ERROR 13
(docs/protocol.md, "Chat commands"). Text and binary peers talk across."""

from wire import (COMMAND, ERR_REFUSED, ERROR, NOTICE, NOTICE_ACTION, NOTICE_INFO, NOTICE_NICK,
                  NOTICE_PRIVATE, NOTICE_TOPIC, BinaryPeer, command, frame, s)


def test_private_messages_between_binary_and_text(server):
    a = BinaryPeer(server.port)
    a.join("alice")
    b = server.peer()
    b.join("bob")
    third = BinaryPeer(server.port)
    third.join("carol")
    b.expect("Annonce : carol a rejoint la chatroom")
    a.send(command("/msg bob salut en secret"))
    b.expect("alice a dit en privé : salut en secret")
    echo = a.until(NOTICE, kind=NOTICE_PRIVATE)
    assert echo["text"] == "Vous avez dit en privé à bob : salut en secret"
    assert echo["pseudo"] == "bob" and echo["id"] == 0
    b.send("/reply bien reçu\n")
    got = a.until(NOTICE, kind=NOTICE_PRIVATE)
    assert got["text"] == "bob a dit en privé : bien reçu" and got["pseudo"] == "bob"
    # carol, a third binary peer, hears nothing of it.
    b.send("témoin\n")
    while True:
        m = third.next()
        assert "secret" not in m.get("text", "") and "reçu" not in m.get("text", ""), m
        if m.get("text") == "témoin":
            break
    server.stop()
    assert "secret" not in server.history_path.read_text()
    assert "secret" not in server.chatlog_path.read_text()


def test_refusals_are_error_13_with_the_reason(server):
    a = BinaryPeer(server.port)
    a.join("alice")
    b = BinaryPeer(server.port)
    b.join("bob")
    for line, why in (("/msg zed salut", "personne ne s'appelle zed ici"),
                      ("/nick bob", "le pseudo bob est déjà pris"),
                      ("/ignore alice", "vous ne pouvez pas vous ignorer")):
        a.send(command(line))
        a.until(ERROR, code=ERR_REFUSED, text=why)
    a.send(command("/danse"))
    err = a.until(ERROR, code=ERR_REFUSED)
    assert err["text"].startswith("commande inconnue /danse. Commandes : /rooms")


def test_me_nick_topic_are_room_notices(server):
    a = BinaryPeer(server.port)
    a.join("alice")
    t = server.peer()
    t.join("tom")
    a.send(command("/me danse"))
    t.expect("* alice danse")
    t.send("/me applaudit\n")
    m = a.until(NOTICE, kind=NOTICE_ACTION)
    assert m["text"] == "* tom applaudit" and m["pseudo"] == "tom"
    a.send(command("/nick alicia"))
    t.expect("Annonce : alice s'appelle désormais alicia")
    m = a.until(NOTICE, kind=NOTICE_NICK)
    assert m["pseudo"] == "alicia" and m["text"] == "Annonce : alice s'appelle désormais alicia"
    a.send(command("/topic Bienvenue ici"))
    t.expect("Annonce : alicia a changé le sujet : Bienvenue ici")
    m = a.until(NOTICE, kind=NOTICE_TOPIC)
    assert m["text"] == "Annonce : alicia a changé le sujet : Bienvenue ici"
    # A binary newcomer is told the topic.
    n = BinaryPeer(server.port)
    n.join("nina")
    m = n.until(NOTICE, kind=NOTICE_INFO)
    assert m["text"] == "Sujet de general : Bienvenue ici"
    # Its history holds the new kinds.
    late = BinaryPeer(server.port)
    late.send(frame(0x01, bytes([1]) + s("late") + s("") + s(b"") + bytes(8)))
    from wire import HISTORY
    h = late.until(HISTORY)
    assert '"kind":"action"' in h["json"] and '"kind":"nick"' in h["json"]
    assert '"kind":"topic"' in h["json"]


def test_a_command_costs_flood_budget(start_server):
    srv = start_server("--flood-burst", "10", "--flood-rate", "1")
    a = BinaryPeer(srv.port)
    a.join("alice")
    a.send(command("/whois alice") * 20)
    a.until(ERROR, code=7)
    assert COMMAND == 0x11
