"""Issue 19, first part: the Redis connection (src/core/redis.c), the
publish script, the gap filler and the pseudo claims, driven through
tests/tools/redis_probe against a real redis-server (or a fake one for
what a real one never does)."""

import signal
import socket
import time

import pytest

from redisfix import FakeRedis, Probe, RedisServer, Subscriber, SLOW, encode

pytestmark = pytest.mark.skipif(not __import__("redisfix").PROBE_BIN.exists(),
                                reason="redis_probe not built")


@pytest.fixture
def redis(tmp_path):
    r = RedisServer(tmp_path)
    yield r
    r.stop()


def url(port):
    return "redis://127.0.0.1:%d" % port


def finish(probe):
    code, lines = probe.quit()
    assert code == 0, "\n".join(lines[-30:])
    assert not any(l.startswith(("missing", "double")) for l in lines)
    return lines


# ---- the connection ---------------------------------------------------------

def test_commands_and_replies(redis):
    p = Probe(url(redis.port))
    p.ready()
    assert p.call("PING") == {"status": "PONG"}
    assert p.call("SET", "k", "v%00w") == {"status": "OK"}   # binary-safe
    assert p.call("GET", "k") == "v\u0000w"
    assert p.call("GET", "none") is None
    assert p.call("INCR", "n") == 1
    assert p.call("RPUSH", "l", "a", "b") == 2
    assert p.call("LRANGE", "l", "0", "-1") == ["a", "b"]
    assert "WRONGTYPE" in p.call("INCR", "l")["error"]
    # A pipeline of many: every reply to its own command, in order.
    ids = [p.cmd("INCR", "c") for _ in range(200)]
    for n, i in enumerate(ids, 1):
        m = p.expect(r"reply %d (\d+)" % i)
        assert int(m.group(1)) == n
    finish(p)


def test_password_and_database(tmp_path):
    r = RedisServer(tmp_path)
    try:
        assert r.command("CONFIG", "SET", "requirepass", "s3cr@t") == "OK"
        p = Probe(f"redis://:s3cr%40t@127.0.0.1:{r.port}/3")
        p.ready()
        assert p.call("SET", "indb3", "1") == {"status": "OK"}
        finish(p)
        with socket.create_connection(("127.0.0.1", r.port)) as s:
            s.sendall(encode(("AUTH", "s3cr@t")) + encode(("SELECT", "3")) +
                      encode(("GET", "indb3")))
            f = s.makefile("rb")
            from redisfix import read_reply
            assert [read_reply(f) for _ in range(3)] == ["OK", "OK", "1"]
        # A wrong password: each attempt says why, nothing crashes.
        p = Probe("redis://:wrong@127.0.0.1:%d" % r.port, "-b", "50", "-B", "100")
        p.expect(r"down cmd EPROTO cmd: AUTH refused: .*(WRONGPASS|invalid)")
        assert p.call("PING") == ("refused", "ENOTCONN")
        finish(p)
    finally:
        r.stop()


def test_closed_port_fails_within_the_deadline():
    """hiredis 0.14.1's libuv adapter never calls back here; we must."""
    port = socket.socket()
    port.bind(("127.0.0.1", 0))
    number = port.getsockname()[1]
    port.close()  # bound once, nobody listens now
    start = time.monotonic()
    p = Probe(url(number), "-c", "1000", "-b", "100", "-B", "400")
    p.expect(r"down cmd ECONNREFUSED")
    first = time.monotonic() - start
    # Then it keeps trying, further and further apart, within the bound.
    p.expect(r"down cmd ECONNREFUSED")
    p.expect(r"down cmd ECONNREFUSED")
    p.expect(r"down cmd ECONNREFUSED")
    total = time.monotonic() - start
    lines = finish(p)
    assert first < 1.0 * SLOW, first
    # Delays 50-100, 100-200, 200-400 ms: about 0.35 to 0.7 s for three.
    assert 0.3 < total < 3.0 * SLOW, total
    print(f"closed port: first failure after {first * 1000:.0f} ms, "
          f"four attempts in {total * 1000:.0f} ms")


def test_silent_server_fails_within_the_deadline():
    """A peer that accepts and never answers: the connect deadline covers
    the setup's PING."""
    fake = FakeRedis(lambda args: b"")
    try:
        start = time.monotonic()
        p = Probe(url(fake.port), "-c", "500", "-b", "5000", "-B", "5000")
        p.expect(r"down cmd ETIMEDOUT cmd: no connection to 127.0.0.1:%d within 500 ms"
                 % fake.port)
        took = time.monotonic() - start
        finish(p)
        assert 0.45 < took < 2.0 * SLOW, took
    finally:
        fake.close()


def test_syn_dropped_fails_within_the_deadline():
    """A listener whose accept queue is full drops our SYN: connect never
    completes by itself."""
    lsock = socket.socket()
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(0)
    fillers = []
    for _ in range(4):  # fill the queue (never accepted)
        s = socket.socket()
        s.setblocking(False)
        s.connect_ex(lsock.getsockname())
        fillers.append(s)
    time.sleep(0.1)
    try:
        start = time.monotonic()
        p = Probe(url(lsock.getsockname()[1]), "-c", "500", "-b", "5000", "-B", "5000")
        p.expect(r"down cmd ETIMEDOUT")
        took = time.monotonic() - start
        finish(p)
        assert 0.45 < took < 2.0 * SLOW, took
    finally:
        for s in fillers:
            s.close()
        lsock.close()


def test_overdue_reply_resets_the_connection():
    """Answers the setup, then sits on a command: the command fails with
    ETIMEDOUT once, the connection is reset and made again."""
    def handler(args):
        return b"+PONG\r\n" if args[0] == "PING" else b""  # the rest never answered
    fake = FakeRedis(handler)
    try:
        p = Probe(url(fake.port), "-t", "300", "-b", "50", "-B", "50")
        p.expect("ready cmd")
        start = time.monotonic()
        i = p.cmd("GET", "x")
        p.expect(r"error %d ETIMEDOUT" % i)
        took = time.monotonic() - start
        p.expect(r"down cmd ETIMEDOUT cmd: no reply within 300 ms")
        p.expect("ready cmd")  # again
        finish(p)
        assert 0.25 < took < 1.5 * SLOW, took
        assert fake.connections >= 3  # cmd, sub, cmd again
    finally:
        fake.close()


def test_redis_stopped_and_restarted(redis):
    """Commands waiting when Redis goes get an error, once; commands while
    it is away are refused; both connections come back by themselves."""
    p = Probe(url(redis.port), "-t", "20000", "-b", "100", "-B", "400")
    p.ready()
    blocker = p.cmd("BLPOP", "nothing", "0")  # holds every later reply back
    waiting = [p.cmd("INCR", "n") for _ in range(20)]
    time.sleep(0.2)
    p.send("pending")
    p.expect("pending 21")
    redis.stop()
    for i in [blocker, *waiting]:
        p.expect(r"error %d ECONNRESET" % i)
    p.expect("down cmd ECONNRESET")
    assert p.call("PING") == ("refused", "ENOTCONN")
    time.sleep(2)
    redis.start()
    p.ready()
    assert p.call("INCR", "n") == 1  # a new, empty server
    p.send("pending")
    p.expect("pending 0")
    lines = finish(p)
    for i in [blocker, *waiting]:
        assert sum(1 for l in lines if l.split()[:2] in (["error", str(i)], ["reply", str(i)])) == 1
