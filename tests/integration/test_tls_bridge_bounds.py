"""Bounds of the HTTPS bridges (tlsbridge.h) under attack, beside a
conversation that goes on. A browser-side peer that asks for a page over
TLS and never reads the answer leaves a bridge behind once libwebsockets
has written it all and closed: bridges are no conns, so they are counted
apart, at most --max-per-address from one address (its oldest unread one
cut first, a newcomer refused when lws still serves them all), and at most
128 of all left to linger (the oldest cut first)."""

import os
import socket
import time

from conftest import SANITIZED, TIMEOUT, VALGRIND
from hostile import peak_rss_mib
from test_tls_bounds import ca, tls_server  # noqa: F401 (ca: a fixture)
from tlsfix import TlsPeer, client_context

MEASURE_RSS = not SANITIZED and not VALGRIND
PER_ADDRESS = 8
ATTACKS = 150
ADDRESSES = 30  # of PER_ADDRESS each: 240 lingering, past the 128 of all
# Between what the kernel takes for a peer with a small window and small
# segments (the attacker sets both) and what the bridge and its socketpair
# hold besides: lws writes it all and closes, the rest lingers with us.
ANSWER_BYTES = 150_000


def stuck_https(port, ca_path, source="127.0.0.1"):
    """An HTTPS request whose answer is never read: a small window, small
    segments (so the server's send buffer stays small too)."""
    raw = socket.socket()
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG, 536)
    raw.settimeout(TIMEOUT)
    raw.bind((source, 0))
    raw.connect(("127.0.0.1", port))
    s = client_context(ca_path).wrap_socket(raw, server_hostname="localhost")
    s.sendall(b"GET /big.txt HTTP/1.0\r\nHost: localhost\r\n\r\n")
    return s


def fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def chatting_server(start_server, ca, tmp_path):
    """A TLS server with the big answer in its web root; alice (TLS) and
    bob (plain) in its chat."""
    root = tmp_path / "web"
    root.mkdir()
    (root / "big.txt").write_bytes(b"a" * ANSWER_BYTES)
    srv = tls_server(start_server, ca, "--web-root", str(root),
                     "--max-per-address", str(PER_ADDRESS))
    alice = TlsPeer(srv.tls_port, ca.path)
    alice.join("alice")
    bob = srv.peer()
    bob.join("bob")
    alice.expect("Annonce : bob a rejoint la chatroom")
    return srv, alice, bob


def test_https_answers_never_read_from_one_address_are_bounded(start_server, ca, tmp_path):
    srv, alice, bob = chatting_server(start_server, ca, tmp_path)
    fds_before = fds(srv.proc.pid)
    rss_before = peak_rss_mib(srv.proc.pid)
    held = []
    for i in range(ATTACKS):
        held.append(stuck_https(srv.tls_port, ca.path))
        if i % 25 == 24:  # the conversation goes on meanwhile
            bob.send(f"pendant {i}\n")
            alice.expect(f"bob a dit : pendant {i}")
            alice.send(f"réponse {i}\n")
            bob.expect(f"alice a dit : réponse {i}")
    # The last requests reach lws and their bridges settle.
    bob.send("après\n")
    alice.expect("bob a dit : après")
    grown = fds(srv.proc.pid) - fds_before
    # At most PER_ADDRESS bridges: the peer's socket and ours of the
    # socketpair, lws's end and its file while it serves; a few more
    # handshakes and closes under way.
    assert grown <= 4 * PER_ADDRESS + 16, f"{grown} more descriptors for {ATTACKS} requests"
    if MEASURE_RSS:
        rss = peak_rss_mib(srv.proc.pid) - rss_before
        assert rss < 4, f"peak RSS grew by {rss:.1f} MiB"
    srv.wait_log(r"HTTPS: (too many HTTPS peers from its address: the oldest unread cut"
                 r"|refused, \d+ already from its address)")
    # The chat's own connections from the same address are not counted
    # with the bridges: a newcomer still gets in, once the refused
    # requests' conns (counted until their drain, 2 s at most, ends) are
    # gone.
    deadline = time.monotonic() + TIMEOUT
    while True:
        carol = srv.peer()
        carol.send("Hello|carol\n")
        first = carol.line()
        if first != "Erreur : trop de connexions depuis votre adresse" or \
                time.monotonic() > deadline:
            break
        carol.close()
        time.sleep(0.2)
    assert not first.startswith("Erreur"), first
    while first != "Annonce : carol a rejoint la chatroom":  # after the history
        first = carol.line()
    alice.expect("Annonce : carol a rejoint la chatroom")
    carol.send("bonjour\n")
    bob.expect("Annonce : carol a rejoint la chatroom")
    bob.expect("carol a dit : bonjour")
    for s in held:
        s.close()


def test_https_answers_never_read_from_many_addresses_are_bounded(start_server, ca, tmp_path):
    """Past TLS_BRIDGE_MAX_LINGERING (128) bridges lws is done with, the
    oldest of all is cut, whichever address it is from."""
    srv, alice, bob = chatting_server(start_server, ca, tmp_path)
    fds_before = fds(srv.proc.pid)
    held = []
    for a in range(ADDRESSES):
        for _ in range(PER_ADDRESS):
            held.append(stuck_https(srv.tls_port, ca.path, f"127.0.1.{a + 1}"))
        bob.send(f"pendant {a}\n")
        alice.expect(f"bob a dit : pendant {a}")
    # Once lws has written every answer (a loaded machine takes a moment):
    # 128 lingering, two descriptors each, and nothing else left. Without
    # the bound they all linger, for TLS_BRIDGE_STALL_MS (30 s).
    bound = 2 * 128 + 16
    deadline = time.monotonic() + TIMEOUT
    while (grown := fds(srv.proc.pid) - fds_before) > bound and time.monotonic() < deadline:
        time.sleep(0.2)
    assert grown <= bound, f"{grown} more descriptors for {len(held)} requests"
    srv.wait_log(r"HTTPS: too many HTTPS answers left unread: the oldest cut")
    bob.send("après\n")
    alice.expect("bob a dit : après")
    for s in held:
        s.close()
