"""The client's --tls (issue 20): it chats over TLS with text and binary
peers, verifies the certificate (authority, name, dates) with a clear
refusal for each fault, and trusts a self-signed server on first use like
ssh: the key shown and asked about, remembered, a changed key refused
loudly; --tls-pin for scripts."""

import os
import re
import shlex
import signal

import pytest

from conftest import CLIENT_BIN, SANITIZER_ENV, TIMEOUT, VALGRIND_PREFIX, Client
from tlsfix import CA, TlsBinaryPeer, TlsPeer, fingerprint_of, self_signed
from wire import MESSAGE, say


def tls_server(start_server, cert, key, *args):
    srv = start_server("--tls-cert", str(cert), "--tls-key", str(key), "--tls-port", "0", *args)
    srv.tls_port = int(srv.wait_log(r"listening for TLS on 127\.0\.0\.1:(\d+)").group(1))
    return srv


@pytest.fixture
def ca(tmp_path):
    return CA(tmp_path)


def refused(client):
    code, err = client.wait()
    assert code == 1, err
    return err


def test_the_client_chats_over_tls_with_text_and_binary_peers(start_server, ca):
    cert, key = ca.issue("server")
    srv = tls_server(start_server, cert, key)
    text = TlsPeer(srv.tls_port, ca.path)
    text.join("texte")
    binary = TlsBinaryPeer(srv.tls_port, ca.path)
    binary.join("binaire")
    text.expect("Annonce : binaire a rejoint la chatroom")
    client = Client(srv.tls_port, "--tls", "--ca", str(ca.path), "--nick", "alice")
    try:
        client.skip_until("Annonce : alice a rejoint la chatroom")
        text.expect("Annonce : alice a rejoint la chatroom")
        client.type("bonjour chiffré\n")
        client.expect("Vous avez dit : bonjour chiffré")
        text.expect("alice a dit : bonjour chiffré")
        binary.until(MESSAGE, pseudo="alice", text="bonjour chiffré")
        text.send("salut alice\n")
        client.expect("texte a dit : salut alice")
        binary.send(say("et du binaire"))
        client.expect("binaire a dit : et du binaire")
        client.proc.stdin.close()  # the end of input: a clean goodbye
        code, err = client.wait()
        assert code == 0, err
        assert text.line() == "binaire a dit : et du binaire"
        text.expect("Annonce : alice a quitté la chatroom")
    finally:
        if client.proc.poll() is None:
            client.kill()
    assert re.search(r"TLS: TLSv1\.3", srv.log())


@pytest.mark.parametrize("case", ["wrong name", "expired", "unknown authority"])
def test_a_certificate_that_does_not_verify_is_refused_clearly(start_server, ca, tmp_path, case):
    if case == "wrong name":
        cert, key = ca.issue("server", names=("chat.example.org",))
        wanted = "refusé : IP address mismatch"
    elif case == "expired":
        cert, key = ca.issue("server", before=-10, after=-1)
        wanted = "refusé : certificate has expired"
    else:
        other = CA(tmp_path, "another CA")
        cert, key = other.issue("server")
        wanted = "non vérifié (unable to get local issuer certificate)"
    srv = tls_server(start_server, cert, key)
    watcher = TlsPeer(srv.tls_port, None)  # no check: it only listens
    watcher.join("veilleur")
    client = Client(srv.tls_port, "--tls", "--ca", str(ca.path), "--nick", "alice")
    err = refused(client)
    assert f"chatroom: certificat de 127.0.0.1:{srv.tls_port} {wanted}" in err, err
    if case == "unknown authority":
        # The way to trust it anyway is shown: its key, for --tls-pin.
        assert f"--tls-pin {fingerprint_of(cert)}" in err
    watcher.silent(0.3)  # alice never joined


def test_a_host_name_is_checked_too(start_server, ca):
    cert, key = ca.issue("server", names=("chat.example.org",))
    srv = tls_server(start_server, cert, key)
    client = Client(srv.tls_port, "--tls", "--ca", str(ca.path), "--nick", "alice",
                    "-a", "localhost")
    err = refused(client)
    assert f"certificat de localhost:{srv.tls_port} refusé : hostname mismatch" in err, err


def test_a_pin_accepts_that_key_and_refuses_another(start_server, tmp_path):
    cert, key = self_signed(tmp_path, "self")
    srv = tls_server(start_server, cert, key)
    pin = fingerprint_of(cert)
    client = Client(srv.tls_port, "--tls", "--tls-pin", pin, "--nick", "alice")
    client.skip_until("Annonce : alice a rejoint la chatroom")
    client.proc.stdin.close()
    assert client.wait()[0] == 0
    other, _ = self_signed(tmp_path, "other")
    wrong = fingerprint_of(other)
    client = Client(srv.tls_port, "--tls", "--tls-pin", wrong, "--nick", "bob")
    err = refused(client)
    assert f"la clé de 127.0.0.1:{srv.tls_port} ({pin}) n'est pas celle de --tls-pin " \
           f"({wrong}) : connexion refusée" in err, err
    # A malformed pin is a settings error.
    client = Client(srv.tls_port, "--tls", "--tls-pin", "SHA256:court", "--nick", "carol")
    code, err = client.wait()
    assert code == 2 and "--tls-pin 'SHA256:court'" in err, err


def tofu_command(port, state, *args):
    env = f"XDG_STATE_HOME={shlex.quote(str(state))} CHATROOM_LOG=none CHATROOM_LANG=fr"
    return " ".join([f"env {env}", *VALGRIND_PREFIX, str(CLIENT_BIN), "-a", "127.0.0.1",
                     "-p", str(port), "--tls", *args])


@pytest.mark.parametrize("mode", ["full-screen", "plain"])
def test_trust_on_first_use_pins_and_a_changed_key_is_refused(start_server, tmux, tmp_path, mode):
    state = tmp_path / "state"
    cert, key = self_signed(tmp_path, "first")
    srv = tls_server(start_server, cert, key)
    fp = fingerprint_of(cert)
    extra = ["--nick", "alice", "--room", "general"] + (["--plain"] if mode == "plain" else [])
    tmux.start("c1", tofu_command(srv.tls_port, state, *extra))
    screen = tmux.wait_for("c1", "(oui/non) ?")
    assert fp in screen and "self-signed certificate" in screen
    tmux.keys("c1", "oui", "Enter")
    tmux.wait_for("c1", "alice a rejoint la chatroom")
    known = (state / "chatroom/known_servers").read_text()
    assert known == f"127.0.0.1:{srv.tls_port} {fp}\n"
    assert (state / "chatroom/known_servers").stat().st_mode & 0o777 == 0o600
    tmux.keys("c1", "/quit", "Enter")
    tmux.wait_for("c1", "[exit 0]")

    # The second time it is known: no question.
    tmux.start("c2", tofu_command(srv.tls_port, state, "--nick", "bob", "--room", "general",
                                  "--plain"))
    screen = tmux.wait_for("c2", "bob a rejoint la chatroom")
    assert "(oui/non)" not in screen
    tmux.keys("c2", "/quit", "Enter")
    tmux.wait_for("c2", "[exit 0]")

    # The same port with another key: refused, loudly, both keys shown.
    port = srv.tls_port
    srv.stop()
    cert2, key2 = self_signed(tmp_path, "second")
    srv2 = tls_server(start_server, cert2, key2, "--tls-port", str(port))
    assert srv2.tls_port == port
    tmux.start("c3", tofu_command(port, state, "--nick", "carol", "--plain"), width=160)
    screen = tmux.wait_for("c3", "[exit 1]")
    flat = screen.replace("\n", "")
    assert f"LA CLÉ DU SERVEUR 127.0.0.1:{port} A CHANGÉ" in screen
    assert fp in flat and fingerprint_of(cert2) in flat
    assert f"supprimez la ligne 1 de {state}/chatroom/known_servers" in flat
    assert "(oui/non)" not in screen


def test_a_no_at_first_use_refuses_and_remembers_nothing(start_server, tmux, tmp_path):
    state = tmp_path / "state"
    cert, key = self_signed(tmp_path, "first")
    srv = tls_server(start_server, cert, key)
    tmux.start("c1", tofu_command(srv.tls_port, state, "--nick", "alice", "--plain"))
    tmux.wait_for("c1", "(oui/non) ?")
    tmux.keys("c1", "non", "Enter")
    screen = tmux.wait_for("c1", "[exit 1]")
    assert "non acceptée : connexion refusée" in screen
    assert not (state / "chatroom/known_servers").exists()


def test_make_runs_self_signed_certificate_serves_and_verifies(start_server, tmp_path):
    """scripts/tls-selfsigned.sh, as make run TLS=1 calls it."""
    from conftest import ROOT
    import subprocess
    subprocess.run(["bash", str(ROOT / "scripts/tls-selfsigned.sh"), str(tmp_path / "tls")],
                   check=True, capture_output=True, timeout=TIMEOUT)
    cert, key = tmp_path / "tls/cert.pem", tmp_path / "tls/key.pem"
    assert key.stat().st_mode & 0o777 == 0o600
    srv = tls_server(start_server, cert, key)
    client = Client(srv.tls_port, "--tls", "--ca", str(cert), "--nick", "alice")
    client.skip_until("Annonce : alice a rejoint la chatroom")
    client.proc.stdin.close()
    assert client.wait()[0] == 0
    # Run again, it keeps the certificate (a remembered key stays valid).
    before = cert.read_bytes()
    subprocess.run(["bash", str(ROOT / "scripts/tls-selfsigned.sh"), str(tmp_path / "tls")],
                   check=True, capture_output=True, timeout=TIMEOUT)
    assert cert.read_bytes() == before


def test_reconnecting_over_tls_resumes_and_a_new_key_meanwhile_ends_it(tmp_path, ca):
    """--reconnect over TLS: a new handshake each time; the server back with
    the same key is rejoined, back with another key (a pinned one) is not."""
    from conftest import Server
    from test_client_restart import free_port
    cert, key = self_signed(tmp_path, "first")
    tport = free_port()

    def start(cert, key):
        srv = Server(tmp_path, "--tls-cert", str(cert), "--tls-key", str(key),
                     "--tls-port", str(tport))
        srv.wait_log(rf"listening for TLS on 127\.0\.0\.1:{tport}")
        return srv

    first = start(cert, key)
    client = Client(tport, "--tls", "--tls-pin", fingerprint_of(cert), "--nick", "alice",
                    "--reconnect")
    second = third = None
    try:
        client.skip_until("Annonce : alice a rejoint la chatroom")
        first.stop()
        second = start(cert, key)
        client.skip_until("*** reconnecté")
        peer = TlsPeer(tport, None)
        peer.join("veilleur")
        client.type("de retour en TLS\n")
        peer.skip_until("alice a dit : de retour en TLS")
        peer.close()
        second.stop()
        other, other_key = self_signed(tmp_path, "other")
        third = start(other, other_key)
        code, err = client.wait()
        assert code == 1, err
        assert f"n'est pas celle de --tls-pin ({fingerprint_of(cert)})" in err, err
    finally:
        if client.proc.poll() is None:
            client.kill()
        for srv in (second, third):
            if srv is not None and srv.proc.poll() is None:
                srv.stop()
