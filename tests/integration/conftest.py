"""Shared fixtures: the real chatroom-server on a free loopback port, raw
socket peers speaking the text protocol, and the real chatroom client.

CHATROOM_BUILD names the build directory whose binaries are tested (the
Makefile runs the suite on the normal and on the sanitizer build)."""

import atexit
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("CHATROOM_BUILD", ROOT / "build"))
SANITIZED = os.environ.get("CHATROOM_SANITIZED") == "1"
VALGRIND = os.environ.get("CHATROOM_VALGRIND") == "1"
# Under valgrind every program runs through memcheck; any error or definite
# leak makes it exit 99, which every test notices.
VALGRIND_PREFIX = ["valgrind", "-q", "--error-exitcode=99", "--leak-check=full",
                   "--show-leak-kinds=definite", "--errors-for-leak-kinds=definite"] \
    if VALGRIND else []
SERVER_BIN = BUILD / "chatroom-server"
CLIENT_BIN = BUILD / "chatroom"

# Sanitizer reports must fail the test that caused them, not pass quietly.
SANITIZER_ENV = {
    "ASAN_OPTIONS": "detect_leaks=1:abort_on_error=0:exitcode=66",
    "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1",
}
SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                   # memcheck's (make test-valgrind), whose exit status few tests read
                   "Invalid read of size", "Invalid write of size", "Invalid free()",
                   "Mismatched free()", "uninitialised value", "definitely lost in",
                   "Syscall param")

# The clients' state directory for the whole run (their sessions file),
# removed when the run ends (each xdist worker makes its own).
STATE_HOME = tempfile.mkdtemp(prefix="chatroom-state-")
atexit.register(shutil.rmtree, STATE_HOME, ignore_errors=True)

# Generous: a sanitized build on a busy two-core machine is slow.
TIMEOUT = 40.0 if VALGRIND else 20.0 if SANITIZED else 10.0


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "slow_under_asan: timing-sensitive, skipped on the sanitizer "
        "and valgrind runs")


def child_env(lang="fr"):
    env = dict(os.environ)
    env.update(SANITIZER_ENV)
    # Clients never write the machine's own log; tests that want a log
    # give one. (Options beat the environment.)
    env["CHATROOM_LOG"] = "none"
    # The course's words, whatever this machine's locale (a test of the
    # settings' own English asks for "en").
    env["CHATROOM_LANG"] = lang
    # Resume tokens kept between runs (the client's sessions file) stay
    # out of the machine's home.
    env["XDG_STATE_HOME"] = STATE_HOME
    return env


def assert_no_sanitizer_report(text, who):
    for mark in SANITIZER_MARKS:
        assert mark not in text, f"{who} sanitizer report:\n{text[-4000:]}"


class Server:
    """A chatroom-server process; its console log goes to a file."""

    def __init__(self, tmp_path, *args):
        stamp = time.monotonic_ns()
        self.log_path = tmp_path / f"server-{stamp}.log"
        self.log_file = open(self.log_path, "wb")
        if "--history" not in args:  # never the machine's own files
            self.history_path = tmp_path / f"history-{stamp}.jsonl"
            args = ("--history", str(self.history_path), *args)
        if "--log" not in args:
            self.chatlog_path = tmp_path / f"conversation-{stamp}.log"
            args = ("--log", str(self.chatlog_path), *args)
        # CHATROOM_SERVER_ARGS: options for every server of the run (say
        # --no-io-uring, to run a file's tests through that path too).
        args = (*args, *os.environ.get("CHATROOM_SERVER_ARGS", "").split())
        self.args = args
        self.proc = subprocess.Popen(
            [*VALGRIND_PREFIX, str(SERVER_BIN), "-a", "127.0.0.1", "-p", "0", *args],
            stdout=self.log_file, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, env=child_env())
        self.port = self._wait_for_port()

    def _wait_for_port(self):
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            m = re.search(r"listening on 127\.0\.0\.1:(\d+)", self.log())
            if m:
                return int(m.group(1))
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited early:\n{self.log()}")
            time.sleep(0.02)
        raise AssertionError(f"server did not start:\n{self.log()}")

    def log(self):
        return self.log_path.read_text(errors="replace")

    def wait_log(self, pattern, timeout=TIMEOUT):
        """Waits until the console log matches the regex; returns the match."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            m = re.search(pattern, self.log())
            if m:
                return m
            time.sleep(0.02)
        raise AssertionError(f"{pattern!r} not in server log:\n{self.log()[-3000:]}")

    def peer(self):
        return Peer(self.port)

    def stop(self, sig=signal.SIGTERM):
        """Stops the server; returns its exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            code = self.proc.wait(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("server did not stop in time")
        self.log_file.close()
        assert_no_sanitizer_report(self.log(), "server")
        return code


class Peer:
    """A raw TCP peer speaking the text protocol, like nc or the course's
    Python clients."""

    def __init__(self, port, source="127.0.0.1"):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT,
                                             source_address=(source, 0))
        self.addr = "%s:%d" % self.sock.getsockname()
        self.buf = b""
        self.name = None

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def line(self, timeout=TIMEOUT):
        """The next line (without '\\n'), decoded; fails on timeout or EOF."""
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no line within {timeout}s (have {self.buf!r})")
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                continue
            if not chunk:
                raise AssertionError(f"connection closed (have {self.buf!r})")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line.decode("utf-8", errors="replace")

    def expect(self, wanted, timeout=TIMEOUT):
        got = self.line(timeout)
        assert got == wanted
        return got

    def silent(self, wait=0.3):
        """Asserts nothing arrives for `wait` seconds."""
        self.sock.settimeout(wait)
        try:
            chunk = self.sock.recv(65536)
        except socket.timeout:
            chunk = None
        assert not self.buf and not chunk, f"unexpected {self.buf + (chunk or b'')!r}"

    def closed(self, timeout=TIMEOUT):
        """True once the server closes us (lines before that are skipped)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                continue
            except ConnectionResetError:
                return True
            if not chunk:
                return True
            self.buf += chunk
        return False

    def join(self, pseudo, room=None):
        """Joins; earlier peers' join notices still in flight and the
        room's history are skipped. Returns the history lines."""
        self.name = pseudo
        self.send(f"Hello|{pseudo}\n")
        wanted = f"Annonce : {pseudo} a rejoint la chatroom"
        history = self.skip_until(wanted)
        if room is not None:
            self.send(f"/join {room}\n")
            history = self.skip_until(f"Annonce : {pseudo} a rejoint le salon {room}")
        return history

    def skip_until(self, wanted):
        """Reads up to the line `wanted`, skipping others' arrivals and
        departures and a history block, which it returns."""
        history, in_history = [], False
        while True:
            got = self.line()
            if got == wanted:
                return history
            if got.startswith("Annonce : historique du salon "):
                in_history = True
            elif got == "Annonce : fin de l'historique":
                in_history = False
            elif in_history:
                history.append(got)
            else:
                assert got.startswith("Annonce : ") and (
                    " a rejoint " in got or " a quitté " in got), got

    def close(self):
        self.sock.close()

    def reset(self):
        """Closes with a TCP RST instead of a FIN."""
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        self.sock.close()


STAMP = re.compile(r"^\[\d\d:\d\d\] ")


class Client:
    """The real chatroom binary in plain mode, stdin and stdout on pipes.
    Lines are read without their "[hh:mm] " stamp (see `stamped`)."""

    def __init__(self, port, *args):
        self.proc = subprocess.Popen(
            [*VALGRIND_PREFIX, str(CLIENT_BIN), "-a", "127.0.0.1", "-p", str(port), *args],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env=child_env())
        self.buf = b""

    def type(self, text):
        self.proc.stdin.write(text.encode())
        self.proc.stdin.flush()

    def line(self, timeout=TIMEOUT, stamped=True):
        deadline = time.monotonic() + timeout
        fd = self.proc.stdout.fileno()
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no line within {timeout}s (have {self.buf!r})")
            ready, _, _ = select.select([fd], [], [], left)
            if ready:
                chunk = os.read(fd, 65536)
                if not chunk:
                    raise AssertionError(f"client output ended (have {self.buf!r})")
                self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        line = line.decode("utf-8", errors="replace")
        if not stamped:  # a row of a picture, say
            return line
        assert STAMP.match(line), f"no [hh:mm] stamp: {line!r}"
        return STAMP.sub("", line)

    def expect(self, wanted, timeout=TIMEOUT):
        got = self.line(timeout)
        assert got == wanted
        return got

    def skip_until(self, wanted, timeout=TIMEOUT):
        """Reads up to the line `wanted`; returns the lines before it."""
        skipped = []
        while True:
            got = self.line(timeout)
            if got == wanted:
                return skipped
            skipped.append(got)

    def wait(self, timeout=TIMEOUT):
        """Waits for exit, leaving stdin as the test left it; returns
        (status, stderr)."""
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("client did not exit in time")
        err = self.proc.stderr.read().decode(errors="replace")
        for f in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if f is not None and not f.closed:
                f.close()
        assert_no_sanitizer_report(err, "client")
        return self.proc.returncode, err

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.communicate()


def talk_until_dropped(talker, watcher, pseudo, body="y" * 900):
    """`talker` floods the room, 20 lines at a time, until `watcher` sees
    `pseudo` leave it (a slow reader dropped); every line reaches
    `watcher` whole and in order meanwhile. True once it left."""
    deadline = time.monotonic() + 4 * TIMEOUT
    while time.monotonic() < deadline:
        talker.send("".join(f"{body}\n" for _ in range(20)))
        left = False
        for _ in range(20):
            line = watcher.line()
            if line == f"Annonce : {pseudo} a quitté la chatroom":
                left = True
                line = watcher.line()
            assert line == f"talker a dit : {body}"
        if left:
            return True
        time.sleep(0.01)
    return False


@pytest.fixture
def server(tmp_path):
    srv = Server(tmp_path)
    yield srv
    code = srv.stop()
    assert code == 0, f"server exited {code}:\n{srv.log()[-3000:]}"


@pytest.fixture
def start_server(tmp_path):
    """Starts servers with extra arguments; each is stopped (and checked) at the end."""
    started = []

    def start(*args):
        srv = Server(tmp_path, *args)
        started.append(srv)
        return srv

    yield start
    # Every server is stopped even when one of them fails its check.
    failures = []
    for srv in started:
        try:
            srv.stop()
        except AssertionError as e:
            failures.append(e)
    if failures:
        raise failures[0]


# ---- a real terminal ---------------------------------------------------------

class Tmux:
    """One private tmux server; each window runs one command."""

    def __init__(self):
        self.socket = f"chatroom-test-{uuid.uuid4().hex[:8]}"

    def run(self, *args):
        return subprocess.run(["tmux", "-L", self.socket, *args], check=True,
                              capture_output=True, text=True).stdout

    def start(self, name, command, width=100, height=30):
        env = " ".join(f"{k}={v}" for k, v in SANITIZER_ENV.items())
        if not hasattr(self, "started"):
            self.run("new-session", "-d", "-s", name, "-x", str(width), "-y", str(height))
            self.run("set-option", "-g", "remain-on-exit", "on")
            self.started = True
        else:
            self.run("new-window", "-d", "-t", "=" + self.first_session(), "-n", name)
            self.run("resize-window", "-t", self.target(name), "-x", str(width), "-y", str(height))
        self.run("respawn-pane", "-k", "-t", self.target(name),
                 f"env LANG=C.UTF-8 {env} {command}; echo \"[exit $?]\"; sleep 30")

    def first_session(self):
        return self.run("list-sessions", "-F", "#{session_name}").split()[0]

    def target(self, name):
        if name == self.first_session():
            return f"={name}:0"
        return f"={self.first_session()}:{name}"

    def keys(self, name, *keys):
        self.run("send-keys", "-t", self.target(name), *keys)

    def screen(self, name):
        return self.run("capture-pane", "-p", "-t", self.target(name))

    def wait_for(self, name, text, timeout=TIMEOUT):
        """The screen once `text` is on it and two captures agree: tmux may
        be read between the rows of one redraw (seen in CI under ASan)."""
        deadline = time.monotonic() + timeout
        previous = None
        while time.monotonic() < deadline:
            screen = self.screen(name)
            if text in screen and screen == previous:
                return screen
            previous = screen if text in screen else None
            time.sleep(0.03 if previous else 0.05)
        if previous is not None:  # on screen, but the screen never settled
            return previous
        raise AssertionError(f"{text!r} not on screen:\n{self.screen(name)}")

    def kill(self):
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True)


@pytest.fixture
def tmux():
    t = Tmux()
    yield t
    t.kill()


def client_command(port):
    return " ".join([*VALGRIND_PREFIX, str(CLIENT_BIN), "-a", "127.0.0.1", "-p", str(port)])
