"""The server closing a peer after its last messages (a refusal, its
shutdown) while the peer keeps sending: the peer reads them whole, then a
clean end (a FIN, recv returning b""), never a reset (ECONNRESET). A socket
closed with unread input answers with a reset, which may also destroy what
the peer had not read yet: the server shuts its side first and reads and
drops the peer's input until the peer closes too, for a bounded while
(src/server/linger.h). Lingering closes are bounded: they end within their
deadline however much the peer sends, count with the peers against
--max-connections, and never slow a conversation."""

import os
import signal
import socket
import threading
import time

import pytest

from conftest import SANITIZED, TIMEOUT, VALGRIND
from security import Conversation

FAREWELL = "Annonce : le serveur s'arrête"
TOO_LONG = "Erreur : ligne trop longue (plus de 4096 octets)"
LINGER_SECONDS = 2.0  # LINGER_MS
# Once a lingering close's deadline is past, this long for the loop to act
# on it (a sanitized build on a loaded machine is slow).
MARGIN = 3.0 if SANITIZED else 1.5


def read_to_end(sock, timeout=TIMEOUT):
    """Everything the server sends from now on, and how it ended: "eof"
    (its FIN) or "reset"."""
    data = b""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"no end within {timeout}s (have {data[-200:]!r})")
        sock.settimeout(left)
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            return data, "reset"
        if not chunk:
            return data, "eof"
        data += chunk


class Trickle:
    """Sends a byte to each socket every `every` seconds from a thread, as a
    client's PINGs do, until stopped; a socket the server has let go is
    dropped from the round."""

    def __init__(self, socks, data=b"x", every=0.002):
        self.socks, self.data, self.every = list(socks), data, every
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stopping.is_set():
            for s in list(self.socks):
                try:
                    s.send(self.data, socket.MSG_DONTWAIT)
                except BlockingIOError:
                    pass
                except OSError:
                    self.socks.remove(s)
            time.sleep(self.every)

    def stop(self):
        self.stopping.set()
        self.thread.join()


def open_fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def test_a_refused_peer_that_keeps_sending_reads_its_error_then_the_end(start_server):
    srv = start_server()
    peer = socket.create_connection(("127.0.0.1", srv.port), timeout=TIMEOUT)
    srv.wait_log(r"%s:%d connected" % peer.getsockname())
    # A line too long, all of it waiting when the server reads: more than
    # one of its reads (64 KiB), so that some is still unread when it is
    # refused (the server held still meanwhile).
    srv.proc.send_signal(signal.SIGSTOP)
    try:
        sent = peer.send(b"x" * 200_000, socket.MSG_DONTWAIT)
        time.sleep(0.1)
    finally:
        srv.proc.send_signal(signal.SIGCONT)
    assert sent > 70_000
    trickle = Trickle([peer])
    try:
        data, end = read_to_end(peer)
    finally:
        trickle.stop()
    assert data.decode() == TOO_LONG + "\n"
    assert end == "eof", "the refusal ended with a reset"
    # A stop does not wait for lingering closes (the peer keeps its socket).
    started = time.monotonic()
    srv.proc.send_signal(signal.SIGTERM)
    assert srv.proc.wait(timeout=TIMEOUT) == 0
    took = time.monotonic() - started
    print(f"stop with a lingering close: {took:.2f} s")
    assert took < LINGER_SECONDS, f"the stop took {took:.1f} s"
    peer.close()


def test_peers_that_keep_sending_read_the_shutdown_then_the_end(start_server):
    srv = start_server("--flood-rate", "0")
    peers = [srv.peer() for _ in range(12)]
    for i, p in enumerate(peers):
        p.join(f"p{i}")
    # Bytes of an unfinished line, every 2 ms from each: some arrive after
    # the server stopped reading them, as a client's PING does.
    trickle = Trickle([p.sock for p in peers])
    time.sleep(0.3)
    srv.proc.send_signal(signal.SIGTERM)
    ends = []
    try:
        for p in peers:
            data, end = read_to_end(p.sock)
            lines = (p.buf + data).decode(errors="replace").split("\n")
            assert FAREWELL in lines, f"{p.name} missed the farewell: {lines[-5:]}"
            ends.append(end)
    finally:
        trickle.stop()
    assert ends.count("reset") == 0, f"{ends.count('reset')} of {len(ends)} reset"
    assert srv.proc.wait(timeout=TIMEOUT) == 0


def test_a_slow_reader_that_sends_at_shutdown_gets_the_farewell_and_the_end(start_server):
    srv = start_server("--flood-rate", "0", "--max-queue", "8000000",
                       "--soft-queue", "8000000")
    slow = socket.socket()
    slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    slow.settimeout(TIMEOUT)
    slow.connect(("127.0.0.1", srv.port))
    slow.sendall(b"Hello|lent\n")
    talker, watcher = srv.peer(), srv.peer()
    watcher.join("guet")
    talker.join("bavard")
    # Half a megabyte for the slow reader: the shutdown's farewell waits
    # behind it in the server's queue, the server reading it no more.
    body = "y" * 900
    talker.send("".join(f"{i} {body}\n" for i in range(600)))
    while not watcher.line().startswith("bavard a dit : 599 "):
        pass
    srv.proc.send_signal(signal.SIGTERM)
    time.sleep(0.3)
    slow.sendall(b"x")  # unread by the server: it stopped reading at the stop
    data, end = read_to_end(slow)
    lines = data.decode(errors="replace").split("\n")
    assert sum(line.startswith("bavard a dit : ") for line in lines) == 600
    assert lines[-2:] == [FAREWELL, ""], lines[-3:]
    assert end == "eof"
    assert srv.proc.wait(timeout=TIMEOUT) == 0
    slow.close()


@pytest.mark.skipif(VALGRIND, reason="valgrind keeps descriptors of its own")
def test_refused_peers_that_keep_sending_are_let_go_and_do_not_stop_a_conversation(
        start_server):
    max_connections = 50
    srv = start_server("--max-connections", str(max_connections), "--max-per-address", "1000")
    idle_fds = open_fds(srv.proc.pid)
    talk = Conversation(srv.port)
    attackers, most = [], 0
    trickle = Trickle([], every=0.01)
    try:
        for _ in range(200):
            a = socket.create_connection(("127.0.0.1", srv.port), timeout=TIMEOUT)
            a.sendall(b"x" * 8000)  # a line too long: refused
            attackers.append(a)
            trickle.socks.append(a)
            most = max(most, open_fds(srv.proc.pid) - idle_fds)
            if len(attackers) % 20 == 0:
                talk.round_trip()
        talk.assert_fluent(0.5)
        # A newcomer is let in while refused peers linger: they give way.
        newcomer = srv.peer()
        newcomer.join("nouveau")
        talk.alice.skip_until("Annonce : nouveau a rejoint la chatroom")
        most = max(most, open_fds(srv.proc.pid) - idle_fds)
        # Lingering closes hold descriptors within --max-connections, the
        # peers' included (one more: a newcomer before it is counted).
        assert most <= max_connections + 1, f"{most} peer descriptors"
        # However much they send, their deadline holds.
        time.sleep(LINGER_SECONDS + MARGIN)
        talk.assert_fluent(0.5)
        left = open_fds(srv.proc.pid) - idle_fds
        assert left == 3, f"{left} peer descriptors for 3 peers"
        assert trickle.socks == [], "an attacker can still send"
    finally:
        trickle.stop()
    print(f"peer descriptors at most {most} of {max_connections}")
    for a in attackers:
        a.close()
    talk.close()
    newcomer.close()
