"""Helpers of the security tests (test_security_*.py): a conversation that
goes on beside each attack and measures its latency, binary peers from a
chosen loopback address, the server's memory from /proc."""

import socket
import struct
import time

from conftest import SANITIZED, TIMEOUT, VALGRIND, Peer
from wire import ERROR, HISTORY_ASK, MAGIC, BinaryPeer, frame, s

# A bystander's message must get through within this while the attack runs
# (generous: the machine is shared; the attacks froze it for tens of seconds).
LATENCY_LIMIT = 6.0 if VALGRIND else 3.0 if SANITIZED else 1.0
# Memory bounds are only asserted on the plain build (ASan keeps freed memory).
MEASURE_MEMORY = not SANITIZED and not VALGRIND


class Conversation:
    """Two text peers in the default room who keep talking."""

    def __init__(self, port, names=("alice", "bob")):
        self.a_name, self.b_name = names
        self.alice, self.bob = Peer(port), Peer(port)
        self.alice.join(self.a_name)
        self.bob.join(self.b_name)
        self.alice.skip_until(f"Annonce : {self.b_name} a rejoint la chatroom")
        self.count = 0
        self.worst = 0.0

    def round_trip(self):
        """Seconds for one message of alice's to reach bob."""
        self.count += 1
        text = f"ping {self.count}"
        start = time.monotonic()
        self.alice.send(text + "\n")
        wanted = f"{self.a_name} a dit : {text}"
        while True:
            line = self.bob.line(timeout=TIMEOUT + 30)
            if line == wanted:
                break
        took = time.monotonic() - start
        self.worst = max(self.worst, took)
        return took

    def keep_talking(self, seconds):
        """Talks for that long; returns the worst latency seen."""
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.round_trip()
            time.sleep(0.05)
        return self.worst

    def assert_fluent(self, seconds=1.0):
        worst = self.keep_talking(seconds)
        assert worst < LATENCY_LIMIT, f"a bystander's message took {worst:.2f} s"

    def close(self):
        self.alice.close()
        self.bob.close()


class SourcePeer(BinaryPeer):
    """A binary peer connecting from a given loopback address."""

    def __init__(self, port, source="127.0.0.1", timeout=TIMEOUT):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout,
                                             source_address=(source, 0))
        self.timeout = timeout
        self.buf = b""
        self.sock.sendall(MAGIC)


def text_peer(port, source="127.0.0.1"):
    """A text Peer from a given loopback address."""
    p = Peer.__new__(Peer)
    p.sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT,
                                      source_address=(source, 0))
    p.addr = "%s:%d" % p.sock.getsockname()
    p.buf = b""
    p.name = None
    return p


def history_ask(room="", after=0):
    return frame(HISTORY_ASK, s(room) + struct.pack(">Q", after))


def until_error(peer, code):
    """The first ERROR frame with that code (others skipped)."""
    while True:
        m = peer.next()
        if m["type"] == ERROR and m["code"] == code:
            return m


def proc_kib(pid, field):
    """VmRSS, VmHWM, ... of a process in KiB."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise AssertionError(f"no {field} for {pid}")
