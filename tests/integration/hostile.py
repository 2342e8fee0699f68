"""Hostile pictures, made here byte by byte (zlib and struct only), and the
pieces of a hostile server: what the security review sent (see
/work/shared/reviews/security-2026-11.md, H1, H2, M5, I6)."""

import json
import os
import socket
import struct
import threading
import time
import zlib

from conftest import STAMP
from wire import (HISTORY, IMAGE, MAGIC, MESSAGE, NOTICE, NOTICE_JOIN, WELCOME, Reader, frame,
                  hello, s, varint)

# ---- PNG ---------------------------------------------------------------------


def png_chunk(kind, data):
    return (struct.pack(">I", len(data)) + kind + data +
            struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))


def png(width, height, idat, colour_type=2, depth=8, interlace=0, extra=()):
    """A PNG around an already compressed IDAT stream; `extra` chunks go
    after IHDR."""
    ihdr = struct.pack(">IIBBBBB", width, height, depth, colour_type, 0, 0, interlace)
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) +
            b"".join(png_chunk(k, d) for k, d in extra) +
            png_chunk(b"IDAT", idat) + png_chunk(b"IEND", b""))


def zeros_stream(inflated):
    """A zlib stream of `inflated` zero bytes, made from one compressed MiB
    repeated (a full flush makes each copy stand alone): a 1 GiB stream
    costs 1 MB and no time to build."""
    mib = 1 << 20
    co = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = co.compress(b"\0" * mib) + co.flush(zlib.Z_FULL_FLUSH)
    whole, rest = divmod(inflated, mib)
    tail = co.compress(b"\0" * rest) + co.flush(zlib.Z_FINISH)
    adler = (1 + ((inflated % 65521) << 16)) & 0xFFFFFFFF  # a=1, b=n for zeros
    return b"\x78\xda" + block * whole + tail + struct.pack(">I", adler)


def png_bomb(inflated, width=1, height=1):
    """H1: says width x height, inflates to `inflated` bytes."""
    return png(width, height, zeros_stream(inflated))


def png_plain(width, height, level=6, noise=False, extra=()):
    """A legitimate RGB PNG: a gradient, or noise (which does not compress)."""
    if noise:
        raw = b"".join(b"\0" + os.urandom(3 * width) for _ in range(height))
    else:
        row = bytes((x * 255 // max(1, width - 1)) for x in range(width)) * 3
        raw = b"".join(b"\0" + row for _ in range(height))
    return png(width, height, zlib.compress(raw, level), extra=extra)


# ---- JPEG --------------------------------------------------------------------


def jpeg_segment(marker, data):
    return b"\xFF" + bytes([marker]) + struct.pack(">H", len(data) + 2) + data


def jpeg_scan_bomb(width, height, scans):
    """H2: a greyscale progressive JPEG whose every scan is an empty DC scan;
    a decoder walks every block once per scan."""
    dqt = jpeg_segment(0xDB, b"\x00" + bytes([1] * 64))
    sof2 = jpeg_segment(0xC2, struct.pack(">BHHB", 8, height, width, 1) + b"\x01\x11\x00")
    dht = jpeg_segment(0xC4, b"\x00" + bytes([1] + [0] * 15) + b"\x00")  # DC '0' -> 0
    sos = jpeg_segment(0xDA, b"\x01" + b"\x01\x00" + b"\x00\x00\x00")   # Ss=Se=0
    return b"\xFF\xD8" + dqt + sof2 + dht + sos * scans + b"\xFF\xD9"


def jpeg_tiny(extra=b""):
    """A valid 8x8 grey baseline JPEG; `extra` segments go after SOI."""
    dqt = jpeg_segment(0xDB, b"\x00" + bytes([1] * 64))
    sof0 = jpeg_segment(0xC0, struct.pack(">BHHB", 8, 8, 8, 1) + b"\x01\x11\x00")
    dht_dc = jpeg_segment(0xC4, b"\x00" + bytes([1] + [0] * 15) + b"\x00")
    dht_ac = jpeg_segment(0xC4, b"\x10" + bytes([1] + [0] * 15) + b"\x00")  # '0' -> EOB
    sos = jpeg_segment(0xDA, b"\x01\x01\x00\x00\x3F\x00")
    return b"\xFF\xD8" + extra + dqt + sof0 + dht_dc + dht_ac + sos + b"\x00" + b"\xFF\xD9"


def jpeg_padded(size):
    """M5: the 8x8 JPEG padded to `size` bytes with comment segments."""
    coms, left = [], size - len(jpeg_tiny())
    while left > 4:
        n = min(left - 4, 65533)
        coms.append(jpeg_segment(0xFE, b"p" * n))
        left -= n + 4
    return jpeg_tiny(b"".join(coms))


def with_exif(jpeg, secret):
    """I6: the JPEG with an APP1 Exif segment holding `secret` after SOI."""
    assert jpeg[:2] == b"\xFF\xD8"
    return jpeg[:2] + jpeg_segment(0xE1, b"Exif\0\0" + secret) + jpeg[2:]


# ---- frames ------------------------------------------------------------------


def image_frame(data, mime, width, height):
    """What a client sends: IMAGE with zeros for the id, time and user."""
    return frame(IMAGE, bytes(24) + b"\xff\xff" + s("") + s("") + s(mime) +
                 struct.pack(">II", width, height) + varint(len(data)) + data)


def server_image(event_id, pseudo, data, mime, width, height, room="general"):
    """What a server relays."""
    return frame(IMAGE, struct.pack(">QQQh", event_id, int(time.time() * 1000), 7, 28) +
                 s(pseudo) + s(room) + s(mime) + struct.pack(">II", width, height) +
                 varint(len(data)) + data)


def server_message(event_id, pseudo, text, room="general"):
    return frame(MESSAGE, struct.pack(">QQQh", event_id, int(time.time() * 1000), 8, 40) +
                 s(pseudo) + s(room) + s(text))


def server_history(room, events):
    return frame(HISTORY, s(room) + s(json.dumps(events)))


class HostileServer:
    """A fake chatroom server on a free port: it welcomes one client, then
    sends whatever the test gives it."""

    def __init__(self, features=0):
        """features: WELCOME's (issue 19; 1: it says it acknowledges
        numbered messages, and never does)."""
        self.features = features
        self.received = b""
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.conn = None
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        self.listener.settimeout(20)
        conn, _ = self.listener.accept()
        buf = b""
        while True:  # the magic, then HELLO
            chunk = conn.recv(65536)
            if not chunk:
                return
            buf += chunk
            if len(buf) > len(MAGIC) + 2:
                r = Reader(buf[len(MAGIC):])
                r.u(1)  # HELLO
                length = r.varint()
                if len(buf) >= len(MAGIC) + r.pos + length:
                    hello = buf[len(MAGIC) + r.pos:len(MAGIC) + r.pos + length]
                    break
        pseudo = Reader(hello[1:]).str()
        welcome = (b"\x01" + struct.pack(">Qh", 99, 33) + b"\x00" + s(bytes(32)) +
                   s(pseudo) + s("general"))
        if self.features:
            welcome += bytes([self.features])
        conn.sendall(frame(WELCOME, welcome))
        self.conn = conn
        threading.Thread(target=self._drain, daemon=True).start()
        self.ready.set()

    def _drain(self):
        """Reads what the client says (WHO_ASK, PING), kept in `received`."""
        try:
            while True:
                chunk = self.conn.recv(65536)
                if not chunk:
                    break
                self.received += chunk
        except OSError:
            pass

    def send(self, data):
        assert self.ready.wait(20), "the client never said hello"
        self.conn.sendall(data)

    def close(self):
        for sock in (self.conn, self.listener):
            if sock is not None:
                sock.close()


def join(peer, pseudo):
    """BinaryPeer.join, in a room where others talk meanwhile. A busy server
    may take a binary peer for a text one for a moment and send it a few
    lines before the frames: they are skipped, as the real client does
    (docs/protocol.md)."""
    peer.send(hello(pseudo))
    deadline = time.monotonic() + peer.timeout
    while True:
        while not peer.buf:
            peer._read_more(deadline)
        if peer.buf[0] < 0x20:
            break
        while b"\n" not in peer.buf:
            peer._read_more(deadline)
        peer.buf = peer.buf.split(b"\n", 1)[1]
    peer.expect(WELCOME)
    peer.until(NOTICE, kind=NOTICE_JOIN, pseudo=pseudo)
    return peer


def client_lines_until(client, wanted, timeout):
    """The real client's output lines (stamps removed, picture rows too)
    up to the one that is `wanted`; returns those before it."""
    deadline = time.monotonic() + timeout
    seen = []
    while True:
        line = STAMP.sub("", client.line(max(0.01, deadline - time.monotonic()),
                                         stamped=False))
        if line == wanted:
            return seen
        seen.append(line)


# ---- what the tests measure ------------------------------------------------------


def peak_rss_mib(pid):
    """VmHWM of a process, in MiB."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")


class Conversation:
    """Two text peers chatting beside an attack, from a thread: each line
    alice says is timed until bob reads it. `worst` is the longest wait."""

    def __init__(self, server, room=None):
        self.alice, self.bob = server.peer(), server.peer()
        self.alice.join("alice", room)
        self.bob.join("bob", room)
        self.alice.skip_until("Annonce : bob a rejoint " +
                              (f"le salon {room}" if room else "la chatroom"))
        self.worst, self.said, self.errors = 0.0, 0, []
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._talk, daemon=True)

    def _talk(self):
        try:
            while not self.stopping.is_set():
                self.said += 1
                sent = time.monotonic()
                self.alice.send(f"ligne {self.said}\n")
                want = f"alice a dit : ligne {self.said}"
                while True:
                    got = self.bob.line(timeout=30)
                    if got == want:
                        break
                self.worst = max(self.worst, time.monotonic() - sent)
                time.sleep(0.1)  # within the flood limit (10 a second)
        except (AssertionError, OSError) as e:
            self.errors.append(e)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        time.sleep(0.3)  # one more exchange after the attack
        self.stopping.set()
        self.thread.join(35)
        assert not self.errors, self.errors
        assert self.said >= 2, "the conversation never got going"
