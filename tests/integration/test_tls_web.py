"""HTTPS and WSS on the TLS port (issue 20): the page and its WebSocket
served over the same TLS port, certificate and SIGHUP reload as the chat.
A page in real chromium (trusting the test's key, not every certificate),
the terminal client over --tls --ca and a text peer through openssl
s_client share a room."""

import base64
import hashlib
import os
import re
import signal
import socket
import ssl
import subprocess
import time

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from conftest import ROOT, TIMEOUT, Client
from test_web_browser import Browser, client_wait
from tlsfix import CA, TlsPeer, client_context
from wsclient import HandshakeRefused, WebSocket, hello

WEB = str(ROOT / "web")
# One server key for the file: chromium is told to trust it alone.
KEY = ec.generate_private_key(ec.SECP256R1())


def spki_pin(key):
    """base64(SHA-256(SubjectPublicKeyInfo)), chromium's form of a pin."""
    der = key.public_key().public_bytes(serialization.Encoding.DER,
                                        serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(hashlib.sha256(der).digest()).decode()


@pytest.fixture(scope="module")
def browser():
    """Chromium that accepts this file's key, and no other unknown one
    (rather than Playwright's ignoreHTTPSErrors, which accepts any)."""
    os.environ["CHROMIUM_ARGS"] = f"--ignore-certificate-errors-spki-list={spki_pin(KEY)}"
    try:
        b = Browser()
    finally:
        del os.environ["CHROMIUM_ARGS"]
    yield b
    b.close()


@pytest.fixture
def ca(tmp_path):
    return CA(tmp_path)


def tls_web_server(start_server, ca, *args):
    cert, key = ca.issue("server", key=KEY)
    srv = start_server("--tls-cert", str(cert), "--tls-key", str(key), "--tls-port", "0",
                       "--web-root", WEB, *args)
    srv.tls_port = int(srv.wait_log(r"listening for TLS on 127\.0\.0\.1:(\d+)").group(1))
    srv.cert, srv.key = cert, key
    return srv


def wss(port, ca_path, **kw):
    """A WebSocket over TLS to the TLS port, the certificate verified."""
    ctx = client_context(ca_path)
    sock = {}

    def wrap(raw):
        sock["tls"] = ctx.wrap_socket(raw, server_hostname="localhost")
        return sock["tls"]
    return WebSocket(port, wrap=wrap, **kw), sock


def read_until(proc, wanted, seen=b""):
    deadline = time.monotonic() + TIMEOUT
    while wanted not in seen and time.monotonic() < deadline:
        seen += proc.stdout.read1(4096)
    assert wanted in seen, seen[-400:]
    return seen


def test_page_over_https_terminal_and_s_client_chat_over_tls(start_server, ca, browser):
    srv = tls_web_server(start_server, ca)
    url = f"https://127.0.0.1:{srv.tls_port}/"
    tom = Client(srv.tls_port, "--tls", "--ca", str(ca.path), "--nick", "tom")
    tom.skip_until("Annonce : tom a rejoint la chatroom")
    carol = subprocess.Popen(
        ["openssl", "s_client", "-quiet", "-connect", f"127.0.0.1:{srv.tls_port}",
         "-CAfile", str(ca.path), "-verify_hostname", "localhost", "-verify_return_error"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        carol.stdin.write(b"Hello|carol\n")
        carol.stdin.flush()
        client_wait(tom, "Annonce : carol a rejoint la chatroom")

        # The page over HTTPS; no route: chromium's own wss:// to the server.
        browser("open", name="a", url=url, width=1280, height=800, route=False)
        assert browser("eval", name="a", code="location.protocol")["value"] == "https:"
        browser("login", name="a", pseudo="alice")
        client_wait(tom, "Annonce : alice a rejoint la chatroom")
        # Its WebSocket is counted at the browser's address, not the bridge's.
        srv.wait_log(r"127\.0\.0\.1:\d+ HTTPS: bridged to the web server")
        browser("type", name="a", text="bonjour en wss")
        browser("wait_text", name="a", text="Vous avez dit : bonjour en wss")
        client_wait(tom, "alice a dit : bonjour en wss")
        seen = read_until(carol, b"alice a dit : bonjour en wss")

        tom.type("salut de tom\n")
        browser("wait_text", name="a", text="tom a dit : salut de tom")
        carol.stdin.write(b"salut de carol\n")
        carol.stdin.flush()
        browser("wait_text", name="a", text="carol a dit : salut de carol")
        client_wait(tom, "carol a dit : salut de carol")
        read_until(carol, b"tom a dit : salut de tom", seen)

        # Its WebSocket went over TLS (a ws:// to this port is refused as
        # plaintext) and its socket was bridged like the page's request.
        log = srv.log()
        assert "HTTP request in clear" not in log
        assert len(re.findall(r"HTTPS: bridged to the web server", log)) >= 2
        assert re.search(r"127\.0\.0\.1:\d+ joined the chatroom as alice \(web\)", log)
        # Arrivals in the default room read as the terminal shows them.
        dave = TlsPeer(srv.tls_port, ca.path)
        dave.join("dave")
        browser("wait_text", name="a", text="Annonce : dave a rejoint la chatroom")
        assert browser("errors", name="a")["errors"] == []
    finally:
        carol.kill()
        carol.wait()
    client_wait(tom, "Annonce : carol a quitté la chatroom")
    browser("wait_text", name="a", text="Annonce : carol a quitté la chatroom")
    assert "le salon general" not in browser("text", name="a")["text"]
    tom.proc.stdin.close()
    code, err = tom.wait()
    assert code == 0, err


def test_sighup_serves_the_new_certificate_to_https_and_wss(start_server, ca):
    srv = tls_web_server(start_server, ca)
    old = ssl.DER_cert_to_PEM_cert(wss(srv.tls_port, ca.path)[1]["tls"].getpeercert(True))
    assert old == srv.cert.read_text()
    ws, welcome, _ = hello(srv.tls_port, "avant", wrap=lambda raw: client_context(
        ca.path).wrap_socket(raw, server_hostname="localhost"))
    # A new certificate (same key, a new serial) in the same files.
    cert, key = ca.issue("renewed", key=KEY)
    os.replace(cert, srv.cert)
    os.replace(key, srv.key)
    srv.proc.send_signal(signal.SIGHUP)
    srv.wait_log("TLS certificate reloaded")
    sock, tls = wss(srv.tls_port, ca.path)
    new = ssl.DER_cert_to_PEM_cert(tls["tls"].getpeercert(True))
    assert new == srv.cert.read_text() and new != old
    sock.close()
    # The page itself, over the new certificate, with its security headers.
    s = client_context(ca.path).wrap_socket(
        socket.create_connection(("127.0.0.1", srv.tls_port), timeout=TIMEOUT),
        server_hostname="localhost")
    s.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
    page = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        page += chunk
    s.close()
    assert page.startswith(b"HTTP/1.1 200 ")
    assert b"content-security-policy: default-src 'none'" in page.lower()
    assert b"<!doctype html>" in page.lower()
    # The WebSocket opened before the reload chats on.
    ws2, _, _ = hello(srv.tls_port, "apres", wrap=lambda raw: client_context(
        ca.path).wrap_socket(raw, server_hostname="localhost"))
    ws2.send_json({"type": "say", "text": "après le rechargement"})
    got = ws.until(lambda m: m.get("kind") == "message")
    assert got["text"] == "après le rechargement" and got["pseudo"] == "apres"


def test_wss_counts_against_the_browsers_address(start_server, ca):
    """The bridge's socketpair is no address: the per-address limit counts
    a WSS peer at its real one, as on the plain port."""
    srv = tls_web_server(start_server, ca, "--max-per-address", "2")

    def wrap(raw):
        return client_context(ca.path).wrap_socket(raw, server_hostname="localhost")
    first, _, _ = hello(srv.tls_port, "un", wrap=wrap)
    second, _, _ = hello(srv.tls_port, "deux", wrap=wrap)
    # Both count at 127.0.0.1: a plain peer from there is one too many.
    extra = srv.peer()
    assert extra.line() == "Erreur : trop de connexions depuis votre adresse"
    assert extra.closed()
    # Those in chat on.
    second.send_json({"type": "say", "text": "toujours là"})
    assert first.until(lambda m: m.get("kind") == "message")["text"] == "toujours là"
    first.close()
    time.sleep(0.3)
    # Another site's page may not open the socket over wss either.
    with pytest.raises(HandshakeRefused):
        WebSocket(srv.tls_port, origin="https://ailleurs.example", wrap=wrap)
