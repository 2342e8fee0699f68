"""Security review L4: idle slots. A peer without a pseudo that goes quiet
is dropped after --idle-timeout; a binary peer must say HELLO within the
handshake timeout (PINGs do not count); --max-per-address counts an IPv6
/64 as one address."""

import os
import shutil
import socket
import struct
import subprocess
import sys
import textwrap
import time

import pytest

from conftest import SERVER_BIN, TIMEOUT, child_env
from security import Conversation
from wire import ERROR, PING, PONG, BinaryPeer, frame

IDLE = "Erreur : délai dépassé : inactif sans pseudo (Hello|pseudo)"


def test_quiet_peers_without_pseudo_are_dropped(start_server):
    """The review: one byte (or 'Hel') after connecting held a slot forever.
    Whatever an anonymous peer said last, a quiet one goes."""
    srv = start_server("--handshake-timeout", "1", "--idle-timeout", "2")
    talk = Conversation(srv.port)
    named = srv.peer()
    named.join("silencieux")  # a peer with a pseudo may stay quiet
    quiet = []
    for first in (b"x", b"Hel", b"un message\n"):
        s = socket.create_connection(("127.0.0.1", srv.port), timeout=TIMEOUT)
        s.sendall(first)
        quiet.append(s)
    started = time.monotonic()
    for s in quiet:
        data = b""
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
        assert data.decode().splitlines()[-1] == IDLE
    took = time.monotonic() - started
    assert 1.5 < took < 5, took
    assert srv.log().count("disconnected (idle without a pseudo)") == 3
    talk.assert_fluent(0.3)
    named.send("toujours là\n")
    while talk.alice.line() != "silencieux a dit : toujours là":
        pass


def test_a_binary_peer_must_say_hello_in_time(start_server):
    """The review: a binary peer may PING forever without HELLO."""
    srv = start_server("--handshake-timeout", "1")
    p = BinaryPeer(srv.port, timeout=TIMEOUT)
    started = time.monotonic()
    closed = False
    while time.monotonic() - started < 4 and not closed:
        try:
            p.send(frame(PING, struct.pack(">Q", 5)))
            m = p.next(timeout=0.3)
        except (AssertionError, OSError):
            closed = True
            break
        if m["type"] == ERROR:
            assert m["code"] == 12
            closed = p.closed()
        else:
            assert m["type"] == PONG
        time.sleep(0.2)
    assert closed, "still connected after 4 s of PINGs without HELLO"
    srv.wait_log(r"disconnected \(handshake timeout\)")


NAMESPACE_SCRIPT = textwrap.dedent(r"""
    import re, socket, subprocess, sys, time
    server, log = sys.argv[1], sys.argv[2]
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    for a in ("2001:db8:1::5", "2001:db8:1::6", "2001:db8:1:0:ffff::7", "2001:db8:1::8",
              "2001:db8:2::5"):
        subprocess.run(["ip", "-6", "addr", "add", a + "/64", "dev", "lo", "nodad"], check=True)
    out = open(log, "wb")
    proc = subprocess.Popen([server, "-a", "::1", "-p", "0", "--history", "none", "--log", "none",
                             "--max-per-address", "3"], stdout=out, stderr=subprocess.STDOUT)
    port = None
    for _ in range(500):
        m = re.search(rb"listening on ::1:(\d+)", open(log, "rb").read())
        if m:
            port = int(m.group(1))
            break
        time.sleep(0.02)
    def hello(source):
        s = socket.create_connection(("::1", port), timeout=10, source_address=(source, 0))
        s.sendall(b"Hello\n")
        return s, s.recv(200).decode()
    kept = []
    for a in ("2001:db8:1::5", "2001:db8:1::6", "2001:db8:1:0:ffff::7", "2001:db8:1::8",
              "2001:db8:2::5"):
        s, line = hello(a)
        kept.append(s)
        print(a, line.strip(), flush=True)
    proc.terminate()
    print("exit", proc.wait(timeout=20), flush=True)
""")


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("unshare") is None,
                    reason="needs root and unshare for a private network namespace")
def test_ipv6_addresses_are_counted_by_their_64(tmp_path):
    """Each address of a /64 is the same peer for --max-per-address: one
    subscriber's prefix would otherwise be limitless."""
    log = tmp_path / "server.log"
    proc = subprocess.run(
        ["unshare", "-n", sys.executable, "-c", NAMESPACE_SCRIPT, str(SERVER_BIN), str(log)],
        capture_output=True, text=True, timeout=60, env=child_env())
    out = proc.stdout.splitlines()
    assert proc.returncode == 0, proc.stdout + proc.stderr + log.read_text()
    answers = dict(line.split(" ", 1) for line in out if line.startswith("2001"))
    assert answers["2001:db8:1::5"].startswith("Hello 2001:db8:1::5:")
    assert answers["2001:db8:1::6"].startswith("Hello 2001:db8:1::6:")
    assert answers["2001:db8:1:0:ffff::7"].startswith("Hello 2001:db8:1:0:ffff::7:")
    # The fourth of the same /64 is one too many; another /64 is welcome.
    assert answers["2001:db8:1::8"] == "Erreur : trop de connexions depuis votre adresse"
    assert answers["2001:db8:2::5"].startswith("Hello 2001:db8:2::5:")
    assert "exit 0" in out
