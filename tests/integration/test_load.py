"""Many peers at once, and peers that stop reading: exact counts."""

import selectors
import socket
import threading
import time
from collections import defaultdict

from conftest import SANITIZED, TIMEOUT, VALGRIND


def drain(socks, done, timeout):
    """Reads every socket until done(i, lines_so_far) holds for all of them.
    Returns the list of live lines received per socket (history blocks
    left out)."""
    sel = selectors.DefaultSelector()
    for i, s in enumerate(socks):
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ, i)
    partial = [b""] * len(socks)
    lines = [[] for _ in socks]
    in_history = [False] * len(socks)
    waiting = set(range(len(socks)))
    deadline = time.monotonic() + timeout
    while waiting and time.monotonic() < deadline:
        for key, _ in sel.select(timeout=0.5):
            i = key.data
            chunk = key.fileobj.recv(1 << 20)
            assert chunk, f"peer {i} was disconnected"
            data = partial[i] + chunk
            *complete, partial[i] = data.split(b"\n")
            for line in complete:
                # A joiner first gets the room's history: not live traffic.
                if line.startswith(b"Annonce : historique du salon "):
                    in_history[i] = True
                elif line == "Annonce : fin de l'historique".encode():
                    in_history[i] = False
                elif not in_history[i]:
                    lines[i].append(line)
            if i in waiting and done(i, lines[i]):
                waiting.discard(i)
    sel.close()
    assert not waiting, f"{len(waiting)} peers still waiting, e.g. peer {min(waiting)} has {len(lines[min(waiting)])} lines"
    for s in socks:
        s.setblocking(True)
    return lines


def test_200_clients_50_messages_each_all_delivered_exactly(server):
    n, per = 200, 50
    socks = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(n)]
    for i, s in enumerate(socks):
        s.sendall(f"Hello|u{i}\n".encode())
    # Everyone was connected before anyone joined: each sees all n joins.
    joins = drain(socks, lambda i, got: len(got) >= n, TIMEOUT)
    for got in joins:
        assert sorted(got) == sorted(f"Annonce : u{j} a rejoint la chatroom".encode() for j in range(n))

    for i, s in enumerate(socks):
        s.sendall("".join(f"m{k} de u{i}\n" for k in range(per)).encode())
    expected = (n - 1) * per
    received = drain(socks, lambda i, got: len(got) >= expected, 6 * TIMEOUT)

    total = 0
    for i, got in enumerate(received):
        assert len(got) == expected, f"peer {i}: {len(got)} lines"
        seen = defaultdict(list)
        for line in got:
            sender, text = line.decode().split(" a dit : ")
            seen[sender].append(text)
        assert f"u{i}" not in seen, "a message came back to its sender"
        assert len(seen) == n - 1
        for sender, texts in seen.items():
            # Every message, once, in the order it was sent.
            assert texts == [f"m{k} de {sender}" for k in range(per)]
        total += len(got)
    assert total == n * per * (n - 1) == 1_990_000
    for s in socks:
        s.close()


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_a_peer_that_stops_reading_is_dropped_and_nobody_else_waits(start_server):
    limit = 1024 * 1024
    srv = start_server("--max-queue", str(limit), "--flood-rate", "0")

    watcher = srv.peer()
    watcher.join("watcher")
    slow = socket.socket()
    slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    slow.connect(("127.0.0.1", srv.port))
    slow.sendall(b"Hello|slow\n")  # and never reads again
    watcher.expect("Annonce : slow a rejoint la chatroom")
    talker = srv.peer()
    talker.join("talker")
    watcher.expect("Annonce : talker a rejoint la chatroom")
    rss_before = rss_kib(srv.proc.pid)

    count, body = 20000, "x" * 500

    def talk():
        # About 10 MB/s: a live reader keeps up, one that stopped cannot.
        for k in range(0, count, 100):
            talker.send("".join(f"{k + j} {body}\n" for j in range(100)))
            time.sleep(0.005)

    sender = threading.Thread(target=talk)
    sender.start()

    said = 0
    left = False
    deadline = time.monotonic() + 6 * TIMEOUT
    while said < count and time.monotonic() < deadline:
        line = watcher.line()
        if line == "Annonce : slow a quitté la chatroom":
            left = True
        else:
            assert line == f"talker a dit : {said} {body}"
            said += 1
    sender.join()
    assert said == count, "the watcher must get every message"
    if not left:
        watcher.expect("Annonce : slow a quitté la chatroom")
    srv.wait_log(r"disconnected \(slow reader: more than 1048576 bytes waiting\)")
    # 10 MB went through; the slow peer's queue was capped at 1 MiB.
    # (ASan keeps freed memory in quarantine and valgrind has its own heap,
    # so RSS means nothing there.)
    if not SANITIZED and not VALGRIND:
        assert rss_kib(srv.proc.pid) - rss_before < 8 * 1024
    slow.close()


def latencies(sender, receiver, count=40):
    """Milliseconds from a send to its arrival, for `count` messages."""
    out = []
    for i in range(count):
        start = time.monotonic()
        sender.send(f"sonde {i}\n")
        receiver.skip_until(f"{sender.name} a dit : sonde {i}")
        out.append((time.monotonic() - start) * 1000)
    return sorted(out)


def test_latency_and_memory_stay_flat_while_a_peer_stops_reading(start_server):
    srv = start_server("--flood-rate", "0", "--max-queue", "8000000",
                       "--soft-queue", "4000000", "--soft-queue-seconds", "60")
    a, b = srv.peer(), srv.peer()
    a.name = "a"
    a.join("a")
    b.join("b")
    a.skip_until("Annonce : b a rejoint la chatroom")
    before = latencies(a, b)
    rss_before = rss_kib(srv.proc.pid)

    stalled = socket.socket()
    stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    stalled.connect(("127.0.0.1", srv.port))
    stalled.sendall(b"Hello|muet\n")
    b.skip_until("Annonce : muet a rejoint la chatroom")
    a.skip_until("Annonce : muet a rejoint la chatroom")
    # Two megabytes it will never read pile up for it.
    for k in range(40):
        a.send(("z" * 1000 + "\n") * 50)
        for _ in range(50):
            b.line()
    during = latencies(a, b)
    rss_during = rss_kib(srv.proc.pid)
    p50 = lambda xs: xs[len(xs) // 2]
    p95 = lambda xs: xs[int(len(xs) * 0.95)]
    print(f"\nlatency a->b p50/p95 before: {p50(before):.2f}/{p95(before):.2f} ms, "
          f"while a peer reads nothing: {p50(during):.2f}/{p95(during):.2f} ms; "
          f"server RSS {rss_before} KiB -> {rss_during} KiB")
    assert p50(during) < 10 * p50(before) + 5
    if not SANITIZED and not VALGRIND:
        # The stalled peer's queue holds references to shared frames.
        assert rss_during - rss_before < 16 * 1024
    stalled.close()
