"""Look-alike names against the real server (security review 2026-11: M3,
L7, I3; issue 17 item 6): with `alice` present nobody passes for her, over
the text or the binary protocol; a pseudo that looks empty or imitates an
anonymous peer's `{IP}:{Port}` label or a server `Annonce :` is refused
with its reason; room names are letters, digits and `-_.`, one per look."""

import pytest

from wire import ERROR, JOIN, NOTICE, NOTICE_JOIN, ROOMS, ROOMS_ASK, BinaryPeer, frame, hello, s

WIRE_ERR_PSEUDO = 5
WIRE_ERR_ROOM = 6

MIXED = "le pseudo mélange des écritures (latin et cyrillique, par exemple)"
EDGE = "le pseudo commence ou finit par une espace"
EMPTY = "le pseudo semble vide"
IP_LABEL = "le pseudo imite l'étiquette {IP}:{Port} d'un pair anonyme"
ANNOUNCE = "le pseudo imite une annonce du serveur (« Annonce : »)"
ONLY = "le nom du salon ne prend que lettres, chiffres, '-', '_' et '.'"
ROOM_INVISIBLE = "le nom du salon contient un caractère invisible"
ROOM_MIXED = "le nom du salon mélange des écritures (latin et cyrillique, par exemple)"


def taken(pseudo):
    return f"le pseudo {pseudo} est déjà pris"


# The review's t_identity.py list (M3): each was "ACCEPTED as a distinct
# user" at af2bd34. Either taken (same skeleton as alice) or refused.
IMPOSTORS = [
    ("\u0430lice", MIXED),                              # Cyrillic а
    ("\u0430l\u0456\u0441\u0435", MIXED),               # Cyrillic а і с е
    ("aIice", taken("aIice")),                          # capital I for l
    ("AL1CE", taken("AL1CE")),                          # digit one
    ("alice\u00a0", EDGE),                              # trailing NBSP
    ("alice\u3000", EDGE),                              # trailing ideographic space
    ("alice\u2800", EDGE),                              # trailing braille blank
    ("\u00a0alice", EDGE),
]
# What held up at af2bd34 and must keep holding.
HELD_UP = [
    ("ALICE", taken("ALICE")),
    ("\uff41\uff4c\uff49\uff43\uff45", taken("\uff41\uff4c\uff49\uff43\uff45")),  # fullwidth
    ("\U0001d41a\U0001d425\U0001d422\U0001d41c\U0001d41e",                           # math bold
     taken("\U0001d41a\U0001d425\U0001d422\U0001d41c\U0001d41e")),
    ("alice\u0305", taken("alice\u0305")),              # combining overline
    ("alice\u0338", taken("alice\u0338")),              # combining long solidus
    ("al\u200bice", "le pseudo contient un caractère invisible"),
    ("al\u034fice", "le pseudo contient un caractère invisible"),   # CGJ
    ("alice\u200e", "le pseudo contient un caractère invisible"),   # LRM (I3)
    ("alice\u200f", "le pseudo contient un caractère invisible"),   # RLM (I3)
    ("alice\u061c", "le pseudo contient un caractère invisible"),   # ALM (I3)
    ("\u3164", "le pseudo contient un caractère invisible"),        # Hangul filler
]
BLANK_LOOKING = ["\u2800", "\u3000", "\u00a0", "\u2800\u2800\u2800", "\u3000\u00a0 \u2800"]
IMITATIONS = [
    ("127.0.0.1\uff1a40000", IP_LABEL),                 # fullwidth colon
    ("127.0.0.1\u223640000", IP_LABEL),                 # ratio ∶
    ("[::1]\ufe5540000", IP_LABEL),                     # small colon
    ("Annonce \uff1a bob", ANNOUNCE),
    ("\u0391nnonce\u02d0 bob", ANNOUNCE),               # Greek Α, triangular colon
]


def refused_over_text(srv, pseudo):
    p = srv.peer()
    p.send(f"Hello|{pseudo}\n")
    got = p.line()
    p.close()
    return got


@pytest.mark.parametrize("pseudo, reason", IMPOSTORS + HELD_UP,
                         ids=[ascii(p) for p, _ in IMPOSTORS + HELD_UP])
def test_nobody_passes_for_alice_over_text(server, pseudo, reason):
    alice = server.peer()
    alice.join("alice")
    assert refused_over_text(server, pseudo) == f"Erreur : {reason}"
    # alice heard of no newcomer, and can still talk to someone honest.
    bob = server.peer()
    bob.join("bob")
    assert alice.line() == "Annonce : bob a rejoint la chatroom"
    alice.send("toujours là\n")
    assert bob.line() == "alice a dit : toujours là"


@pytest.mark.parametrize("pseudo, reason", IMPOSTORS,
                         ids=[ascii(p) for p, _ in IMPOSTORS])
def test_nobody_passes_for_alice_over_binary(server, pseudo, reason):
    alice = BinaryPeer(server.port)
    alice.join("alice")
    impostor = BinaryPeer(server.port)
    impostor.send(hello(pseudo))
    err = impostor.expect(ERROR)
    assert (err["code"], err["text"]) == (WIRE_ERR_PSEUDO, reason)
    # Refused, it may try again, honestly.
    assert impostor.join("mallory")["pseudo"] == "mallory"
    alice.until(NOTICE, kind=NOTICE_JOIN, pseudo="mallory")


def test_a_text_alice_blocks_binary_look_alikes_and_back(server):
    text = server.peer()
    text.join("alice")
    b = BinaryPeer(server.port)
    b.send(hello("aIice"))
    assert b.expect(ERROR)["text"] == taken("aIice")
    b.join("bob")
    text.close()
    # bob stays connected: once gone, its pseudo would be held for its
    # session anyway (security review M4), Bob included.
    assert refused_over_text(server, "B0B") == f"Erreur : {taken('B0B')}"
    assert refused_over_text(server, "b\u03bfb") == f"Erreur : {MIXED}"  # Greek ο


@pytest.mark.parametrize("pseudo", BLANK_LOOKING, ids=ascii)
def test_blank_looking_pseudos_are_refused(server, pseudo):
    assert refused_over_text(server, pseudo) == f"Erreur : {EMPTY}"
    b = BinaryPeer(server.port)
    b.send(hello(pseudo))
    assert b.expect(ERROR)["text"] == EMPTY


@pytest.mark.parametrize("pseudo, reason", IMITATIONS, ids=[ascii(p) for p, _ in IMITATIONS])
def test_pseudos_imitating_the_server_words_are_refused(server, pseudo, reason):
    watcher = server.peer()
    watcher.join("watcher")
    p = server.peer()
    p.send(f"Hello|{pseudo}\n")
    assert p.line() == f"Erreur : {reason}"
    # Still anonymous: what it says is labelled with its real address.
    p.send("salut, je suis anonyme\n")
    assert watcher.line() == f"{p.addr} a dit : salut, je suis anonyme"


# Rooms (L7, issue 17 item 6). Refused names make no room.
BAD_ROOMS = [
    ("cafe\u2615", ONLY),                               # issue 17: cafe☕
    ("g\u0435neral", ROOM_MIXED),                       # Cyrillic е
    ("general\u200b", ROOM_INVISIBLE),
    ("gen\u00aderal", ROOM_INVISIBLE),
    ("general\u200d", ROOM_INVISIBLE),
    ("general\u2060", ROOM_INVISIBLE),
    ("\ufeffgeneral", ROOM_INVISIBLE),
    ("\u3164", ROOM_INVISIBLE),
    ("general\u200f", ROOM_INVISIBLE),                  # RLM (I3)
    ("general\u200e", ROOM_INVISIBLE),                  # LRM (I3)
    ("general\u061c", ROOM_INVISIBLE),                  # ALM (I3)
]


@pytest.mark.parametrize("room, reason", BAD_ROOMS, ids=[ascii(r) for r, _ in BAD_ROOMS])
def test_look_alike_room_names_are_refused(server, room, reason):
    a = server.peer()
    a.join("a")
    a.send(f"/join {room}\n")
    assert a.line() == f"Erreur : {reason}"
    b = BinaryPeer(server.port)
    b.join("b")
    b.send(frame(JOIN, s(room)))
    err = b.expect(ERROR)
    assert (err["code"], err["text"]) == (WIRE_ERR_ROOM, reason)
    b.send(frame(ROOMS_ASK))
    assert b.expect(ROOMS)["rooms"] == {"general": 2}


def past_history(peer):
    """The first line after the history block a join may bring."""
    got = peer.line()
    if got.startswith("Annonce : historique du salon "):
        while got != "Annonce : fin de l'historique":
            got = peer.line()
        got = peer.line()
    return got


# Rooms are looked up by names_skeleton() of what a user typed, once
# textproto_normalise_room() made it a name (hub_room).


@pytest.mark.parametrize("typed", ["General", "GENERAL", "\uff47\uff45\uff4e\uff45\uff52\uff41\uff4c",
                                   "#general", "general ", "#General "], ids=ascii)
def test_look_alike_room_names_land_in_the_room(server, typed):
    a = server.peer()
    a.join("a", room="jeux")
    a.send(f"/join {typed}\n")
    assert past_history(a) == "Annonce : a a rejoint la chatroom"  # general's words
    a.send("/who\n")
    assert a.line() == "Présents dans general : a"
    a.send("/rooms\n")
    assert "general (1)" in a.line().removeprefix("Salons : ").split(", ")


def test_look_alike_room_names_are_one_room_over_binary(server):
    a = BinaryPeer(server.port)
    a.join("a", room="Caf\u00e9")
    b = BinaryPeer(server.port)
    b.join("b", room="#cafe\u0301")    # NFD, with the IRC '#'
    assert b.welcome["room"] == "Caf\u00e9"
    c = server.peer()
    c.join("c")
    c.send("/join CAF\u00c9\n")
    assert past_history(c) == "Annonce : c a rejoint le salon Caf\u00e9"
    c.send("/rooms\n")
    listed = c.line().removeprefix("Salons : ").split(", ")
    assert sorted(listed) == ["Caf\u00e9 (3)", "general (0)"]
