"""The real client against a hostile server written here (security review
M2 and L5): nothing the server sends may drive the user's terminal, fill
the client's memory or reach undefined behaviour."""

import json
import shutil
import socket
import struct
import subprocess
import threading
import time

import pytest

from conftest import STAMP, TIMEOUT, Client, client_command
from wire import (HELLO, MAGIC, MESSAGE, NOTICE, NOTICE_INFO, NOTICE_JOIN, PING, PONG,
                  ROOMS_ASK, WHO_ASK, Reader, frame, s, varint)

WELCOME, ROOMS, WHO, HISTORY, IMAGE, ERROR = 2, 7, 10, 11, 13, 14
# 21 bytes, within the 32 a room name may take: a title, then a clear screen.
ESC_ROOM = "\x1b]0;PWNED-TITLE\x07\x1b[2J"
SHOWN_ROOM = "^[]0;PWNED-TITLE^G^[[2J"
OUR_ID = 7


def now_ms():
    return int(time.time() * 1000)


def welcome(room, user=OUR_ID, pseudo="victime"):
    return frame(WELCOME, bytes([1]) + struct.pack(">Qhb", user, 3, 0) + s(b"T" * 32)
                 + s(pseudo) + s(room))


def message(pseudo, room, text, user=9, event=1):
    return frame(MESSAGE, struct.pack(">QQQh", event, now_ms(), user, 5) + s(pseudo) + s(room)
                 + s(text))


def notice(kind, pseudo, room, user=9, text="", event=2):
    return frame(NOTICE, struct.pack(">QQBQh", event, now_ms(), kind, user, 5) + s(pseudo)
                 + s(room) + s(text))


def who(room, pseudos):
    return frame(WHO, s(room) + varint(len(pseudos))
                 + b"".join(s(p) + struct.pack(">I", 6) for p in pseudos))


def rooms(names):
    return frame(ROOMS, varint(len(names)) + b"".join(s(n) + struct.pack(">I", 1) for n in names))


class Hostile:
    """A one-connection server speaking the binary protocol as `script` says."""

    def __init__(self, script):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.buf = b""
        self.error = None
        self.thread = threading.Thread(target=self._serve, args=(script,), daemon=True)
        self.thread.start()

    def _serve(self, script):
        try:
            self.listener.settimeout(TIMEOUT)
            self.sock, _ = self.listener.accept()
            self.sock.settimeout(TIMEOUT)
            assert self._take(len(MAGIC)) == MAGIC
            script(self)
        except Exception as e:  # reported by finish()
            self.error = e

    def _take(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def next(self):
        """The client's next frame as (type, Reader), or None at its EOF."""
        try:
            kind = self._take(1)[0]
            length = shift = 0
            while True:
                b = self._take(1)[0]
                length |= (b & 0x7F) << shift
                shift += 7
                if not b & 0x80:
                    break
            return kind, Reader(self._take(length))
        except (EOFError, ConnectionResetError):
            return None

    def send(self, data):
        self.sock.sendall(data)

    def serve(self, on_hello, answers=None):
        """Answers the hello with on_hello(), then WHO_ASK, ROOMS_ASK and
        PING as `answers` says, until the client goes."""
        answers = answers or {}
        while (f := self.next()) is not None:
            kind, r = f
            if kind == HELLO:
                self.send(on_hello())
            elif kind in answers:
                self.send(answers[kind])
            elif kind == PING:
                self.send(frame(PONG, r.take(8)))

    def finish(self):
        self.thread.join(TIMEOUT)
        self.listener.close()
        if self.error is not None:
            raise self.error


def escapes(h):
    """Escape sequences in every string the client might show: the rooms
    of WHO, ROOMS, HISTORY, MESSAGE and NOTICE, an info notice, an error."""
    history = [{"id": 1, "time": now_ms(), "room": ESC_ROOM, "kind": "join", "user": 9,
                "pseudo": "mallory", "colour": 5}]
    h.serve(lambda: (welcome("general")
                     + frame(HISTORY, s(ESC_ROOM) + s(json.dumps(history)))
                     + notice(NOTICE_JOIN, "victime", "general", user=OUR_ID)
                     + notice(NOTICE_JOIN, "mallory", ESC_ROOM)
                     + message("mallory", ESC_ROOM, "coucou")
                     + notice(NOTICE_INFO, "", ESC_ROOM, text=f"info {ESC_ROOM}")
                     + frame(ERROR, struct.pack(">H", 11) + s(f"non {ESC_ROOM}"))),
            {WHO_ASK: who(ESC_ROOM, ["mallory"]), ROOMS_ASK: rooms([ESC_ROOM, "general"])})


def lines_until(client, wanted, timeout=TIMEOUT):
    """The client's lines up to `wanted`, stamps cut (a picture's drawing
    comes on lines without one); none may hold ESC or BEL."""
    seen = []
    while True:
        line = STAMP.sub("", client.line(timeout, stamped=False))
        assert_harmless(line.encode(), "stdout")
        if line == wanted:
            return seen
        seen.append(line)


def assert_harmless(data, where):
    assert b"\x1b" not in data and b"\x07" not in data, f"{where}: {data!r}"


def test_plain_client_shows_hostile_strings_harmlessly(tmp_path):
    h = Hostile(escapes)
    log = tmp_path / "client.log"
    client = Client(h.port, "-n", "victime", "-r", "general", "--log", str(log))
    seen = lines_until(client, "Annonce : victime a rejoint la chatroom")
    client.type("/who\n")
    seen += lines_until(client, f"Présents dans {SHOWN_ROOM} : mallory")
    client.type("/rooms\n")
    seen += lines_until(client, f"Salons : {SHOWN_ROOM} (1), general (1)")
    client.proc.stdin.close()
    code, err = client.wait()
    h.finish()
    assert code == 0, err
    assert f"── historique du salon {SHOWN_ROOM} ──" in seen
    assert f"Annonce : mallory a rejoint le salon {SHOWN_ROOM}" in seen
    assert f"Erreur : non {SHOWN_ROOM}" in seen
    assert_harmless("\n".join(seen).encode(), "stdout")
    assert_harmless(err.encode(), "stderr")
    assert_harmless(log.read_bytes(), "log")
    assert f"Présents dans {SHOWN_ROOM} : mallory" in log.read_text()


@pytest.mark.parametrize("how", ["welcome", "join"])
def test_an_invalid_room_for_us_ends_the_session(how):
    def script(h):
        if how == "welcome":
            h.serve(lambda: welcome(ESC_ROOM))
        else:
            h.serve(lambda: welcome("general") + notice(NOTICE_JOIN, "victime", ESC_ROOM,
                                                        user=OUR_ID))
    h = Hostile(script)
    client = Client(h.port, "-n", "victime", "-r", "general")
    try:
        client.proc.wait(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        client.kill()
        raise AssertionError("the client stayed with that room")
    out = client.proc.stdout.read()
    code, err = client.wait()
    h.finish()
    assert code == 1, err
    assert "chatroom: the server sent an invalid room name" in err, err
    assert_harmless(err.encode() + out, "output")


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux missing")
def test_full_screen_client_keeps_its_terminal(tmux):
    h = Hostile(escapes)
    tmux.start("c", client_command(h.port) + " -n victime -r general --log none")
    tmux.wait_for("c", "Annonce : victime a rejoint la chatroom")
    title = tmux.run("display-message", "-p", "-t", tmux.target("c"), "#{pane_title}").strip()
    tmux.keys("c", "-l", "/who")
    tmux.keys("c", "Enter")
    tmux.wait_for("c", f"Présents dans {SHOWN_ROOM} : mallory")
    tmux.keys("c", "-l", "/quit")
    tmux.keys("c", "Enter")
    screen = tmux.wait_for("c", "[exit 0]")
    h.finish()
    # The last lines stay on the terminal, shown, not obeyed: the same
    # title, and the screen was not cleared.
    assert "PWNED" not in title
    assert tmux.run("display-message", "-p", "-t", tmux.target("c"),
                    "#{pane_title}").strip() == title
    assert f"Présents dans {SHOWN_ROOM} : mallory" in screen


# ---- L5: what the client spends for a hostile server ---------------------------------

def peak_rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        return next(int(l.split()[1]) for l in f if l.startswith("VmHWM:"))


FLOOD_PINGS = 3_000_000  # 30 MB on the wire


def test_a_ping_flood_does_not_fill_the_client():
    """The server sends three million PINGs and never reads: the client answers
    at most one at a time, so its memory stays put (one queued PONG each
    took 1.7 GB in 12 s), and it goes on showing what comes after."""
    def flood(h):
        while (f := h.next()) is not None and f[0] != HELLO:
            pass
        h.send(welcome("general"))
        batch = b"".join(frame(PING, struct.pack(">Q", i)) for i in range(10_000))
        started = time.monotonic()
        for _ in range(FLOOD_PINGS // 10_000):
            h.send(batch)
        h.send(message("mallory", "general", "toujours là"))
        h.seconds = time.monotonic() - started
        while h.next() is not None:  # reads at last, so the client can leave
            pass

    h = Hostile(flood)
    client = Client(h.port, "-n", "victime", "-r", "general")
    lines_until(client, "mallory a dit : toujours là", timeout=TIMEOUT * 6)
    peak = peak_rss_kib(client.proc.pid)
    print(f"client peak RSS after {FLOOD_PINGS} PINGs in {h.seconds:.1f} s: {peak // 1024} MiB")
    assert peak < 100 * 1024, f"{peak // 1024} MiB"
    client.proc.stdin.close()
    code, err = client.wait(timeout=TIMEOUT * 3)
    h.finish()
    assert code == 0, err


def test_absurd_numbers_are_clamped():
    """History JSON and a picture frame with numbers past every range: shown
    clamped (a float-to-int cast out of range is undefined behaviour, which
    GCC's UBSan does not check, so the values shown are what is asserted)."""
    events = ('[{"id":1e300,"time":1e300,"room":"general","kind":"image","user":1,'
              '"pseudo":"m","colour":1e300,"width":1e300,"height":-1e300,"text":"X"},'
              '{"id":-1e300,"time":-1e400,"room":"general","kind":"message","user":2,'
              '"pseudo":"n","colour":-1e400,"text":"bonjour"},'
              '{"id":2,"time":5,"room":"general","kind":"image","user":1,'
              '"pseudo":"o","colour":3.5,"width":1e400,"height":12.7,"text":"Y"}]')
    picture = frame(IMAGE, struct.pack(">QQQh", 3, now_ms(), 9, 300) + s("p") + s("general")
                    + s("image/png") + struct.pack(">II", 0xFFFFFFFF, 0x80000000)
                    + s(b"pas une image"))

    def script(h):
        h.serve(lambda: (welcome("general") + frame(HISTORY, s("general") + s(events))
                         + notice(NOTICE_JOIN, "victime", "general", user=OUR_ID)
                         + picture))
    h = Hostile(script)
    client = Client(h.port, "-n", "victime", "-r", "general")
    seen = lines_until(client, "Annonce : victime a rejoint la chatroom")
    assert seen[0] == "── historique du salon general ──"
    assert seen[1] == "m a envoyé une image (2147483647×0) :"
    assert "n a dit : bonjour" in seen
    assert "o a envoyé une image (2147483647×12) :" in seen
    shown = STAMP.sub("", client.line(stamped=False))
    assert shown == "p a envoyé une image (2147483647×2147483647) :", shown
    client.proc.stdin.close()
    code, err = client.wait()
    h.finish()
    assert code == 0, err
