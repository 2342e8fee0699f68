"""Limits that keep one peer from hurting the others: flood control,
connections per address and in all, the first-line deadline, the soft
output limit."""

import socket
import time

from conftest import talk_until_dropped


def test_a_burst_is_cut_and_the_peer_told_once(start_server):
    srv = start_server("--flood-rate", "2", "--flood-burst", "5")
    a, b = srv.peer(), srv.peer()
    b.join("b")
    a.join("a")
    b.skip_until("Annonce : a rejoint la chatroom".replace("a rejoint", "a a rejoint"))
    a.send("".join(f"rafale {i}\n" for i in range(10)))
    # Hello took one token: four messages pass, the rest are dropped.
    for i in range(4):
        b.expect(f"a a dit : rafale {i}")
    a.expect("Erreur : trop de messages, ralentissez (message ignoré)")
    a.silent(0.3)
    b.silent(0.3)
    time.sleep(1.2)  # two tokens back
    a.send("calmement\n")
    b.expect("a a dit : calmement")


def test_persistent_flood_disconnects_and_others_carry_on(start_server):
    srv = start_server("--flood-rate", "1", "--flood-burst", "3")
    a, b = srv.peer(), srv.peer()
    b.join("b")
    a.join("a")
    b.skip_until("Annonce : a a rejoint la chatroom")
    a.send("".join(f"spam {i}\n" for i in range(200)))
    assert a.closed()
    assert "Erreur : trop de messages : déconnexion" in a.buf.decode()
    # Hello took one of the three tokens: two messages passed, no more.
    b.expect("a a dit : spam 0")
    b.expect("a a dit : spam 1")
    b.expect("Annonce : a a quitté la chatroom")
    srv.wait_log(r"disconnected \(flooding\)")
    c = srv.peer()
    c.join("c")
    b.skip_until("Annonce : c a rejoint la chatroom")
    c.send("ça marche encore\n")
    b.expect("c a dit : ça marche encore")


def test_connections_per_address_are_limited(start_server):
    srv = start_server("--max-per-address", "3")
    kept = [srv.peer() for _ in range(3)]
    extra = srv.peer()
    extra_line = extra.line()
    assert extra_line == "Erreur : trop de connexions depuis votre adresse"
    assert extra.closed()
    # Another loopback address is another address.
    other = socket.create_connection(("127.0.0.1", srv.port), source_address=("127.0.0.2", 0))
    other.sendall(b"Hello\n")
    assert other.recv(100).startswith(b"Hello 127.0.0.2:")
    other.close()
    # A place freed is a place taken again.
    kept[0].close()
    time.sleep(0.2)
    again = srv.peer()
    again.send("Hello\n")
    assert again.line().startswith("Hello 127.0.0.1:")


def test_total_connections_are_limited(start_server):
    srv = start_server("--max-connections", "2")
    a, b = srv.peer(), srv.peer()
    c = srv.peer()
    assert c.line() == "Erreur : le serveur est plein"
    assert c.closed()
    a.send("Hello\n")
    assert a.line().startswith("Hello ")


def test_silent_peer_is_dropped_after_the_handshake_deadline(start_server):
    srv = start_server("--handshake-timeout", "1")
    talker = srv.peer()
    talker.join("talker")
    silent = srv.peer()
    assert silent.line(timeout=5) == \
        "Erreur : délai dépassé : envoyez une première ligne (Hello|pseudo)"
    assert silent.closed()
    srv.wait_log(r"disconnected \(handshake timeout\)")
    time.sleep(1.5)
    talker.send("toujours là\n")  # a peer that spoke is never dropped for it
    talker.send("Hello\n")
    srv.peer().join("other")
    assert talker.skip_until("Annonce : other a rejoint la chatroom") == []


def test_peer_behind_the_soft_limit_for_too_long_is_dropped(start_server):
    srv = start_server("--soft-queue", "65536", "--soft-queue-seconds", "1",
                       "--max-queue", "100000000", "--flood-rate", "0")
    watcher = srv.peer()
    watcher.join("watcher")
    lagging = socket.socket()
    lagging.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    lagging.connect(("127.0.0.1", srv.port))
    lagging.sendall(b"Hello|lagging\n")
    watcher.expect("Annonce : lagging a rejoint la chatroom")
    talker = srv.peer()
    talker.join("talker")
    watcher.expect("Annonce : talker a rejoint la chatroom")
    assert talk_until_dropped(talker, watcher, "lagging"), "the lagging peer was never dropped"
    srv.wait_log(r"disconnected \(slow reader: behind for too long\)")
    lagging.close()
