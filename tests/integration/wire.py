"""A small Python codec of chatroom's binary protocol (docs/protocol.md),
written from the document, for black-box tests of the server."""

import socket
import struct
import time

MAGIC = b"\0CHAT\1"
HELLO, WELCOME, SAY, MESSAGE, NOTICE, ROOMS_ASK, ROOMS, JOIN, WHO_ASK, WHO, \
    HISTORY, HISTORY_ASK, IMAGE, ERROR, PING, PONG = range(1, 17)
NOTICE_JOIN, NOTICE_LEAVE, NOTICE_RETURN, NOTICE_INFO = 1, 2, 3, 4
# Issue 16: a "/…" line for the server's command table, and its answers.
COMMAND = 0x11
NOTICE_ACTION, NOTICE_NICK, NOTICE_TOPIC, NOTICE_PRIVATE = 5, 6, 7, 8
ERR_REFUSED = 13
# Issue 19: numbered SAYs and their acknowledgement; WELCOME's features.
ACK = 0x15
SERVER_ACKS = 1


def varint(n):
    out = b""
    while n >= 0x80:
        out += bytes([0x80 | (n & 0x7F)])
        n >>= 7
    return out + bytes([n])


def s(value):
    if isinstance(value, str):
        value = value.encode()
    return varint(len(value)) + value


def frame(kind, payload=b""):
    return bytes([kind]) + varint(len(payload)) + payload


def hello(pseudo, room="", token=b"", after=0, version=1, features=0, identity=b""):
    """Features (several rooms) then the identity secret came later: each
    is sent only when asked for, the features byte first."""
    payload = bytes([version]) + s(pseudo) + s(room) + s(token) + struct.pack(">Q", after)
    if features or identity:
        payload += bytes([features])
    if identity:
        payload += s(identity)
    return frame(HELLO, payload)


def say(text, room="", msg_id=0):
    """A message id (issue 19) comes after the room, sent even empty."""
    payload = s(text)
    if room or msg_id:
        payload += s(room)
    if msg_id:
        payload += struct.pack(">Q", msg_id)
    return frame(SAY, payload)


def command(line):
    return frame(COMMAND, s(line))


class Reader:
    def __init__(self, data):
        self.data, self.pos = data, 0

    def take(self, n):
        chunk = self.data[self.pos:self.pos + n]
        assert len(chunk) == n, "short frame"
        self.pos += n
        return chunk

    def u(self, n):
        return int.from_bytes(self.take(n), "big")

    def varint(self):
        n = shift = 0
        while True:
            b = self.take(1)[0]
            n |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                return n

    def bytes(self):
        return self.take(self.varint())

    def str(self):
        return self.bytes().decode()


def decode(kind, payload):
    r = Reader(payload)
    m = {"type": kind}
    if kind == WELCOME:
        m.update(version=r.u(1), user=r.u(8), colour=struct.unpack(">h", r.take(2))[0],
                 returning=bool(r.u(1)), token=r.bytes(), pseudo=r.str(), room=r.str())
        m["features"] = r.u(1) if r.pos < len(payload) else 0
    elif kind in (MESSAGE, NOTICE):
        m.update(id=r.u(8), time=r.u(8))
        if kind == NOTICE:
            m["kind"] = r.u(1)
        m.update(user=r.u(8), colour=struct.unpack(">h", r.take(2))[0], pseudo=r.str(),
                 room=r.str(), text=r.str())
    elif kind == IMAGE:
        m.update(id=r.u(8), time=r.u(8), user=r.u(8), colour=struct.unpack(">h", r.take(2))[0],
                 pseudo=r.str(), room=r.str(), mime=r.str(), width=r.u(4), height=r.u(4),
                 data=r.bytes())
    elif kind == ROOMS:
        m["rooms"] = {r.str(): r.u(4) for _ in range(r.varint())}
    elif kind == WHO:
        m["room"] = r.str()
        m["members"] = {r.str(): r.u(4) - 1 for _ in range(r.varint())}
    elif kind == HISTORY:
        m.update(room=r.str(), json=r.str())
    elif kind == ERROR:
        m.update(code=r.u(2), text=r.str())
    elif kind == ACK:
        m.update(msg_id=r.u(8), id=r.u(8))
    elif kind in (PING, PONG):
        m["nonce"] = r.u(8)
    return m


class BinaryPeer:
    """A raw binary-protocol peer."""

    def __init__(self, port, timeout=10.0):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.timeout = timeout
        self.buf = b""
        self.sock.sendall(MAGIC)

    def send(self, data):
        self.sock.sendall(data)

    def _read_more(self, deadline):
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"no frame in time (have {self.buf!r})")
        self.sock.settimeout(left)
        try:
            chunk = self.sock.recv(65536)
        except socket.timeout:
            return
        if not chunk:
            raise AssertionError(f"connection closed (have {self.buf!r})")
        self.buf += chunk

    def next(self, timeout=None):
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            if len(self.buf) >= 2:
                r = Reader(self.buf)
                kind = r.u(1)
                try:
                    length = r.varint()
                except AssertionError:
                    length = None
                if length is not None and len(self.buf) >= r.pos + length:
                    payload = self.buf[r.pos:r.pos + length]
                    self.buf = self.buf[r.pos + length:]
                    return decode(kind, payload)
            self._read_more(deadline)

    def expect(self, frame_type, **fields):
        m = self.next()
        assert m["type"] == frame_type, m
        for k, v in fields.items():
            assert m[k] == v, (k, m)
        return m

    def until(self, frame_type, **fields):
        """Skips frames up to the first of that type with those fields."""
        while True:
            m = self.next()
            if m["type"] == frame_type and all(m.get(k) == v for k, v in fields.items()):
                return m

    def join(self, pseudo, room=""):
        self.send(hello(pseudo, room))
        w = self.expect(WELCOME)
        self.welcome = w
        h = self.next()
        if h["type"] == HISTORY:
            self.history = h
            h = self.next()
        assert h["type"] == NOTICE and h["kind"] == NOTICE_JOIN and h["pseudo"] == pseudo, h
        return w

    def closed(self, timeout=None):
        deadline = time.monotonic() + (timeout or self.timeout)
        try:
            while time.monotonic() < deadline:
                self._read_more(deadline)
        except AssertionError as e:
            return "connection closed" in str(e)
        except ConnectionResetError:
            return True
        return False

    def close(self):
        self.sock.close()
