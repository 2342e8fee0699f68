"""Issue 16: every new resource a peer can make the server spend (renames,
topics, ignore lists, away texts, private messages) is bounded, and each
attack runs beside a conversation that must stay fluent."""

import re

from conftest import Peer
from security import Conversation


def flood(port, pseudo, lines):
    """A named text peer that writes all of `lines` at once, never reading."""
    p = Peer(port)
    p.join(pseudo)
    try:
        p.send("".join(line + "\n" for line in lines))
    except (BrokenPipeError, ConnectionResetError):
        pass  # disconnected for flooding before it had written it all
    return p


def test_nick_spam_is_bounded(start_server):
    srv = start_server()
    talk = Conversation(srv.port)
    watcher = Peer(srv.port)
    watcher.join("carol")
    attacker = flood(srv.port, "spam", [f"/nick spam{i}" for i in range(10000)])
    talk.assert_fluent(2.0)
    srv.wait_log(r"disconnected \(flooding\)")
    talk.assert_fluent(0.3)
    # A rename costs what a join does: a burst of 100 tokens buys 20.
    renames = [line for line in drain(watcher) if "s'appelle désormais" in line]
    assert 0 < len(renames) <= 40, len(renames)
    attacker.close()


def test_topic_spam_is_bounded(start_server):
    srv = start_server()
    talk = Conversation(srv.port)
    watcher = Peer(srv.port)
    watcher.join("carol")
    attacker = flood(srv.port, "spam", ["/topic " + "x" * 300] * 10000)
    talk.assert_fluent(2.0)
    srv.wait_log(r"disconnected \(flooding\)")
    talk.assert_fluent(0.3)
    topics = [line for line in drain(watcher) if "a changé le sujet" in line]
    assert 0 < len(topics) <= 40, len(topics)
    attacker.close()


def test_ten_thousand_ignores_stop_at_the_cap(start_server):
    # Flood control out of the way: the list's own bound must hold.
    srv = start_server("--flood-rate", "0")
    talk = Conversation(srv.port)
    attacker = flood(srv.port, "spam", [f"/ignore u{i}" for i in range(10000)])
    talk.assert_fluent(1.0)
    attacker.send("/ignore-list\n")
    got, full = [], 0
    while True:
        line = attacker.line()
        if line.startswith("Ignorés : "):
            break
        full += line == "Erreur : vous ignorez déjà 64 personnes, le maximum"
    assert full == 10000 - 64
    assert len(line.split(", ")) == 64
    talk.assert_fluent(0.3)
    attacker.close()


def test_private_flood_to_one_target_is_bounded(start_server):
    srv = start_server()
    talk = Conversation(srv.port)
    target = Peer(srv.port)
    target.join("carol")
    attacker = flood(srv.port, "spam", ["/msg carol " + "y" * 1000] * 10000)
    talk.assert_fluent(2.0)
    srv.wait_log(r"disconnected \(flooding\)")
    talk.assert_fluent(0.3)
    privates = [line for line in drain(target) if line.startswith("spam a dit en privé")]
    assert 0 < len(privates) <= 150, len(privates)
    attacker.close()


def test_away_text_spam_keeps_one_bounded_text(start_server):
    srv = start_server()
    talk = Conversation(srv.port)
    attacker = flood(srv.port, "spam", ["/away " + "z" * 200] * 50 + ["/away " + "z" * 1000])
    for _ in range(50):
        assert attacker.line() == "Annonce : vous êtes absent : " + "z" * 200
    assert attacker.line() == "Erreur : texte trop long (au plus 200 octets)"
    talk.alice.send("/who\n")
    who = talk.alice.line()
    while not who.startswith("Présents"):
        who = talk.alice.line()
    assert re.search(r"spam \(absent : z{200}\)", who), who
    talk.assert_fluent(0.3)
    attacker.close()


def drain(peer, quiet=0.3):
    """Every line that arrives until the peer has been quiet for `quiet` s."""
    lines = []
    while True:
        try:
            lines.append(peer.line(timeout=quiet))
        except AssertionError:
            return lines
