"""A small WebSocket client (RFC 6455) written for the tests from the RFC,
independent of the server's library: a handshake with any Origin, masked
text frames out, frames in. Speaks the JSON protocol of docs/protocol.md
through send_json / recv_json."""

import base64
import json
import os
import socket
import struct
import time

TIMEOUT = 10.0


class HandshakeRefused(Exception):
    pass


class WebSocket:
    def __init__(self, port, path="/ws", origin=None, host=None, timeout=TIMEOUT, wrap=None):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        if wrap is not None:  # wss://: wrap(sock) returns it over TLS
            self.sock = wrap(self.sock)
        self.timeout = timeout
        self.buf = b""
        key = base64.b64encode(os.urandom(16)).decode()
        host = host or f"127.0.0.1:{port}"
        lines = [f"GET {path} HTTP/1.1", f"Host: {host}", "Upgrade: websocket",
                 "Connection: Upgrade", f"Sec-WebSocket-Key: {key}",
                 "Sec-WebSocket-Version: 13"]
        if origin is not None:
            lines.append(f"Origin: {origin}")
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        head = self._until(b"\r\n\r\n")
        status = head.split(b"\r\n", 1)[0]
        if b" 101 " not in status + b" ":
            raise HandshakeRefused(status.decode(errors="replace"))

    def _fill(self, deadline):
        self.sock.settimeout(max(0.01, deadline - time.monotonic()))
        data = self.sock.recv(65536)
        if not data:
            raise ConnectionError("closed")
        self.buf += data

    def _until(self, mark):
        deadline = time.monotonic() + self.timeout
        while mark not in self.buf:
            try:
                self._fill(deadline)
            except ConnectionError:
                raise HandshakeRefused("closed before the handshake")
        head, self.buf = self.buf.split(mark, 1)
        return head

    def _take(self, n, deadline):
        while len(self.buf) < n:
            self._fill(deadline)
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def send_frame(self, payload, opcode=1, fin=True):
        mask = os.urandom(4)
        head = bytes([(0x80 if fin else 0) | opcode])
        n = len(payload)
        if n < 126:
            head += bytes([0x80 | n])
        elif n < 65536:
            head += bytes([0x80 | 126]) + struct.pack(">H", n)
        else:
            head += bytes([0x80 | 127]) + struct.pack(">Q", n)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload)) if n < 65536 \
            else (int.from_bytes(payload, "big") ^ int.from_bytes(
                (mask * (n // 4 + 1))[:n], "big")).to_bytes(n, "big")
        self.sock.sendall(head + mask + masked)

    def send_json(self, obj):
        self.send_frame(json.dumps(obj).encode())

    def recv_frame(self, timeout=None):
        """(opcode, payload) of the next whole message; pings answered."""
        deadline = time.monotonic() + (timeout or self.timeout)
        data = b""
        while True:
            b0, b1 = self._take(2, deadline)
            n = b1 & 0x7F
            if n == 126:
                n = struct.unpack(">H", self._take(2, deadline))[0]
            elif n == 127:
                n = struct.unpack(">Q", self._take(8, deadline))[0]
            payload = self._take(n, deadline)
            opcode = b0 & 0x0F
            if opcode == 9:
                self.send_frame(payload, opcode=10)
                continue
            if opcode == 8:
                return 8, payload
            data += payload
            if b0 & 0x80:
                return opcode, data

    def recv_json(self, timeout=None):
        opcode, payload = self.recv_frame(timeout)
        if opcode == 8:
            raise ConnectionError("closed by the server")
        return json.loads(payload)

    def until(self, pred, timeout=None):
        """The first message pred accepts (those before it are dropped)."""
        deadline = time.monotonic() + (timeout or self.timeout)
        seen = []
        while time.monotonic() < deadline:
            m = self.recv_json(deadline - time.monotonic())
            if pred(m):
                return m
            seen.append(m)
        raise AssertionError(f"not received; saw {seen}")

    def silent(self, wait=0.3):
        try:
            self.sock.settimeout(wait)
            if self.buf:
                return False
            return not self.sock.recv(1, socket.MSG_PEEK)
        except socket.timeout:
            return True

    def closed(self, timeout=None):
        """True once the server has closed (a close frame or EOF)."""
        deadline = time.monotonic() + (timeout or self.timeout)
        try:
            while time.monotonic() < deadline:
                opcode, _ = self.recv_frame(deadline - time.monotonic())
                if opcode == 8:
                    return True
        except (ConnectionError, OSError):
            return True
        return False

    def close(self):
        self.sock.close()


def hello(port, pseudo, room=None, **kw):
    """A WebSocket that said hello; returns (ws, welcome, history)."""
    ws = WebSocket(port, **kw)
    msg = {"type": "hello", "pseudo": pseudo}
    if room:
        msg["room"] = room
    ws.send_json(msg)
    welcome = ws.until(lambda m: m.get("type") in ("welcome", "error"))
    assert welcome["type"] == "welcome", welcome
    history = ws.until(lambda m: m.get("type") == "history")
    return ws, welcome, history
