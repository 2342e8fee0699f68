"""Security review M4, L6, I1, I2: an away user's identity is held during
its grace period, tokens rotate, every token failure reads the same, a text
"welcome back" hands nobody a departed user's id or colour, and one
address cannot flush the session or departure tables by churning."""

import time

from conftest import TIMEOUT
from security import SourcePeer, text_peer, until_error
from wire import ERROR, MESSAGE, NOTICE, NOTICE_INFO, WELCOME, BinaryPeer, hello, say

PSEUDO_ERROR, TOKEN_ERROR = 5, 8
TOKEN_REFUSED = "jeton de reprise inconnu ou expiré"


def reserved(pseudo):
    return f"le pseudo {pseudo} est réservé à une session interrompue, réessayez plus tard"


def test_an_away_users_pseudo_is_held_for_it(start_server):
    """The review: mallory took 'alice' during her grace period, then her
    resume failed; refused resumes kept the session alive."""
    srv = start_server("--return-grace", "2")
    watcher = srv.peer()
    watcher.join("watcher")
    alice = BinaryPeer(srv.port, timeout=TIMEOUT)
    w = alice.join("alice")
    alice.close()
    watcher.skip_until("Annonce : alice a quitté la chatroom")
    left = time.monotonic()
    # Nobody else gets her pseudo, not even from her address or as text.
    mallory = BinaryPeer(srv.port, timeout=TIMEOUT)
    mallory.send(hello("alice"))
    err = mallory.expect(ERROR)
    assert (err["code"], err["text"]) == (PSEUDO_ERROR, reserved("alice"))
    mallory.send(hello("ALICE"))  # a look-alike is the same pseudo
    assert mallory.expect(ERROR)["text"] == reserved("ALICE")
    impostor = srv.peer()
    impostor.send("Hello|alice\n")
    assert impostor.line() == f"Erreur : {reserved('alice')}"
    # Her token brings her back, with a new token.
    back = BinaryPeer(srv.port, timeout=TIMEOUT)
    back.send(hello("", token=w["token"]))
    again = back.expect(WELCOME, returning=True, pseudo="alice", user=w["user"])
    assert len(again["token"]) == 32 and again["token"] != w["token"]
    watcher.skip_until("alice est de retour !")
    back.close()
    watcher.skip_until("Annonce : alice a quitté la chatroom")
    # The old token is spent; attempts with it do not keep the session.
    old = BinaryPeer(srv.port, timeout=TIMEOUT)
    for _ in range(3):
        old.send(hello("", token=w["token"]))
        err = old.expect(ERROR)
        assert (err["code"], err["text"]) == (TOKEN_ERROR, TOKEN_REFUSED)
        time.sleep(0.5)
    # Past the grace (2 s, forgotten within the next second) it is free.
    time.sleep(max(0.0, left + 4.5 - time.monotonic()))
    old.send(hello("", token=again["token"]))
    assert old.expect(ERROR)["text"] == TOKEN_REFUSED
    old.join("alice")


def test_every_token_failure_reads_the_same(start_server):
    """I2: 'already open elsewhere' told a token holder its owner is online."""
    srv = start_server()
    owner = BinaryPeer(srv.port, timeout=TIMEOUT)
    w = owner.join("titulaire")
    thief = BinaryPeer(srv.port, timeout=TIMEOUT)
    thief.send(hello("x", token=w["token"]))  # in use
    in_use = thief.expect(ERROR)
    thief.send(hello("x", token=b"\x01" * 32))  # unknown
    unknown = thief.expect(ERROR)
    assert (in_use["code"], in_use["text"]) == (unknown["code"], unknown["text"]) \
        == (TOKEN_ERROR, TOKEN_REFUSED)
    # The owner's session is untouched: it resumes with its token.
    owner.close()
    time.sleep(0.2)
    back = BinaryPeer(srv.port, timeout=TIMEOUT)
    back.send(hello("", token=w["token"]))
    back.expect(WELCOME, returning=True, pseudo="titulaire")


def said_by(peer, pseudo):
    while True:
        m = peer.next()
        if m["type"] == MESSAGE and m["pseudo"] == pseudo:
            return m


def test_text_welcome_back_gives_no_ones_identity_away(start_server):
    """The review: an impostor at the same IP got 'Welcome back carol !'
    with carol's id and colour."""
    srv = start_server()
    watcher = BinaryPeer(srv.port, timeout=TIMEOUT)
    watcher.join("watcher")
    carol = srv.peer()
    carol.join("carol")
    carol.send("c'est moi\n")
    first = said_by(watcher, "carol")
    carol.close()
    # From another address the pseudo is held during the grace period.
    stranger = text_peer(srv.port, "127.0.0.2")
    stranger.send("Hello|carol\n")
    assert stranger.line() == f"Erreur : le pseudo carol est réservé quelques minutes à son adresse"
    # From the same address: welcomed back, but as somebody new.
    same_ip = srv.peer()
    same_ip.send("Hello|carol\n")
    same_ip.skip_until("Welcome back carol !")
    same_ip.send("c'est encore moi ?\n")
    second = said_by(watcher, "carol")
    assert second["user"] != first["user"]
    assert second["colour"] != first["colour"]


def test_session_churn_from_one_address_evicts_its_own_oldest(start_server):
    """L6: one address opening and closing sessions filled the table for
    everyone. With --max-per-address 20 an address keeps 40 sessions."""
    srv = start_server("--max-per-address", "20")
    victim = SourcePeer(srv.port, "127.0.0.2")
    vw = victim.join("victime")
    victim.close()
    tokens = []
    for i in range(50):
        p = BinaryPeer(srv.port, timeout=TIMEOUT)
        tokens.append(p.join(f"churn{i}")["token"])
        p.close()
    time.sleep(0.2)
    # The churner's oldest sessions went, oldest first; its newest stay.
    first = BinaryPeer(srv.port, timeout=TIMEOUT)
    first.send(hello("", token=tokens[0]))
    assert first.expect(ERROR)["text"] == TOKEN_REFUSED
    last = BinaryPeer(srv.port, timeout=TIMEOUT)
    last.send(hello("", token=tokens[-1]))
    last.expect(WELCOME, returning=True, pseudo="churn49")
    # Its evicted sessions no longer hold their pseudos.
    first.join("churn0")
    # Another address's session was not touched.
    back = SourcePeer(srv.port, "127.0.0.2")
    back.send(hello("", token=vw["token"]))
    back.expect(WELCOME, returning=True, pseudo="victime")


def test_departure_churn_from_one_address_evicts_its_own_oldest(start_server):
    """L6: the departures behind "welcome back" were flushed the same way."""
    srv = start_server("--max-per-address", "20")
    victim = text_peer(srv.port, "127.0.0.2")
    victim.join("victime")
    victim.close()
    for i in range(50):
        p = srv.peer()
        p.join(f"passant{i}")
        p.close()
    time.sleep(0.2)
    oldest = srv.peer()
    oldest.join("passant0")  # forgotten: an ordinary arrival
    newest = srv.peer()
    newest.send("Hello|passant49\n")
    newest.skip_until("Welcome back passant49 !")
    back = text_peer(srv.port, "127.0.0.2")
    back.send("Hello|victime\n")
    back.skip_until("Welcome back victime !")
