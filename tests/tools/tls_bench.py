#!/usr/bin/env python3
"""Deliveries per second and the server's CPU per delivery, over TLS and in
clear, with the same load (issue 20's figure).

Starts chatroom-server with a TLS port (a self-signed certificate made by
scripts/tls-selfsigned.sh), then for each transport: R text receivers in
one room, one sender saying M lines of 40 bytes as fast as the server takes
them (flood control off), every receiver reading until it has them all.
Reports the wall time, deliveries/s and the server's CPU (utime + stime
from /proc) per delivery. The receivers are Python (one process, one
selector), so deliveries/s is a floor on the server's; CPU per delivery
is the server's own.

    tests/tools/tls_bench.py [--build build] [--receivers 50] [--messages 2000] [--per-write 100] [--rate 0]
"""
import argparse
import os
import re
import selectors
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def cpu_seconds(pid):
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def connect(port, tls):
    s = socket.create_connection(("127.0.0.1", port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if tls:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        s = ctx.wrap_socket(s, server_hostname="localhost")
    return s


def read_until(s, marker):
    buf = b""
    while marker not in buf:
        chunk = s.recv(65536)
        if not chunk:
            raise SystemExit("closed while joining")
        buf += chunk
    return buf.split(marker, 1)[1]


def run(port, tls, receivers, messages):
    peers = []
    for i in range(receivers):
        s = connect(port, tls)
        name = f"r{i}{'t' if tls else 'p'}"
        s.sendall(f"Hello|{name}\n".encode())
        read_until(s, f"{name} a rejoint la chatroom\n".encode())
        peers.append(s)
    # A name of its own per run: a pseudo seen lately is "de retour".
    sender = connect(port, tls)
    name = f"sender{'t' if tls else 'p'}"
    sender.sendall(f"Hello|{name}\n".encode())
    read_until(sender, f"{name} a rejoint la chatroom\n".encode())
    # Each receiver hears the sender's arrival first: skipped by counting.
    line = ("x" * 40 + "\n").encode()
    wanted = messages
    sel = selectors.DefaultSelector()
    counts = {}
    for s in peers:
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ)
        counts[s] = -1  # the sender's arrival notice
    return peers, sender, sel, counts, line, wanted


def measure(srv, port, tls, receivers, messages, per_write=100, rate=0):
    peers, sender, sel, counts, line, wanted = run(port, tls, receivers, messages)
    cpu0, t0 = cpu_seconds(srv.pid), time.monotonic()
    batch = line * per_write
    sent = 0
    sender.setblocking(True)
    done = 0
    while done < len(peers):
        due = rate == 0 or time.monotonic() >= t0 + sent / rate
        if sent < wanted and due:
            sender.sendall(batch)
            sent += per_write
        for key, _ in sel.select(timeout=(0 if rate == 0 else 0.001) if sent < wanted else 5):
            s = key.fileobj
            try:
                while True:
                    data = s.recv(262144)
                    if not data:
                        raise SystemExit("a receiver was disconnected")
                    before = counts[s]
                    counts[s] += data.count(b"\n")
                    if before < wanted <= counts[s]:
                        done += 1
                    if not (tls and s.pending()):
                        break
            except (BlockingIOError, ssl.SSLWantReadError):
                pass
    wall = time.monotonic() - t0
    cpu = cpu_seconds(srv.pid) - cpu0
    for s in peers + [sender]:
        s.close()
    deliveries = receivers * wanted
    return wall, cpu, deliveries


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=str(ROOT / "build"))
    ap.add_argument("--receivers", type=int, default=50)
    ap.add_argument("--messages", type=int, default=2000)
    ap.add_argument("--per-write", type=int, default=100,
                    help="lines in each of the sender's writes (1: a record per line)")
    ap.add_argument("--rate", type=float, default=0,
                    help="lines a second the sender keeps to (0: as fast as it can)")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="tls-bench-"))
    subprocess.run(["bash", str(ROOT / "scripts/tls-selfsigned.sh"), str(tmp)], check=True,
                   capture_output=True)
    log = open(tmp / "server.log", "wb")
    srv = subprocess.Popen([f"{args.build}/chatroom-server", "-p", "0", "--tls-port", "0",
                            "--tls-cert", str(tmp / "cert.pem"), "--tls-key", str(tmp / "key.pem"),
                            "--history", "none", "--log", "none", "--flood-rate", "0", "-q",
                            "--max-queue", str(64 << 20), "--soft-queue", str(32 << 20)],
                           stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            text = (tmp / "server.log").read_text()
            plain = re.search(r"listening on 127\.0\.0\.1:(\d+)", text)
            tls = re.search(r"listening for TLS on 127\.0\.0\.1:(\d+)", text)
            if plain and tls:
                break
            time.sleep(0.05)
        print(f"{args.receivers} receivers, {args.messages} messages of 40 bytes, one room, "
              f"{args.per_write} a write" + (f", {args.rate:g} a second" if args.rate else ""))
        print(f"{'transport':10} {'wall s':>7} {'deliveries/s':>13} {'server CPU s':>13} "
              f"{'CPU us/delivery':>16}")
        for name, port, use_tls in (("plain", int(plain.group(1)), False),
                                    ("TLS", int(tls.group(1)), True)):
            wall, cpu, deliveries = measure(srv, port, use_tls, args.receivers, args.messages,
                                            args.per_write, args.rate)
            print(f"{name:10} {wall:7.2f} {deliveries / wall:13.0f} {cpu:13.2f} "
                  f"{cpu / deliveries * 1e6:16.2f}")
            sys.stdout.flush()
            time.sleep(0.5)
    finally:
        srv.terminate()
        srv.wait()


if __name__ == "__main__":
    main()
