"""What the README and docs/protocol.md promise, checked as a user would
(issue 14): room counts before the hello, the documented error code of a
server-only frame, host names for the server, the plain client's own lines,
emoji sequences in the input line, and `make run PORT=8889`."""

import os
import re
import select
import shutil
import socket
import subprocess
import time
import unicodedata

import pytest

from conftest import (ROOT, SERVER_BIN, TIMEOUT, Client, child_env,
                      client_command)
from wire import (ERROR, HISTORY, MESSAGE, NOTICE, ROOMS, ROOMS_ASK, WELCOME, WHO,
                  BinaryPeer, frame, s, varint)


# ---- 1. who counts as a member -------------------------------------------------

def test_rooms_count_only_members_the_others_see(server):
    """A binary peer that has not been welcomed is in no room as far as the
    others can tell (it is in no WHO, gets no live event): /rooms and
    ROOMS leave it out, the asker included."""
    early = BinaryPeer(server.port)
    early.send(frame(ROOMS_ASK))
    assert early.expect(ROOMS)["rooms"] == {"general": 0}
    named = BinaryPeer(server.port)
    named.join("nommé")
    early.send(frame(ROOMS_ASK))
    assert early.expect(ROOMS)["rooms"] == {"general": 1}
    # A text peer listens from the start (it gets every message and /who
    # lists it): it counts, itself included; the unwelcomed binary peer not.
    listener = server.peer()
    listener.send("/rooms\n")
    assert listener.line() == "Salons : general (2)"
    early.join("tardif")
    listener.skip_until("Annonce : tardif a rejoint la chatroom")
    listener.send("/rooms\n")
    assert listener.line() == "Salons : general (3)"


# ---- 2. the error code of a server-only frame ---------------------------------------

def documented_code(meaning):
    """The error code whose row in docs/protocol.md mentions `meaning`."""
    text = (ROOT / "docs" / "protocol.md").read_text()
    table = text[text.index("### Error codes"):]
    rows = [r for r in re.findall(r"^\| (\d+) \| ([^|]*) \|", table, re.M) if meaning in r[1]]
    assert len(rows) == 1, rows
    return int(rows[0][0])


SERVER_ONLY = {
    "WELCOME": frame(WELCOME, bytes([1]) + bytes(8) + b"\0\1\0" + s(b"t" * 32) + s("x") + s("")),
    "MESSAGE": frame(MESSAGE, bytes(24) + b"\0\1" + s("x") + s("") + s("hi")),
    "NOTICE": frame(NOTICE, bytes(16) + b"\4" + bytes(8) + b"\0\1" + s("x") + s("") + s("")),
    "ROOMS": frame(ROOMS, varint(0)),
    "WHO": frame(WHO, s("general") + varint(0)),
    "HISTORY": frame(HISTORY, s("general") + s("[]")),
    "ERROR": frame(ERROR, b"\0\2" + s("non")),
}


@pytest.mark.parametrize("name", SERVER_ONLY)
def test_a_server_only_frame_gets_the_documented_error(server, name):
    code = documented_code("server-only")
    peer = BinaryPeer(server.port)
    peer.join(f"client{name.lower()}")
    peer.send(SERVER_ONLY[name])
    err = peer.until(ERROR)
    assert err["code"] == code, (name, err)
    assert peer.closed()  # as the table says ("closed")


# ---- 3. host names for the server ----------------------------------------------------

def start_with(args=(), env_extra=None, conf=None, tmp_path=None):
    """Runs the server with these settings; returns (process, first lines)."""
    env = child_env()
    env.pop("CHATROOM_HOST", None)
    env.update(env_extra or {})
    argv = [str(SERVER_BIN), "-p", "0", "--history", "none", "--log", "none", *args]
    if conf is not None:
        path = tmp_path / "server.conf"
        path.write_text(conf)
        argv += ["-c", str(path)]
    return subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, stdin=subprocess.DEVNULL)


HOST_ORIGINS = {
    "option": lambda host: {"args": ["-a", host]},
    "env": lambda host: {"env_extra": {"CHATROOM_HOST": host}},
    "file": lambda host: {"conf": f"# the test's\nHOST={host}\n"},
}


def read_until(proc, pattern):
    """Reads the server's console until a line matches; returns the match
    (None when it exits first)."""
    # Read from the descriptor: several lines arriving at once would sit in
    # the file object's buffer, where select() does not see them.
    deadline = time.monotonic() + TIMEOUT
    seen = ""
    fd = proc.stdout.fileno()
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            chunk = os.read(fd, 65536).decode(errors="replace")
            if not chunk:
                return None
            seen += chunk
            m = re.search(pattern, seen)
            if m:
                return m
    raise AssertionError(f"{pattern!r} not seen in time:\n{seen}")


@pytest.mark.parametrize("origin", HOST_ORIGINS)
def test_server_listens_on_a_host_name(tmp_path, origin):
    proc = start_with(tmp_path=tmp_path, **HOST_ORIGINS[origin]("localhost"))
    try:
        m = read_until(proc, r"listening on (127\.0\.0\.1|::1):(\d+)")
        assert m, proc.communicate(timeout=TIMEOUT)
        family = socket.AF_INET6 if m.group(1) == "::1" else socket.AF_INET
        with socket.socket(family) as sock:
            sock.settimeout(TIMEOUT)
            sock.connect((m.group(1), int(m.group(2))))
            sock.sendall(b"Hello\n")
            assert sock.recv(100).startswith(b"Hello ")
    finally:
        proc.terminate()
        proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == 0


@pytest.mark.parametrize("origin, named", [
    ("option", "--address 'nulle-part.invalid'"),
    ("env", "CHATROOM_HOST 'nulle-part.invalid'"),
    ("file", "server.conf:2: HOST 'nulle-part.invalid'"),
])
def test_an_unknown_host_name_is_a_clear_error(tmp_path, origin, named):
    proc = start_with(tmp_path=tmp_path, **HOST_ORIGINS[origin]("nulle-part.invalid"))
    out, err = proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == 2, (out, err)
    assert err.startswith("chatroom-server: "), err
    assert f"{named}: cannot resolve this host name" in err, err
    assert "listening" not in out


# ---- 4. the plain client's own lines -------------------------------------------------

def test_plain_client_shows_and_logs_what_it_says(server, tmp_path):
    log = tmp_path / "client.log"
    watcher = server.peer()
    watcher.join("w")
    client = Client(server.port, "-n", "moi", "--log", str(log))
    client.skip_until("Annonce : moi a rejoint la chatroom")
    client.type("bonjour\n")
    watcher.skip_until("moi a dit : bonjour")
    client.expect("Vous avez dit : bonjour")
    watcher.send("salut\n")
    client.expect("w a dit : salut")
    client.proc.stdin.close()
    assert client.wait()[0] == 0
    lines = [l.split("  ", 1)[1] for l in log.read_text().splitlines() if "  [" in l]
    said = [re.sub(r"^\[\d\d:\d\d\] ", "", l) for l in lines]
    assert said[-2:] == ["Vous avez dit : bonjour", "w a dit : salut"], said


# ---- 7. emoji sequences in the input line (tmux) --------------------------------------

def wcwidth(ch):
    if unicodedata.combining(ch) or ch in "\u200b\u200c\u200d\ufe0e\ufe0f":
        return 0
    return 2 if unicodedata.east_asian_width(ch) in "WF" else 1


def input_row(tmux):
    """The input row as drawn, and the cursor's column."""
    rows = tmux.screen("c").splitlines()
    row = next(r for r in reversed(rows) if r.startswith(">"))
    x = int(tmux.run("display-message", "-p", "-t", tmux.target("c"), "#{cursor_x}"))
    return row.rstrip(), x


def wait_row(tmux, wanted):
    """Waits until the input row reads `wanted` with the cursor right after
    its last character; fails with what was there."""
    deadline = time.monotonic() + TIMEOUT
    while True:
        row, x = input_row(tmux)
        if row == wanted.rstrip() and x == sum(wcwidth(c) for c in wanted):
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"input row {row!r}, cursor at {x}; wanted {wanted!r} "
                                 f"and {sum(wcwidth(c) for c in wanted)}")
        time.sleep(0.05)


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux missing")
def test_emoji_sequences_never_corrupt_the_input_line(server, tmux):
    tmux.start("c", client_command(server.port) + " -n emoji -r general", width=60, height=12)
    tmux.wait_for("c", "Annonce : emoji a rejoint la chatroom")
    other = server.peer()
    other.join("autre")
    tmux.wait_for("c", "Annonce : autre a rejoint la chatroom")
    # Typed one by one: what tmux 3.3 joins (ZWJ) and what it does not
    # (a skin tone) are both drawn in cells every terminal agrees on.
    for key in ("x", "\U0001F469\u200d\U0001F4BB", "Z"):
        tmux.keys("c", "-l", key)
    wait_row(tmux, "> x\U0001F469\U0001F4BBZ")
    tmux.keys("c", "Left")
    tmux.keys("c", "-l", "\U0001F44D\U0001F3FD")
    deadline = time.monotonic() + TIMEOUT
    while input_row(tmux) != ("> x\U0001F469\U0001F4BB\U0001F44DZ", 9):
        assert time.monotonic() < deadline, input_row(tmux)
        time.sleep(0.05)
    tmux.keys("c", "Enter")
    # What is sent is what was typed, joiners and skin tone included.
    other.expect("emoji a dit : x\U0001F469\u200d\U0001F4BB\U0001F44D\U0001F3FDZ")
    wait_row(tmux, "> ")
    # A paste keeps the prompt, and so does an edit in the middle of it.
    tmux.run("set-buffer", "-b", "p", "x\U0001F468\u200d\U0001F469\u200d\U0001F467Z")
    tmux.run("paste-buffer", "-p", "-b", "p", "-t", tmux.target("c"))
    wait_row(tmux, "> x\U0001F468\U0001F469\U0001F467Z")
    tmux.keys("c", "Home")
    tmux.keys("c", "-l", "\u2764\ufe0f")
    tmux.keys("c", "End")
    wait_row(tmux, "> \u2764x\U0001F468\U0001F469\U0001F467Z")
    tmux.keys("c", "BSpace")
    tmux.keys("c", "BSpace")
    wait_row(tmux, "> \u2764x")
    tmux.keys("c", "Enter")
    other.expect("emoji a dit : \u2764\ufe0fx")


# ---- 8. the port of the course's clients ---------------------------------------------

def test_readme_says_how_to_run_on_the_course_port():
    readme = (ROOT / "README.md").read_text()
    assert "make run PORT=8889" in readme
    # ... and the Makefile does what the README says.
    out = subprocess.run(["make", "-n", "run", "PORT=8889"], cwd=ROOT, capture_output=True,
                         text=True, timeout=TIMEOUT).stdout
    assert re.search(r"chatroom-server -a 127\.0\.0\.1 -p 8889$", out, re.M), out
