#!/usr/bin/python3
"""make bench's other paths (issue 22: "nothing else gets slower"): the
browser's WebSocket JSON path and pictures, against one chatroom-server.

  bench_paths.py web PORT PID SECONDS       N WebSocket users in one room,
      S of them saying 64 B lines, W in flight each (a line is in flight
      until every other member has it)
  bench_paths.py pictures PORT PID SECONDS  N binary users in one room, S
      of them sending a 120x80 PNG of 27 KB, W in flight each (within each
      sender's picture budget: 10 MiB at once)

Prints one RESULT line: deliveries/s, lost (0 or the run is void) and the
server's CPU per delivery (/proc/PID/stat). The generator is Python, so
its own speed bounds the rate; the server's CPU per delivery is the
figure to compare between two servers under the same load. It speaks the
protocols through the tests' codecs (tests/integration/wire.py, wsclient.py).
"""

import json
import os
import selectors
import struct
import sys
import time
import zlib

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests",
                                "integration"))
from wire import IMAGE, MESSAGE, BinaryPeer, Reader, frame, s, say, varint  # noqa: E402
from wsclient import WebSocket  # noqa: E402

USERS = {"web": 200, "pictures": 100}
SENDERS = {"web": 4, "pictures": 8}
WINDOW = {"web": 8, "pictures": 1}


def cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def png(width=120, height=80):
    """A picture that does not compress away: a gradient with noise."""
    rows = bytearray()
    seed = 12345
    for y in range(height):
        rows.append(0)
        for x in range(width):
            seed = (seed * 1103515245 + 12345) & 0x7FFFFFFF
            rows += bytes(((x + (seed & 63)) & 255, (y + (seed >> 8 & 63)) & 255, seed >> 16 & 255))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(
            ">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(bytes(rows), 6)) + chunk(b"IEND", b""))


class Member:
    """One user's socket, read without blocking: what it heard, per sender."""

    def __init__(self, sock, buf, web):
        self.sock, self.buf, self.web = sock, buf, web
        self.sock.setblocking(False)
        self.heard = {}

    def frames(self):
        """The complete frames in the buffer: (sender pseudo) of each delivery."""
        out, buf, pos = [], self.buf, 0
        while True:
            if self.web:
                if len(buf) - pos < 2:
                    break
                n, head = buf[pos + 1] & 0x7F, 2
                if n == 126:
                    if len(buf) - pos < 4:
                        break
                    n, head = struct.unpack_from(">H", buf, pos + 2)[0], 4
                elif n == 127:
                    if len(buf) - pos < 10:
                        break
                    n, head = struct.unpack_from(">Q", buf, pos + 2)[0], 10
                if len(buf) - pos < head + n:
                    break
                m = json.loads(buf[pos + head:pos + head + n])
                pos += head + n
                if m.get("type") == "event" and m.get("kind") == "message":
                    out.append(m["pseudo"])
            else:
                if len(buf) - pos < 2:
                    break
                r = Reader(buf[pos:pos + 11])
                kind = r.u(1)
                try:
                    n = r.varint()
                except AssertionError:
                    break
                if len(buf) - pos < r.pos + n:
                    break
                if kind in (MESSAGE, IMAGE):
                    body = Reader(buf[pos + r.pos + 26:pos + r.pos + 26 + 64])
                    out.append(body.str())
                pos += r.pos + n
        self.buf = buf[pos:]
        return out


def join_all(mode, port):
    """Pseudos are new each run ("s<sender>q<run>"): a run's users' pseudos
    are held for their return a while after it (--return-grace)."""
    members, run = [], os.getpid()
    for i in range(USERS[mode]):
        pseudo = f"s{i}q{run}" if i < SENDERS[mode] else f"u{i}q{run}"
        if mode == "web":
            ws = WebSocket(port)
            ws.send_json({"type": "hello", "pseudo": pseudo})
            ws.until(lambda m: m.get("type") == "welcome")
            members.append(Member(ws.sock, ws.buf, True))
        else:
            p = BinaryPeer(port)
            p.join(pseudo)
            members.append(Member(p.sock, p.buf, False))
    return members


def masked(payload):
    """A client's WebSocket text frame (masked with zeros: the key is sent)."""
    n = len(payload)
    head = bytes([0x81]) + (bytes([0x80 | n]) if n < 126 else bytes([0x80 | 126]) + struct.pack(">H", n))
    return head + b"\0\0\0\0" + payload


def main():
    mode, port, pid, seconds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
    members = join_all(mode, port)
    senders = SENDERS[mode]
    others = len(members) - 1  # a sender does not hear itself
    time.sleep(1.0)  # the join notices drain
    for m in members:
        try:
            while m.sock.recv(1 << 20):
                pass
        except BlockingIOError:
            pass
        m.buf = b""
    picture = png()
    line = b"x" * 64

    def message(k):
        if mode == "web":
            return masked(json.dumps({"type": "say", "text": line.decode()}).encode())
        if mode == "pictures":
            return frame(IMAGE, bytes(24) + b"\xff\xff" + s("") + s("") + s("image/png") +
                         struct.pack(">II", 120, 80) + varint(len(picture)) + picture)
        return say(line)

    sent = [0] * senders
    got = [dict() for _ in range(senders)]  # sender -> message number -> receivers
    done = [0] * senders
    heard = [[0] * senders for _ in members]
    sel = selectors.DefaultSelector()
    for i, m in enumerate(members):
        sel.register(m.sock, selectors.EVENT_READ, i)

    def send_more(j):
        while sent[j] - done[j] < WINDOW[mode] and not stopping:
            members[j].sock.setblocking(True)
            members[j].sock.sendall(message(sent[j]))
            members[j].sock.setblocking(False)
            sent[j] += 1

    stopping = False
    deliveries = 0
    start = time.monotonic()
    ticks0 = cpu_ticks(pid)
    for j in range(senders):
        send_more(j)
    end = start + seconds
    while True:
        now = time.monotonic()
        if not stopping and now >= end:
            stopping = True
            measured, ticks = deliveries, cpu_ticks(pid) - ticks0
            elapsed = now - start
        if stopping and all(done[j] == sent[j] for j in range(senders)):
            break
        if now > end + 30:
            break
        for key, _ in sel.select(timeout=1.0):
            i = key.data
            m = members[i]
            try:
                data = m.sock.recv(1 << 20)
            except BlockingIOError:
                continue
            if not data:
                sys.exit(f"bench_paths: member {i} was disconnected")
            m.buf += data
            for pseudo in m.frames():
                j = int(pseudo[1:pseudo.index("q")]) if pseudo.startswith("s") else -1
                if not 0 <= j < senders:
                    continue
                k = heard[i][j]
                heard[i][j] += 1
                deliveries += 1
                got[j][k] = got[j].get(k, 0) + 1
                if got[j][k] == others:
                    del got[j][k]
                    done[j] += 1
                    send_more(j)
    expected = sum(sent) * others
    received = sum(map(sum, heard))
    hz = os.sysconf("SC_CLK_TCK")
    rate = measured / elapsed
    cpu_ns = ticks / hz * 1e9 / measured if measured else 0
    print(f"RESULT mode={mode} n={len(members)} s={senders} w={WINDOW[mode]} "
          f"sent={sum(sent)} expected={expected} received={received} lost={expected - received} "
          f"deliveries_per_s={rate:.0f} cpu_ns_per_delivery={cpu_ns:.0f}")
    return 0 if expected == received else 3


if __name__ == "__main__":
    sys.exit(main())
