#!/usr/bin/env python3
"""What keeping the history costs the server: the same fan-out load (N text
peers in one room, each sending M messages; N*M*(N-1) deliveries) against
chatroom-server without history, then with history (fsync everysec, and
always), measured as the server's own CPU time per delivery (utime+stime
from /proc), which still compares when this Python load generator, not the
server, is the bottleneck.

usage: scripts/history_cost.py [BUILD_DIR] [N] [M]"""

import os
import re
import selectors
import signal
import socket
import subprocess
import sys
import tempfile
import time

BUILD = sys.argv[1] if len(sys.argv) > 1 else "build"
N = int(sys.argv[2]) if len(sys.argv) > 2 else 200
M = int(sys.argv[3]) if len(sys.argv) > 3 else 50
TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def run(history_args):
    tmp = tempfile.mkdtemp()
    log = open(os.path.join(tmp, "console"), "wb")
    srv = subprocess.Popen([os.path.join(BUILD, "chatroom-server"), "-p", "0", "--log", "none",
                            "--flood-rate", "0", "--max-queue", "100000000",
                            "--max-per-address", "100000", *history_args],
                           stdout=log, stderr=subprocess.STDOUT)
    port = None
    while port is None:
        time.sleep(0.05)
        m = re.search(r"listening on 127\.0\.0\.1:(\d+)", open(log.name).read())
        port = m and int(m.group(1))
    try:
        socks = [socket.create_connection(("127.0.0.1", port)) for _ in range(N)]
        for i, s in enumerate(socks):
            s.sendall(f"Hello|u{i}\n".encode())
        time.sleep(1.0)
        for s in socks:
            s.setblocking(False)
            try:
                while s.recv(1 << 20):
                    pass
            except BlockingIOError:
                pass
        before = cpu_seconds(srv.pid)
        start = time.monotonic()
        payload = "x" * 40
        for i, s in enumerate(socks):
            s.setblocking(True)
            s.sendall("".join(f"{payload} {k} de u{i}\n" for k in range(M)).encode())
            s.setblocking(False)
        expected = N * M * (N - 1)
        sel = selectors.DefaultSelector()
        for s in socks:
            sel.register(s, selectors.EVENT_READ)
        got = 0
        while got < expected and time.monotonic() - start < 120:
            for key, _ in sel.select(timeout=1):
                data = key.fileobj.recv(1 << 20)
                got += data.count(b"\n")  # after the joins, every line is a delivery
        elapsed = time.monotonic() - start
        cpu = cpu_seconds(srv.pid) - before
        srv.send_signal(signal.SIGTERM)
        srv.wait()
        for s in socks:
            s.close()
    finally:
        if srv.poll() is None:  # never leave a server behind
            srv.kill()
            srv.wait()
    return got, expected, cpu, elapsed


def main():
    rows = []
    for name, args in (("no history", ["--history", "none"]),
                       ("history, fsync everysec", ["--history", os.path.join(tempfile.mkdtemp(), "h.jsonl")]),
                       ("history, fsync always", ["--history", os.path.join(tempfile.mkdtemp(), "h.jsonl"),
                                                  "--fsync", "always"])):
        got, expected, cpu, elapsed = run(args)
        rows.append((name, got, expected, cpu, elapsed))
    base = rows[0][3] / rows[0][1]
    print(f"{N} peers x {M} messages = {rows[0][2]} deliveries per run")
    print(f"{'run':26} {'delivered':>10} {'server CPU':>11} {'ns/delivery':>12} {'vs none':>8}")
    for name, got, expected, cpu, elapsed in rows:
        per = cpu / got if got else float("nan")
        versus = f"{per / base - 1:>+8.1%}" if base > 0 else "     n/a"  # too short to measure
        print(f"{name:26} {got:>10} {cpu:>10.2f}s {per * 1e9:>12.0f} {versus}")
        if got != expected:
            print(f"  LOST {expected - got} deliveries")


if __name__ == "__main__":
    main()
