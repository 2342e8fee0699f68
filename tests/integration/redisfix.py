"""Helpers for the Redis tests: a real redis-server on a free loopback port
(stopped by PID), a tiny RESP client to look at what the modules wrote, a
fake Redis that answers what a test tells it to, and the redis_probe tool
that drives our modules (tests/tools/redis_probe.c)."""

import json
import os
import queue
import re
import shutil
import signal
import socket
import subprocess
import threading
import time

import pytest

from conftest import BUILD, SANITIZED, VALGRIND, TIMEOUT, child_env, \
    assert_no_sanitizer_report, VALGRIND_PREFIX

PROBE_BIN = BUILD / "tests" / "redis_probe"
REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"
# Waits on our modules' deadlines are scaled on slow runs.
SLOW = 4.0 if VALGRIND else 2.0 if SANITIZED else 1.0


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PortTaken(Exception):
    pass


class RedisServer:
    """redis-server without persistence on a loopback port; stop() and
    start() again keep the port (and lose the data)."""

    def __init__(self, tmp_path):
        self.tmp_path = tmp_path
        self.proc = None
        for _ in range(5):  # a port taken between free_port() and the bind
            self.port = free_port()
            try:
                self.start()
                return
            except PortTaken:
                pass
        raise AssertionError("no free port for redis-server")

    def start(self):
        self.log_path = self.tmp_path / f"redis-{self.port}-{time.monotonic_ns()}.log"
        self.log_file = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no", "--dir", str(self.tmp_path)],
            stdout=self.log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            try:
                # Ours, not some other server that had the port first.
                info = self.command("INFO", "server")
                if "process_id:%d\r" % self.proc.pid in info:
                    return
            except OSError:
                pass
            if self.proc.poll() is not None:
                log = self.log_path.read_text()
                self.log_file.close()
                if "Address already in use" in log:
                    raise PortTaken()
                raise AssertionError(log)
            time.sleep(0.02)
        raise AssertionError("redis-server did not start")

    def stop(self, sig=signal.SIGKILL):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=TIMEOUT)
        self.proc = None
        self.log_file.close()

    def command(self, *args):
        with socket.create_connection(("127.0.0.1", self.port), timeout=TIMEOUT) as s:
            s.sendall(encode(args))
            return read_reply(s.makefile("rb"))


def encode(args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        if isinstance(a, int):
            a = str(a)
        if isinstance(a, str):
            a = a.encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


class RedisError(Exception):
    pass


def read_reply(f):
    line = f.readline()
    if not line:
        raise ConnectionError("closed")
    kind, rest = line[:1], line[1:-2]
    if kind == b"+":
        return rest.decode()
    if kind == b"-":
        return RedisError(rest.decode())
    if kind == b":":
        return int(rest)
    if kind == b"$":
        n = int(rest)
        if n < 0:
            return None
        data = f.read(n + 2)
        return data[:-2].decode("utf-8", "replace")
    if kind == b"*":
        n = int(rest)
        return None if n < 0 else [read_reply(f) for _ in range(n)]
    raise ValueError(line)


def read_command(f):
    """One command a client sent (RESP array of bulk strings), or None."""
    line = f.readline()
    if not line:
        return None
    assert line.startswith(b"*"), line
    args = []
    for _ in range(int(line[1:-2])):
        n = int(f.readline()[1:-2])
        args.append(f.read(n + 2)[:-2].decode("utf-8", "replace"))
    return args


class Subscriber:
    """A raw RESP subscriber, to see what is published."""

    def __init__(self, port, *channels):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
        self.f = self.sock.makefile("rb")
        self.sock.sendall(encode(("SUBSCRIBE", *channels)))
        for _ in channels:
            assert read_reply(self.f)[0] == "subscribe"

    def message(self):
        kind, channel, payload = read_reply(self.f)
        assert kind == "message"
        return channel, payload

    def close(self):
        self.sock.close()


def kill_probes():
    """Kills the probes a test left running (it failed before quitting them)."""
    while Probe.started:
        proc = Probe.started.pop()
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def setup_answer(args):
    """What a Redis answers to a connection's setup (PING, SCRIPT LOAD),
    or None for another command."""
    if args[0] == "PING":
        return b"+PONG\r\n"
    if args[0] == "SCRIPT":
        return b"$40\r\n" + b"0" * 40 + b"\r\n"
    return None


class FakeRedis:
    """Accepts connections and answers each command with handler(args),
    which returns the bytes to send (b"" for nothing, None to hang up)."""

    def __init__(self, handler):
        self.handler = handler
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.port = self.listener.getsockname()[1]
        self.connections = 0
        self.commands = []
        self.socks = []
        self.stopping = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.stopping:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            self.socks.append(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        f = conn.makefile("rb")
        try:
            while True:
                args = read_command(f)
                if args is None:
                    return
                self.commands.append(args)
                data = self.handler(args)
                if data is None:
                    conn.close()
                    return
                if data:
                    conn.sendall(data)
        except OSError:
            pass

    def close(self):
        self.stopping = True
        self.listener.close()
        for s in self.socks:
            try:
                s.close()
            except OSError:
                pass


class Probe:
    """redis_probe: lines in on stdin, events out on stdout."""

    # Every probe started, so that a failed test leaves none running (a
    # frozen one would spin on a core for ever): kill_probes().
    started = []

    def __init__(self, url, *options):
        self.proc = subprocess.Popen(
            [*VALGRIND_PREFIX, str(PROBE_BIN), *options, url],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env=child_env())
        Probe.started.append(self.proc)
        self.lines = queue.Queue()
        self.seen = []
        self.unmatched = []
        self.next_id = 1
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for raw in self.proc.stdout:
            self.lines.put(raw.decode("utf-8", "replace").rstrip("\n"))
        self.lines.put(None)

    def send(self, line):
        self.proc.stdin.write(line.encode() + b"\n")
        self.proc.stdin.flush()

    def expect(self, pattern, timeout=TIMEOUT):
        """The first line not yet matched that matches the regex (lines
        skipped wait for a later expect; self.seen has them all)."""
        for k, line in enumerate(self.unmatched):
            m = re.match(pattern, line)
            if m:
                del self.unmatched[k]
                return m
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"{pattern!r} not seen; got:\n" + "\n".join(self.seen[-40:]))
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                continue
            if line is None:
                raise AssertionError(f"probe ended before {pattern!r}:\n"
                                     + "\n".join(self.seen[-40:]) + self.stderr())
            self.seen.append(line)
            m = re.match(pattern, line)
            if m:
                return m
            self.unmatched.append(line)

    def drain(self, wait=0.2):
        """Every line that comes within `wait` seconds of the last one."""
        got = []
        while True:
            try:
                line = self.lines.get(timeout=wait)
            except queue.Empty:
                return got
            if line is None:
                return got
            self.seen.append(line)
            got.append(line)

    def ready(self):
        self.expect_all(["ready cmd", "ready sub"])

    def expect_all(self, lines, timeout=TIMEOUT):
        want = set(lines)
        deadline = time.monotonic() + timeout
        while want:
            m = self.expect("|".join(re.escape(x) for x in want),
                            timeout=max(0.01, deadline - time.monotonic()))
            want.discard(m.group(0))

    def cmd(self, *words):
        """Sends a command; returns its id."""
        i = self.next_id
        self.next_id += 1
        self.send("cmd %d %s" % (i, " ".join(words)))
        return i

    def call(self, *words):
        """A command's answer: the decoded JSON reply, or ("error", name)."""
        i = self.cmd(*words)
        m = self.expect(r"(reply|error|refused) %d (\S+)(.*)" % i)
        if m.group(1) == "reply":
            return json.loads(m.group(2) + m.group(3))
        return (m.group(1), m.group(2))

    def publish(self, room, idem, text):
        i = self.next_id
        self.next_id += 1
        self.send("publish %d %s %s %s" % (i, room, idem, text))
        m = self.expect(r"(published|error|refused) %d (\S+) ?(\S*) ?(\S*)" % i)
        if m.group(1) != "published":
            raise AssertionError(m.group(0))
        self.epoch = m.group(4)
        return int(m.group(2)), m.group(3) == "1"

    def quit(self):
        """Ends the probe; returns (exit status, every line it printed)."""
        try:
            self.send("quit")
        except BrokenPipeError:
            pass
        try:
            self.proc.wait(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("probe did not stop:\n" + "\n".join(self.seen[-40:]))
        self.drain(0.05)
        err = self.stderr()
        assert_no_sanitizer_report(err, "redis_probe")
        return self.proc.returncode, self.seen

    def stderr(self):
        try:
            return self.proc.stderr.read().decode("utf-8", "replace")
        except ValueError:
            return ""

    def kill(self):
        self.proc.kill()
        self.proc.wait()


@pytest.fixture
def redis(tmp_path):
    """A redis-server of the test's own, stopped by PID after it."""
    r = RedisServer(tmp_path)
    yield r
    r.stop()


def start_nodes(start_server, redis, n=3, *args):
    """n chatroom-server nodes on that Redis, each once it says it is linked."""
    nodes = [start_server("--redis", f"redis://127.0.0.1:{redis.port}", *args)
             for _ in range(n)]
    for node in nodes:
        node.wait_log(r"cluster: linked through Redis")
    return nodes
