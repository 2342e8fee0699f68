"""The server's TLS port (issue 20): the text and binary protocols over
TLS beside the plain port, plaintext refused there, handshakes bounded in
time and number while others chat, the certificate reloaded on SIGHUP."""

import re
import shutil
import signal
import socket
import ssl
import subprocess
import time

import pytest

from conftest import SERVER_BIN, TIMEOUT, child_env
from tlsfix import CA, TlsBinaryPeer, TlsPeer, fingerprint_of, peer_fingerprint, tls_socket
from wire import MAGIC, MESSAGE, hello, say


@pytest.fixture
def ca(tmp_path):
    return CA(tmp_path)


def tls_server(start_server, ca, *args, stem="server"):
    cert, key = ca.issue(stem)
    srv = start_server("--tls-cert", str(cert), "--tls-key", str(key), "--tls-port", "0", *args)
    srv.tls_port = int(srv.wait_log(r"listening for TLS on 127\.0\.0\.1:(\d+)").group(1))
    srv.cert, srv.key = cert, key
    return srv


def test_text_binary_and_plain_peers_chat_over_tls(start_server, ca):
    srv = tls_server(start_server, ca)
    # A text peer over TLS, checking the certificate and the name.
    alice = TlsPeer(srv.tls_port, ca.path)
    assert alice.sock.version() == "TLSv1.3"
    alice.join("alice")
    # openssl s_client -quiet, a user's own text client over TLS.
    sclient = subprocess.Popen(
        ["openssl", "s_client", "-quiet", "-connect", f"127.0.0.1:{srv.tls_port}",
         "-CAfile", str(ca.path), "-verify_hostname", "localhost", "-verify_return_error"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        sclient.stdin.write(b"Hello|carol\n")
        sclient.stdin.flush()
        alice.expect("Annonce : carol a rejoint la chatroom")
        # A binary peer over TLS, and a text peer on the plain port.
        bob = TlsBinaryPeer(srv.tls_port, ca.path)
        bob.join("bob")
        alice.expect("Annonce : bob a rejoint la chatroom")
        dave = srv.peer()
        dave.join("dave")
        alice.expect("Annonce : dave a rejoint la chatroom")

        alice.send("bonjour en TLS\n")
        bob.until(MESSAGE, pseudo="alice", text="bonjour en TLS")
        dave.skip_until("alice a dit : bonjour en TLS")
        bob.send(say("et en binaire"))
        alice.expect("bob a dit : et en binaire")
        dave.expect("bob a dit : et en binaire")
        sclient.stdin.write(b"depuis s_client\n")
        sclient.stdin.flush()
        alice.expect("carol a dit : depuis s_client")
        bob.until(MESSAGE, pseudo="carol", text="depuis s_client")
        dave.send("du port en clair\n")
        alice.expect("dave a dit : du port en clair")
        # s_client reads what the others said, decrypted.
        deadline = time.monotonic() + TIMEOUT
        seen = b""
        while b"dave a dit : du port en clair" not in seen and time.monotonic() < deadline:
            seen += sclient.stdout.read1(4096)
        assert b"alice a dit : bonjour en TLS" in seen
        assert b"dave a dit : du port en clair" in seen
    finally:
        sclient.kill()
        sclient.wait()
    alice.expect("Annonce : carol a quitté la chatroom")
    assert re.search(r"127\.0\.0\.1:\d+ TLS: TLSv1\.3, TLS_", srv.log())


def test_tls_1_2_is_served_and_1_3_preferred(start_server, ca):
    srv = tls_server(start_server, ca)
    old = TlsPeer(srv.tls_port, ca.path, maximum=ssl.TLSVersion.TLSv1_2)
    assert old.sock.version() == "TLSv1.2"
    old.join("ancien")
    new = TlsPeer(srv.tls_port, ca.path)
    assert new.sock.version() == "TLSv1.3"
    new.join("nouveau")
    new.send("salut\n")
    old.skip_until("nouveau a dit : salut")


def test_plaintext_on_the_tls_port_is_refused(start_server, ca):
    srv = tls_server(start_server, ca)
    # A chat line in clear: closed without a byte TLS could not parse.
    s = socket.create_connection(("127.0.0.1", srv.tls_port), timeout=TIMEOUT)
    s.sendall(b"Hello|clair\n")
    assert s.recv(100) == b""
    s.close()
    srv.wait_log(r"TLS: refused: plaintext \(a chat line\?\) on the TLS port")
    # A binary hello in clear.
    s = socket.create_connection(("127.0.0.1", srv.tls_port), timeout=TIMEOUT)
    s.sendall(MAGIC + hello("binclair"))
    assert s.recv(100) == b""
    s.close()
    srv.wait_log(r"TLS: refused: a binary hello in clear on the TLS port")
    # A browser's http:// to the TLS port: told in HTTP.
    s = socket.create_connection(("127.0.0.1", srv.tls_port), timeout=TIMEOUT)
    s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    answer = b""
    while True:
        chunk = s.recv(4096)
        if not chunk:
            break
        answer += chunk
    s.close()
    assert answer.startswith(b"HTTP/1.1 400 ")
    assert b"This port speaks TLS only" in answer
    srv.wait_log(r"refused: an HTTP request in clear \(use https://\)")
    # Nobody joined the chat from any of them; TLS peers still get in.
    assert "clair" not in srv.log().split("listening for TLS")[1].replace(
        "refused: plaintext", "")
    TlsPeer(srv.tls_port, ca.path).join("ok")


def half_hello():
    """The start of a real ClientHello, cut before its end."""
    ctx = ssl.create_default_context()
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(incoming, outgoing, server_hostname="localhost")
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    data = outgoing.read()
    assert data[0] == 0x16
    return data[: len(data) // 2]


def test_a_stalled_handshake_is_closed_at_its_deadline(start_server, ca):
    srv = tls_server(start_server, ca, "--tls-handshake-timeout", "1")
    alice = TlsPeer(srv.tls_port, ca.path)
    alice.join("alice")
    bob = srv.peer()
    bob.join("bob")
    start_of_hello = half_hello()
    start = time.monotonic()
    stalled = socket.create_connection(("127.0.0.1", srv.tls_port), timeout=TIMEOUT)
    stalled.sendall(start_of_hello)
    # The others chat on meanwhile, promptly.
    for i in range(5):
        t0 = time.monotonic()
        alice.send(f"message {i}\n")
        bob.skip_until(f"alice a dit : message {i}")
        assert time.monotonic() - t0 < 1.0
        time.sleep(0.1)
    stalled.settimeout(TIMEOUT)
    assert stalled.recv(100) == b""  # closed, nothing sent
    took = time.monotonic() - start
    assert 0.8 < took < 1.0 + TIMEOUT / 4, took
    srv.wait_log(r"TLS: handshake not done within 1 s: closed")
    alice.send("encore là\n")
    bob.expect("alice a dit : encore là")


def test_handshakes_in_progress_are_bounded(start_server, ca):
    srv = tls_server(start_server, ca, "--tls-max-handshakes", "2",
                     "--tls-handshake-timeout", "2")
    alice = TlsPeer(srv.tls_port, ca.path)
    alice.join("alice")
    stalled = []
    start_of_hello = half_hello()
    for _ in range(2):
        s = socket.create_connection(("127.0.0.1", srv.tls_port), timeout=TIMEOUT)
        s.sendall(start_of_hello)
        stalled.append(s)
    srv.wait_log(r"connected", timeout=1)  # alice's, before
    time.sleep(0.3)
    # A third handshake is turned away at once.
    with pytest.raises((ssl.SSLError, ConnectionError, OSError)):
        tls_socket(srv.tls_port, ca.path)
    srv.wait_log(r"TLS: turned away: 2 handshakes in progress")
    alice.send("toujours là\n")  # the chat goes on
    alice.silent(0.2)
    # Once the stalled ones are gone (their deadline), newcomers get in.
    for s in stalled:
        s.settimeout(TIMEOUT)
        assert s.recv(100) == b""
    TlsPeer(srv.tls_port, ca.path).join("bob")
    alice.expect("Annonce : bob a rejoint la chatroom")


def test_sighup_reloads_the_certificate(start_server, ca, tmp_path):
    srv = tls_server(start_server, ca)
    first = peer_fingerprint(srv.tls_port)
    assert first == fingerprint_of(srv.cert)
    alice = TlsPeer(srv.tls_port, ca.path)
    alice.join("alice")
    # New files in place of the old, then SIGHUP.
    cert2, key2 = ca.issue("renewed")
    shutil.copy(cert2, srv.cert)
    shutil.copy(key2, srv.key)
    srv.proc.send_signal(signal.SIGHUP)
    srv.wait_log(r"TLS certificate reloaded from")
    second = peer_fingerprint(srv.tls_port)
    assert second == fingerprint_of(cert2) != first
    bob = TlsPeer(srv.tls_port, ca.path)
    bob.join("bob")
    alice.expect("Annonce : bob a rejoint la chatroom")
    # alice's session, made with the old certificate, goes on.
    alice.send("toujours chiffré\n")
    bob.expect("alice a dit : toujours chiffré")
    # A broken file: the certificate in use stays, with an error logged.
    srv.cert.write_text("not a certificate\n")
    srv.proc.send_signal(signal.SIGHUP)
    srv.wait_log(r"ERROR .*TLS certificate not reloaded \(TLS certificate .*\): keeping the one")
    assert peer_fingerprint(srv.tls_port) == second


def test_tls_settings_are_checked_at_start(tmp_path, ca):
    cert, key = ca.issue("server")
    env = child_env()

    def run(*args):
        p = subprocess.run([str(SERVER_BIN), "-p", "0", "--history", "none", "--log", "none",
                            *args], capture_output=True, text=True, env=env, timeout=TIMEOUT)
        return p.returncode, p.stdout + p.stderr

    code, out = run("--tls-cert", str(cert))
    assert code == 2 and "--tls-cert and --tls-key go together" in out
    code, out = run("--tls-cert", str(cert), "--tls-key", str(tmp_path / "missing.key"))
    assert code == 1 and "TLS key" in out and "missing.key" in out, out
    other_cert, other_key = ca.issue("other")
    code, out = run("--tls-cert", str(cert), "--tls-key", str(other_key))
    assert code == 1 and "TLS key" in out, out


def test_a_stopping_server_tells_tls_peers_and_ends_their_sessions(start_server, ca):
    srv = tls_server(start_server, ca)
    alice = TlsPeer(srv.tls_port, ca.path)
    alice.join("alice")
    bob = TlsBinaryPeer(srv.tls_port, ca.path)
    bob.join("bob")
    alice.expect("Annonce : bob a rejoint la chatroom")
    start = time.monotonic()
    srv.proc.send_signal(signal.SIGTERM)
    # Told, then a clean TLS end (close_notify) once the queue is written,
    # well before the 2 s drain deadline that ends a peer not reading.
    alice.expect("Annonce : le serveur s'arrête")
    assert alice.closed()
    assert bob.closed()
    assert time.monotonic() - start < 1.5
    assert srv.proc.wait(timeout=TIMEOUT) == 0
    assert srv.stop() == 0  # the log and sanitizer checks
