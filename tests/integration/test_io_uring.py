"""io_uring (the default): a loop turn's TCP sends go to the kernel in one
system call; --no-io-uring sends with one writev per peer.
The same conversation as without it, in order, to fast readers, to a
reader whose socket fills (those sends fall back to libuv's uv_write),
and a peer that vanishes is closed while the others carry on.

The ring's own counters (/proc/PID/fdinfo of the io_uring descriptor)
prove the sends went through it, not through writev."""

import os
import subprocess
import re
import socket
import threading
import time

import pytest

from conftest import BUILD, SANITIZER_ENV, TIMEOUT, VALGRIND_PREFIX, assert_no_sanitizer_report


def ring_completions(pid):
    """Completions the server reaped from its io_uring (CqHead), or None
    when it has no ring."""
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except FileNotFoundError:
            continue
        if target == "anon_inode:[io_uring]":
            with open(f"/proc/{pid}/fdinfo/{fd}") as f:
                return int(re.search(r"^CqHead:\s*(\d+)", f.read(), re.M).group(1))
    return None


def uring_server(start_server, *args):
    srv = start_server("--flood-rate", "0", *args)
    m = srv.wait_log(r"sending through io_uring|io_uring refused \(([^)]*)\)")
    if m.group(0).startswith("io_uring refused"):
        pytest.skip(f"this kernel refuses io_uring: {m.group(1)}")
    return srv


def test_a_room_conversation_goes_through_the_ring_in_order(start_server):
    srv = uring_server(start_server)
    before = ring_completions(srv.proc.pid)
    assert before is not None, "no io_uring descriptor"
    a, b, c = srv.peer(), srv.peer(), srv.peer()
    a.join("a")
    b.join("b")
    c.join("c")
    a.expect("Annonce : b a rejoint la chatroom")
    a.expect("Annonce : c a rejoint la chatroom")
    b.expect("Annonce : c a rejoint la chatroom")
    # Two talkers at once: each one's messages in the order said.
    a.send("".join(f"a{i}\n" for i in range(200)))
    b.send("".join(f"b{i}\n" for i in range(200)))
    got = [c.line() for _ in range(400)]
    assert [x for x in got if x.startswith("a a dit")] == [f"a a dit : a{i}" for i in range(200)]
    assert [x for x in got if x.startswith("b a dit")] == [f"b a dit : b{i}" for i in range(200)]
    assert [a.line() for _ in range(200)] == [f"b a dit : b{i}" for i in range(200)]
    assert [b.line() for _ in range(200)] == [f"a a dit : a{i}" for i in range(200)]
    c.send("fin\n")
    a.expect("c a dit : fin")
    b.expect("c a dit : fin")
    # Not writev: the sends came back through the ring (a turn's lines to
    # one peer are one send: at least the six join notices and the three
    # peers' first messages).
    assert ring_completions(srv.proc.pid) - before >= 9


def test_a_reader_whose_socket_fills_still_gets_everything_in_order(start_server):
    slow_reader_gets_everything(start_server, 4000, "x" * 500)


def test_short_lines_copied_into_one_send_reach_a_filling_socket_in_order(start_server):
    # A turn's lines to a peer under 16 KiB go as one buffer (a copy): cut
    # short by the full socket, the rest still follows, once, in order.
    slow_reader_gets_everything(start_server, 20000, "y" * 40)


def slow_reader_gets_everything(start_server, count, body):
    srv = uring_server(start_server, "--max-queue", str(16 << 20), "--soft-queue",
                       str(16 << 20))
    watcher = srv.peer()
    watcher.join("watcher")
    slow = socket.socket()
    slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    slow.connect(("127.0.0.1", srv.port))
    slow.sendall(b"Hello|slow\n")  # and reads nothing until the talk is over
    watcher.expect("Annonce : slow a rejoint la chatroom")
    talker = srv.peer()
    talker.join("talker")
    watcher.expect("Annonce : talker a rejoint la chatroom")

    # 2 MB / 1 MB: far more than the slow socket holds

    def talk():
        for k in range(0, count, 100):
            talker.send("".join(f"{k + j} {body}\n" for j in range(100)))
            time.sleep(0.002)

    sender = threading.Thread(target=talk)
    sender.start()
    for i in range(count):
        assert watcher.line() == f"talker a dit : {i} {body}"
    sender.join()

    # Now it reads: everything, once, in order, after the joins it missed.
    slow.settimeout(TIMEOUT)
    data = b""
    wanted = f"talker a dit : {count - 1} {body}\n".encode()
    deadline = time.monotonic() + 3 * TIMEOUT
    while not data.endswith(wanted) and time.monotonic() < deadline:
        chunk = slow.recv(1 << 20)
        assert chunk, "the slow reader was disconnected"
        data += chunk
    lines = [x for x in data.decode().splitlines() if x.startswith("talker a dit : ")]
    assert lines == [f"talker a dit : {i} {body}" for i in range(count)]
    slow.close()
    watcher.expect("Annonce : slow a quitté la chatroom")


def test_a_peer_that_vanishes_is_closed_and_the_others_carry_on(start_server):
    srv = uring_server(start_server)
    a, b = srv.peer(), srv.peer()
    a.join("a")
    b.join("b")
    a.expect("Annonce : b a rejoint la chatroom")
    gone = srv.peer()
    gone.join("gone")
    a.expect("Annonce : gone a rejoint la chatroom")
    b.expect("Annonce : gone a rejoint la chatroom")
    # Messages on their way to it while it resets.
    a.send("".join(f"m{i}\n" for i in range(50)))
    gone.reset()
    a.send("".join(f"n{i}\n" for i in range(50)))
    got = [b.line() for _ in range(101)]
    assert "Annonce : gone a quitté la chatroom" in got
    said = [x for x in got if x.startswith("a a dit")]
    assert said == [f"a a dit : m{i}" for i in range(50)] + [f"a a dit : n{i}" for i in range(50)]
    srv.wait_log(rf"{re.escape(gone.addr)} disconnected")
    b.send("encore là\n")
    a.skip_until("b a dit : encore là")


def test_binary_fan_out_loses_nothing(start_server):
    srv = uring_server(start_server)
    proc = subprocess.run([*VALGRIND_PREFIX, str(BUILD / "chatroom-bench"), "throughput", "-t", "chatroom", "-p",
                           str(srv.port), "-n", "100", "-s", "5", "-w", "8", "-d", "1", "-P",
                           str(srv.proc.pid)],
                          capture_output=True, text=True, timeout=120, env={**SANITIZER_ENV})
    out = proc.stdout + proc.stderr
    assert_no_sanitizer_report(out, "chatroom-bench")
    assert proc.returncode == 0, out
    r = dict(kv.split("=", 1) for kv in out.split("RESULT ", 1)[1].split("\n")[0].split())
    assert int(r["received"]) == int(r["expected"]) > 0 and r["lost"] == "0", out


def test_no_io_uring_writes_with_writev_and_the_conversation_goes_on(start_server):
    srv = start_server("--no-io-uring", "--flood-rate", "0")
    a, b = srv.peer(), srv.peer()
    a.join("a")
    b.join("b")
    a.expect("Annonce : b a rejoint la chatroom")
    a.send("".join(f"m{i}\n" for i in range(100)))
    assert [b.line() for _ in range(100)] == [f"a a dit : m{i}" for i in range(100)]
    assert ring_completions(srv.proc.pid) is None, "an io_uring despite --no-io-uring"
    assert "through io_uring" not in srv.log() and "io_uring refused" not in srv.log()
