"""Several rooms at once (issue 17): a binary peer that says so in its HELLO
(features bit 1) is in every room it JOINs until it PARTs; every event says
its room; /who and the history per room; a cap on rooms per peer. The text
protocol keeps the course's one room (docs/protocol.md)."""

import json
import struct
import time

from conftest import TIMEOUT
from wire import (ERROR, HISTORY, HISTORY_ASK, JOIN, MESSAGE, NOTICE, NOTICE_JOIN,
                  NOTICE_LEAVE, SAY, WELCOME, WHO, WHO_ASK, BinaryPeer, frame, hello, s, say)

PART = 0x12
FEATURE_ROOMS = 1


def hello_rooms(pseudo, room="", token=b"", after=0):
    """A HELLO with the features byte: several rooms at once."""
    return hello(pseudo, room, token, after, features=FEATURE_ROOMS)


def say_in(room, text):
    return frame(SAY, s(text) + s(room))


def many(port, pseudo, room=""):
    """A binary peer of several rooms, welcomed, its arrival seen."""
    p = BinaryPeer(port)
    p.send(hello_rooms(pseudo, room))
    p.welcome = p.expect(WELCOME)
    p.until(NOTICE, kind=NOTICE_JOIN, pseudo=pseudo)
    return p


def enter(p, room):
    """JOIN as a peer of several rooms: the room's history, its own arrival."""
    p.send(frame(JOIN, s(room)))
    h = p.next()
    assert h["type"] == HISTORY and h["room"] == room, h
    p.expect(NOTICE, kind=NOTICE_JOIN, pseudo=p.welcome["pseudo"], room=room)
    return json.loads(h["json"])


def test_a_binary_peer_hears_two_rooms_each_event_tagged(server):
    here = server.peer()
    here.join("ici")
    there = server.peer()
    there.join("là-bas")
    there.send("/join jeux\n")
    there.skip_until("Annonce : là-bas a rejoint le salon jeux")
    there.send("avant\n")
    time.sleep(0.2)

    a = many(server.port, "multi")
    here.skip_until("Annonce : multi a rejoint la chatroom")
    history = enter(a, "jeux")  # general is not left
    assert [e["text"] for e in history if e["kind"] == "message"] == ["avant"]
    there.expect("Annonce : multi a rejoint le salon jeux")
    here.silent()  # nobody in general heard of a departure

    there.send("depuis jeux\n")
    a.expect(MESSAGE, pseudo="là-bas", text="depuis jeux", room="jeux")
    here.send("depuis general\n")
    a.expect(MESSAGE, pseudo="ici", text="depuis general", room="general")

    # A SAY names its room; without one it goes to the current room, the
    # one named last (or joined last).
    a.send(say_in("general", "pour general"))
    here.expect("multi a dit : pour general")
    a.send(say("toujours general"))
    here.expect("multi a dit : toujours general")
    a.send(say_in("jeux", "pour jeux"))
    there.expect("multi a dit : pour jeux")
    here.silent()
    a.send(say_in("ailleurs", "nulle part"))
    assert a.expect(ERROR)["code"] == 6

    # WHO per room; a room it is not in is refused, as its history is.
    a.send(frame(WHO_ASK, s("general")))
    who = a.expect(WHO)
    assert who["room"] == "general" and set(who["members"]) == {"ici", "multi"}
    a.send(frame(WHO_ASK, s("jeux")))
    assert set(a.expect(WHO)["members"]) == {"là-bas", "multi"}
    a.send(frame(WHO_ASK, s("ailleurs")))
    assert a.expect(ERROR)["code"] == 6
    a.send(frame(HISTORY_ASK, s("jeux") + struct.pack(">Q", 0)))
    assert a.expect(HISTORY)["room"] == "jeux"

    # Joining a room it is in already is refused; nothing moves.
    a.send(frame(JOIN, s("jeux")))
    assert a.expect(ERROR)["code"] == 6
    a.close()
    # Its departure is told in both rooms.
    here.expect("Annonce : multi a quitté la chatroom")
    there.expect("Annonce : multi a quitté le salon jeux")


def test_part_leaves_one_room_and_never_the_last(server):
    there = server.peer()
    there.join("témoin")
    there.send("/join jeux\n")
    there.skip_until("Annonce : témoin a rejoint le salon jeux")
    a = many(server.port, "partant")
    enter(a, "jeux")
    there.expect("Annonce : partant a rejoint le salon jeux")

    a.send(frame(PART, s("jeux")))
    left = a.expect(NOTICE, kind=NOTICE_LEAVE, room="jeux", pseudo="partant")
    assert left["user"] == a.welcome["user"]
    there.expect("Annonce : partant a quitté le salon jeux")
    there.send("plus pour toi\n")
    a.send(frame(PART, s("jeux")))  # not in it any more
    assert a.expect(ERROR)["code"] == 6  # and the message above never came

    # general is its last room: it stays.
    a.send(frame(PART, s("")))
    err = a.expect(ERROR)
    assert err["code"] == 6 and "seul salon" in err["text"], err

    # Out of its last room that is not general, it lands in general.
    b = many(server.port, "ailleurs", room="jeux")
    there.expect("Annonce : ailleurs a rejoint le salon jeux")
    b.send(frame(PART, s("jeux")))
    b.until(NOTICE, kind=NOTICE_JOIN, pseudo="ailleurs", room="general")
    b.expect(NOTICE, kind=NOTICE_LEAVE, pseudo="ailleurs", room="jeux")
    there.expect("Annonce : ailleurs a quitté le salon jeux")
    a.expect(NOTICE, kind=NOTICE_JOIN, pseudo="ailleurs", room="general")
    b.send(say("me voilà"))
    a.expect(MESSAGE, pseudo="ailleurs", text="me voilà", room="general")


def test_an_old_client_still_moves_and_text_keeps_one_room(server):
    """No features byte: JOIN moves, as in version 1. Text: /part is a move
    back to general, refused there."""
    watcher = server.peer()
    watcher.join("veilleur")
    old = BinaryPeer(server.port)
    old.join("ancien")
    watcher.expect("Annonce : ancien a rejoint la chatroom")
    old.send(frame(JOIN, s("jeux")))
    watcher.expect("Annonce : ancien a quitté la chatroom")
    old.until(NOTICE, kind=NOTICE_JOIN, pseudo="ancien", room="jeux")

    t = server.peer()
    t.join("texte")
    watcher.expect("Annonce : texte a rejoint la chatroom")
    t.send("/part\n")
    t.expect("Erreur : general est votre seul salon : on ne le quitte pas (/quit pour partir)")
    t.send("/join jeux\n")
    t.skip_until("Annonce : texte a rejoint le salon jeux")
    watcher.expect("Annonce : texte a quitté la chatroom")
    t.send("/part jeux\n")
    t.skip_until("Annonce : texte a rejoint la chatroom")
    watcher.expect("Annonce : texte a rejoint la chatroom")
    t.send("/part ailleurs\n")
    t.expect("Erreur : vous n'êtes pas dans ce salon")


def test_rooms_per_peer_are_capped_while_a_conversation_goes_on(start_server):
    srv = start_server("--max-rooms-per-peer", "4")
    alice, bob = srv.peer(), srv.peer()
    alice.join("alice")
    bob.join("bob")
    alice.expect("Annonce : bob a rejoint la chatroom")

    greedy = many(srv.port, "glouton")
    bob.expect("Annonce : glouton a rejoint la chatroom")
    for i in range(3):
        enter(greedy, f"salon{i}")
    refused = 0
    worst = 0.0
    for i in range(3, 40):
        greedy.send(frame(JOIN, s(f"salon{i}")))
        # Beside it, the conversation goes on, promptly.
        sent = time.monotonic()
        alice.send(f"tour {i}\n")
        bob.expect(f"alice a dit : tour {i}")
        worst = max(worst, time.monotonic() - sent)
    while True:
        try:
            m = greedy.next(timeout=0.5)
        except AssertionError:
            break
        if m["type"] == ERROR:
            assert m["code"] in (6, 7), m
            if m["code"] == 6:
                assert m["text"] == ("vous êtes déjà dans 4 salons, le plus permis : "
                                     "quittez-en un (/part)"), m
                refused += 1
        else:
            # Nothing past its fourth room.
            assert m["type"] != HISTORY, m
    assert refused > 0
    assert worst < TIMEOUT / 2, worst
    # Leaving one lets it in another (once its flood budget has refilled
    # enough for a PART and a JOIN: 10 tokens, one second).
    time.sleep(1.2)
    greedy.send(frame(PART, s("salon0")))
    greedy.until(NOTICE, kind=NOTICE_LEAVE, room="salon0")
    enter(greedy, "salon9")
