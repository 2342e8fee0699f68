"""Security review H3 and M8: every frame type and command costs the sender
flood budget, weighted by the server's work; a doomed peer's input is not
served; binary JOIN cannot spam a room with notices. Each attack runs
beside a conversation whose latency must stay low."""

import struct
import time

import pytest

from conftest import TIMEOUT
from security import Conversation, SourcePeer, history_ask, until_error
from wire import (ERROR, HELLO, HISTORY, JOIN, MESSAGE, PING, ROOMS_ASK, WHO_ASK, BinaryPeer,
                  frame, hello, s, say)

FLOOD = 7


def fill_room(port, room, peers=7, messages=15, prefix="filler"):
    """About 2.4 MB of history JSON in `room`, within the flood limits:
    16 KiB messages of quotes and backslashes, which JSON doubles."""
    body = ('"\\' * 4096) + "x" * 8192
    fillers = []
    for i in range(peers):
        p = BinaryPeer(port, timeout=TIMEOUT)
        p.join(f"{prefix}{i}", room)
        for _ in range(messages):
            p.send(say(body))
        fillers.append(p)
    # Wait until a newcomer's history holds (nearly) all of them.
    deadline = time.monotonic() + TIMEOUT
    for i in range(1000):
        probe = BinaryPeer(port, timeout=TIMEOUT)
        probe.send(hello(f"{prefix}probe{i}", room))
        said = probe.until(HISTORY)["json"].count('"kind":"message"')
        probe.close()
        if said >= 90 or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    return fillers


def test_history_ask_burst_does_not_freeze_the_server(start_server):
    srv = start_server()
    talk = Conversation(srv.port)
    fillers = fill_room(srv.port, "big")
    attacker = BinaryPeer(srv.port, timeout=TIMEOUT)
    attacker.join("attacker", "big")  # its own room: M7 allows nothing else
    # 1000 requests of 14 bytes, each for the whole history, never read.
    attacker.send(history_ask("big", 0) * 1000)
    talk.assert_fluent(3.0)
    srv.wait_log(r"disconnected \((flooding|slow reader[^)]*|did not read[^)]*)\)")
    talk.assert_fluent(0.5)
    for p in fillers:
        p.close()
    attacker.close()


def test_a_doomed_peer_is_not_served_any_more(start_server):
    """A peer dropped as a slow reader in the middle of its input: what it
    sent after that is not acted upon."""
    srv = start_server("--max-queue", "1048576")
    fillers = fill_room(srv.port, "big")
    watcher = BinaryPeer(srv.port, timeout=TIMEOUT)
    watcher.join("watcher", "big")
    attacker = BinaryPeer(srv.port, timeout=TIMEOUT)
    attacker.join("attacker", "big")
    # Three gap replays queue ~7 MB of small frames (over 4x the 1 MiB
    # limit): the attacker is doomed, and its message must die with it.
    attacker.send(history_ask("big", 1) * 3 + say("published by a doomed peer"))
    srv.wait_log(r"disconnected \(slow reader")
    watcher.send(frame(PING, struct.pack(">Q", 77)))
    while True:
        m = watcher.next()
        assert m.get("text") != "published by a doomed peer", m
        if m["type"] == 0x10:
            break
    for p in fillers:
        p.close()


# One write of many cheap requests of each kind: every kind is charged.
CHEAP = {
    "ping": frame(PING, struct.pack(">Q", 1)),
    "who": frame(WHO_ASK),
    "rooms": frame(ROOMS_ASK),
    "gap_replay": history_ask("", 1),
    "join_same_room": frame(JOIN, s("general")),
    "unknown_type": frame(0x42, b"later"),
}


@pytest.mark.parametrize("kind", list(CHEAP))
def test_every_frame_type_costs_flood_budget(start_server, kind):
    srv = start_server()
    talk = Conversation(srv.port)
    p = BinaryPeer(srv.port, timeout=TIMEOUT)
    p.join("curieux")
    p.send(CHEAP[kind] * 3000)
    err = until_error(p, FLOOD)
    assert err["text"] == "trop de messages, ralentissez (message ignoré)"
    assert p.closed()
    talk.assert_fluent(0.5)


def test_hello_retries_cost_flood_budget(start_server):
    srv = start_server()
    talk = Conversation(srv.port)
    p = BinaryPeer(srv.port, timeout=TIMEOUT)
    p.send(hello("a|b") * 3000)  # each refused (pseudo), each tried again
    err = until_error(p, FLOOD)
    assert err["text"].startswith("trop de messages")
    assert p.closed()
    talk.assert_fluent(0.5)


def test_text_commands_cost_flood_budget(start_server):
    srv = start_server()
    talk = Conversation(srv.port)
    p = srv.peer()
    p.join("bavard")
    p.send("/who\n" * 1000)
    assert p.closed()
    got = p.buf.decode()
    assert "Erreur : trop de messages : déconnexion" in got
    # A list costs two messages: half the burst of 100 is answered.
    answered = got.count("Présents dans general : ")
    assert 40 <= answered <= 55, answered
    talk.assert_fluent(0.5)


def test_join_spam_is_rate_limited(start_server):
    """M8: 2000 binary JOINs back and forth; the room hears a few notices."""
    srv = start_server()
    talk = Conversation(srv.port)
    watcher = srv.peer()
    watcher.join("watcher")
    spammer = SourcePeer(srv.port, "127.0.0.2")
    spammer.join("spammer")
    watcher.skip_until("Annonce : spammer a rejoint la chatroom")
    spammer.send(b"".join(frame(JOIN, s("other" if i % 2 == 0 else "general"))
                          for i in range(2000)))
    talk.assert_fluent(1.0)
    # Everything the room heard about the spammer meanwhile.
    notices = 0
    try:
        while True:
            line = watcher.line(timeout=0.5)
            notices += line.startswith("Annonce : spammer ")
    except AssertionError:
        pass
    assert notices <= 60, f"{notices} notices about the spammer"
    err = until_error(spammer, FLOOD)
    assert err["text"] == "trop de messages, ralentissez (message ignoré)"
    assert spammer.closed()
