"""Bounds of the TLS port under attack (issue 20), each beside a
conversation that goes on: a TLS peer and a WSS page that never read what
they are sent (their output is bounded, they are cut, the server's memory
stays put), a peer asking for key updates without reading the answers, and
half-open handshakes from one address (refused past
--tls-max-handshakes-per-address while other addresses get in)."""

import socket
import ssl
import subprocess
import time

import pytest

from conftest import BUILD, ROOT, SANITIZED, TIMEOUT, VALGRIND
from hostile import peak_rss_mib
from test_tls import half_hello
from tlsfix import CA, TlsPeer, client_context
from wsclient import WebSocket

WEB = str(ROOT / "web")
MEASURE_RSS = not SANITIZED and not VALGRIND


@pytest.fixture
def ca(tmp_path):
    return CA(tmp_path)


def tls_server(start_server, ca, *args):
    cert, key = ca.issue("server")
    srv = start_server("--tls-cert", str(cert), "--tls-key", str(key), "--tls-port", "0", *args)
    srv.tls_port = int(srv.wait_log(r"listening for TLS on 127\.0\.0\.1:(\d+)").group(1))
    return srv


def slow_socket(port, source="127.0.0.1"):
    """A TCP socket with a small window: what it does not read stays on
    the server's side."""
    raw = socket.socket()
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    raw.settimeout(TIMEOUT)
    raw.bind((source, 0))
    raw.connect(("127.0.0.1", port))
    return raw


def flood_until_gone(talker, watcher, who, limit=4 * TIMEOUT):
    """talker says 900-byte lines until watcher sees `who` leave; every
    line reaches the watcher meanwhile (the conversation goes on)."""
    body = "y" * 900
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        talker.send("".join(f"{body}\n" for _ in range(20)))
        for _ in range(20):
            line = watcher.line()
            if line == f"Annonce : {who} a quitté la chatroom":
                return
            assert line == f"talker a dit : {body}", line
        time.sleep(0.01)
    raise AssertionError(f"{who} was never dropped")


def read_until(peer, wanted):
    """Lines up to `wanted` (the rest of a flood before it)."""
    while peer.line() != wanted:
        pass


SLOW = ("--soft-queue", "65536", "--soft-queue-seconds", "1", "--max-queue", "100000000",
        "--flood-rate", "0")


def test_a_tls_peer_that_never_reads_is_cut_and_memory_stays_bounded(start_server, ca):
    srv = tls_server(start_server, ca, *SLOW)
    watcher = TlsPeer(srv.tls_port, ca.path)
    watcher.join("watcher")
    lagging = client_context(ca.path).wrap_socket(slow_socket(srv.tls_port),
                                                  server_hostname="localhost")
    lagging.sendall(b"Hello|lagging\n")
    watcher.expect("Annonce : lagging a rejoint la chatroom")
    talker = srv.peer()
    talker.join("talker")
    watcher.expect("Annonce : talker a rejoint la chatroom")
    before = peak_rss_mib(srv.proc.pid)
    flood_until_gone(talker, watcher, "lagging")
    srv.wait_log(r"disconnected \(slow reader")
    if MEASURE_RSS:
        grown = peak_rss_mib(srv.proc.pid) - before
        assert grown < 16, f"peak RSS grew by {grown} MiB"
    talker.send("après\n")
    read_until(watcher, "talker a dit : après")
    lagging.close()


def test_a_wss_page_that_never_reads_is_cut_and_memory_stays_bounded(start_server, ca):
    srv = tls_server(start_server, ca, "--web-root", WEB, *SLOW)
    watcher = TlsPeer(srv.tls_port, ca.path)
    watcher.join("watcher")
    # The browser's socket through the bridge: it reads its welcome, then
    # nothing more.
    ws = WebSocket(srv.tls_port, wrap=lambda raw: client_context(ca.path).wrap_socket(
        raw, server_hostname="localhost"))
    raw = ws.sock
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    ws.send_json({"type": "hello", "pseudo": "page"})
    assert ws.until(lambda m: m.get("type") in ("welcome", "error"))["type"] == "welcome"
    watcher.expect("Annonce : page a rejoint la chatroom")
    talker = srv.peer()
    talker.join("talker")
    watcher.expect("Annonce : talker a rejoint la chatroom")
    before = peak_rss_mib(srv.proc.pid)
    flood_until_gone(talker, watcher, "page")
    srv.wait_log(r"disconnected \(slow reader")
    if MEASURE_RSS:
        grown = peak_rss_mib(srv.proc.pid) - before
        assert grown < 16, f"peak RSS grew by {grown} MiB"
    talker.send("après\n")
    read_until(watcher, "talker a dit : après")
    ws.close()


def test_key_updates_never_read_pile_up_nothing(start_server, ca):
    """Each requested key update could make the server answer; OpenSSL
    answers once, on its next write, and the answers to read are bounded
    (64 KiB) anyway: the attacker gets its requests through or is cut, the
    server's memory stays put, the chat goes on."""
    srv = tls_server(start_server, ca)
    alice = TlsPeer(srv.tls_port, ca.path)
    alice.join("alice")
    bob = srv.peer()
    bob.join("bob")
    alice.expect("Annonce : bob a rejoint la chatroom")
    before = peak_rss_mib(srv.proc.pid)
    attack = subprocess.run([str(BUILD / "tests" / "tls_keyupdate"), str(srv.tls_port), "30000"],
                            capture_output=True, text=True, timeout=4 * TIMEOUT)
    assert attack.returncode == 0, attack.stderr
    assert attack.stdout.startswith(("sent 30000", "cut after")), attack.stdout
    if MEASURE_RSS:
        grown = peak_rss_mib(srv.proc.pid) - before
        assert grown < 8, f"peak RSS grew by {grown} MiB"
    alice.send("toujours là\n")
    bob.skip_until("alice a dit : toujours là")


def test_half_open_handshakes_from_one_address_are_bounded(start_server, ca):
    srv = tls_server(start_server, ca, "--tls-max-handshakes-per-address", "4",
                     "--tls-handshake-timeout", "3")
    alice = TlsPeer(srv.tls_port, ca.path)
    alice.join("alice")
    bob = srv.peer()
    bob.join("bob")
    alice.expect("Annonce : bob a rejoint la chatroom")
    start_of_hello = half_hello()
    held = []
    for _ in range(12):
        s = socket.create_connection(("127.0.0.1", srv.tls_port), timeout=TIMEOUT)
        s.sendall(start_of_hello)
        held.append(s)
    srv.wait_log(r"TLS: turned away: 4 handshakes in progress from its address")
    # Four are kept waiting for the rest of their hello; the others are shut.
    kept = 0
    for s in held:
        s.settimeout(0.3)
        try:
            kept += s.recv(100) != b""
        except socket.timeout:
            kept += 1
        except ConnectionError:
            pass
    assert kept == 4, kept
    # Another address shakes hands meanwhile, and chats with the others.
    other = client_context(ca.path).wrap_socket(slow_socket(srv.tls_port, "127.0.0.2"),
                                                server_hostname="localhost")
    other.sendall(b"Hello|carol\n")
    alice.expect("Annonce : carol a rejoint la chatroom")
    bob.send("salut carol\n")
    alice.expect("bob a dit : salut carol")
    got = b""
    while b"bob a dit : salut carol" not in got:
        got += other.recv(4096)
    # One more from the crowded address is still turned away, until the
    # half-open ones reach their deadline.
    with pytest.raises((ssl.SSLError, ConnectionError, OSError)):
        client_context(ca.path).wrap_socket(
            socket.create_connection(("127.0.0.1", srv.tls_port), timeout=TIMEOUT),
            server_hostname="localhost")
    for s in held:
        s.settimeout(TIMEOUT)
        try:
            assert s.recv(100) == b""
        except ConnectionError:
            pass
    TlsPeer(srv.tls_port, ca.path).join("dave")
    alice.expect("Annonce : dave a rejoint la chatroom")
