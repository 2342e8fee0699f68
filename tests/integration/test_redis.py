"""Issue 19, first part: the Redis connection (src/core/redis.c), the
publish script, the gap filler and the pseudo claims, driven through
tests/tools/redis_probe against a real redis-server (or a fake one for
what a real one never does)."""

import re
import signal
import socket
import threading
import time

import pytest

from redisfix import (FakeRedis, Probe, RedisServer, Subscriber, SLOW, encode, kill_probes,
                      setup_answer)

@pytest.fixture(autouse=True)
def no_probe_left():
    yield
    kill_probes()


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


def test_host_name_is_resolved(redis):
    """A name goes through getaddrinfo at each attempt (its addresses are
    tried in turn; this machine's localhost has only 127.0.0.1)."""
    p = Probe("redis://localhost:%d" % redis.port)
    p.ready()
    assert p.call("PING") == {"status": "PONG"}
    finish(p)
    # A name that does not resolve fails like any attempt, and retries.
    p = Probe("redis://no-such-host.invalid:1", "-c", "3000", "-b", "100", "-B", "100")
    p.expect(r"down cmd \S+ cmd: (cannot resolve|no connection)")
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
        # Closed while the connect is under way: at once, nothing left.
        p = Probe(url(lsock.getsockname()[1]), "-c", "60000")
        time.sleep(0.3)
        start = time.monotonic()
        finish(p)
        assert time.monotonic() - start < 1.0 * SLOW
    finally:
        for s in fillers:
            s.close()
        lsock.close()


def test_overdue_reply_resets_the_connection():
    """Answers the setup, then sits on a command: the command fails with
    ETIMEDOUT once, the connection is reset and made again."""
    def handler(args):
        return setup_answer(args) or b""  # the rest never answered
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


def test_a_slow_reply_past_the_ping_interval_does_not_freeze_the_loop():
    """A command still waiting when the connection's ping falls due (its
    last reply older than the ping interval): no ping is sent while a
    command waits, so the timer must wait for the command's deadline,
    not fire again at once for ever (the loop then froze)."""
    def handler(args):
        return setup_answer(args) or b""  # the rest never answered
    fake = FakeRedis(handler)
    try:
        p = Probe(url(fake.port), "-t", "1000", "-i", "200", "-b", "50", "-B", "50")
        p.expect("ready cmd")
        time.sleep(0.1)  # the last reply (the setup's) ages
        start = time.monotonic()
        i = p.cmd("GET", "x")
        p.expect(r"error %d ETIMEDOUT" % i, timeout=5 * SLOW)
        took = time.monotonic() - start
        finish(p)
        assert 0.9 < took < 2.0 * SLOW, took
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


# ---- the publish script -----------------------------------------------------

def test_publish_script_seq_stream_channel_idempotency(redis):
    sub = Subscriber(redis.port, "{general}:events")
    p = Probe(url(redis.port))
    p.ready()
    assert p.publish("general", "7:1", "hello world") == (1, False)
    assert p.publish("general", "7:2", "second") == (2, False)
    # The same message again (a retried send): its first seq, nothing new.
    assert p.publish("general", "7:1", "hello world") == (1, True)
    assert p.publish("general", "-", "no key") == (3, False)
    epoch = p.epoch
    assert p.publish("other", "-", "elsewhere") == (1, False)  # per-room numbering
    # The numbering's epoch: Redis's clock, in microseconds, when it began.
    now = int(redis.command("TIME")[0])
    assert now - 60 < int(epoch) // 1000000 <= now
    assert p.epoch != epoch
    # One message per publish on the room's channel, "<epoch>:<seq>|<event>".
    assert [sub.message() for _ in range(3)] == [
        ("{general}:events", epoch + ":1|hello world"),
        ("{general}:events", epoch + ":2|second"),
        ("{general}:events", epoch + ":3|no key")]
    sub.close()
    # The stream holds them under their seq; the counter and the keys.
    assert redis.command("XRANGE", "{general}:log", "-", "+") == [
        ["1-0", ["e", "hello world", "x", epoch]], ["2-0", ["e", "second", "x", epoch]],
        ["3-0", ["e", "no key", "x", epoch]]]
    assert redis.command("HMGET", "{general}:meta", "seq", "epoch") == ["3", epoch]
    p.send("last 902 general")
    p.expect("last 902 3 " + epoch)
    p.send("last 903 never")
    p.expect("last 903 0 0")
    assert redis.command("GET", "{general}:idem:7%3A1") == "1"
    assert 55 <= redis.command("TTL", "{general}:idem:7%3A1") <= 60
    # Room names that would break a hash tag or a key are escaped.
    assert p.publish("a}b{c:d%", "-", "x") == (1, False)
    assert redis.command("EXISTS", "{a%7Db%7Bc%3Ad%25}:log") == 1
    # The fetch side reads the same entries back.
    p.send("fetch 900 general 2 0 10")
    m = p.expect(r"entries 900 (\d+) (\d) (.*)")
    assert m.group(1, 2) == ("2", "0")
    assert m.group(3) == '2 "second" 3 "no key"'
    p.send("fetch 901 general 1 3 2")
    assert p.expect(r"entries 901 .*").group(0) == 'entries 901 2 1 1 "hello world" 2 "second"'
    finish(p)


def test_publish_script_survives_flush_and_lost_counter(redis):
    p = Probe(url(redis.port))
    p.ready()
    assert p.publish("r", "-", "one") == (1, False)
    # Redis forgot the script (SCRIPT FLUSH, a failover): that publish
    # fails, the connection is made again, which loads the script again.
    assert redis.command("SCRIPT", "FLUSH") == "OK"
    p.send("publish 800 r - lost")
    p.expect("error 800 ECONNRESET")
    p.expect("down cmd ECONNRESET cmd: Redis forgot a script")
    p.expect("ready cmd")
    assert p.publish("r", "-", "two") == (2, False)
    epoch = p.epoch
    # The counter lost but the stream kept: numbering and epoch go on.
    assert redis.command("DEL", "{r}:meta") == 1
    assert p.publish("r", "-", "three") == (3, False)
    assert p.epoch == epoch
    assert redis.command("HMGET", "{r}:meta", "seq", "epoch") == ["3", epoch]
    # Both lost (FLUSHALL, a restart without persistence): 1 again, in a
    # new epoch.
    assert redis.command("FLUSHALL") == "OK"
    assert p.publish("r", "-", "again") == (1, False)
    assert p.epoch != epoch
    finish(p)


def test_pipelined_publishes_keep_their_order(redis):
    """A fresh Redis, 500 publishes sent at once: the script is loaded
    with the connection, so none is retried behind the others and the
    seqs follow the order of sending."""
    p = Probe(url(redis.port))
    p.ready()
    p.send("\n".join("publish %d r 9:%d m%d" % (i, i, i) for i in range(1, 501)))
    for i in range(1, 501):
        p.expect(r"published %d %d 0 " % (i, i))
    finish(p)


def test_stream_is_capped(redis):
    # Whole stream nodes are trimmed: small nodes make MAXLEN ~ bite early.
    redis.command("CONFIG", "SET", "stream-node-max-entries", "10")
    p = Probe(url(redis.port), "-s", "20")
    p.ready()
    for i in range(1, 201):
        p.send("publish %d r - m%d" % (i, i))
    epoch = p.expect(r"published 200 200 0 (\d+)").group(1)
    length = redis.command("XLEN", "{r}:log")
    assert 20 <= length <= 40, length
    assert redis.command("XREVRANGE", "{r}:log", "+", "-", "COUNT", "1") == \
        [["200-0", ["e", "m200", "x", epoch]]]
    finish(p)


# ---- in-order delivery: the gap filler against a real stream ---------------

def delivered(lines, room):
    return [int(l.split()[2]) for l in lines if l.startswith("deliver %s " % room)]


def test_gap_filled_from_the_stream(redis):
    p = Probe(url(redis.port))
    p.ready()
    p.send("follow general 0")
    p.expect("following general")
    time.sleep(0.1)  # the SUBSCRIBE confirmed
    for i in range(1, 4):
        p.publish("general", "-", "m%d" % i)
    p.expect(r'deliver general 3 "m3"')
    # Pub/sub loses 4 and 5 (as when a node misses messages): 6 shows the
    # hole, which is read from the stream before 6 is delivered.
    p.send("drop general 2")
    for i in range(4, 8):
        p.publish("general", "-", "m%d" % i)
    p.expect(r'deliver general 7 "m7"')
    lines = finish(p)
    assert "fetch general 4 5" in lines
    assert delivered(lines, "general") == list(range(1, 8))
    assert [l.split()[3] for l in lines if l.startswith("deliver")] == \
        ['"m%d"' % i for i in range(1, 8)]


def test_gap_larger_than_the_stream_is_reported(redis):
    redis.command("CONFIG", "SET", "stream-node-max-entries", "5")
    p = Probe(url(redis.port), "-s", "10")
    p.ready()
    p.send("follow r 0")
    p.expect("following r")
    time.sleep(0.1)
    p.publish("r", "-", "first")
    p.expect("deliver r 1")
    p.send("drop r 60")
    for i in range(2, 63):
        p.send("publish %d r - m%d" % (i + 1000, i))
    p.expect("deliver r 62")
    lines = finish(p)
    trunc = [l for l in lines if l.startswith("truncated r ")]
    assert len(trunc) == 1, trunc
    first, last = map(int, trunc[0].split()[2:])
    got = delivered(lines, "r")
    # Everything after the lost part, in order, nothing twice.
    assert first == 2 and got == [1] + list(range(last + 1, 63)), (trunc, got)
    assert 40 < last < 61


def test_subscriber_loss_is_caught_up(redis):
    """The subscriber connection is killed: what is published meanwhile is
    read from the stream once it is back, before anything newer."""
    p = Probe(url(redis.port), "-b", "300", "-B", "300")
    p.ready()
    p.send("follow room 0")
    time.sleep(0.1)
    p.publish("room", "-", "before")
    p.expect("deliver room 1")
    redis.command("CLIENT", "KILL", "TYPE", "pubsub")
    p.expect("down sub")
    for i in range(2, 6):
        p.publish("room", "-", "while%d" % i)  # the command connection still works
    p.expect("ready sub")
    p.publish("room", "-", "after")
    p.expect("deliver room 6")
    lines = finish(p)
    assert delivered(lines, "room") == [1, 2, 3, 4, 5, 6]
    assert not any(l.startswith("truncated") for l in lines)


def test_redis_that_lost_its_data_is_followed(redis):
    """Redis restarted empty (no persistence): the room is numbered from 1
    again in a new epoch; the servers start it over instead of dropping
    1, 2, 3 as repeats."""
    p = Probe(url(redis.port), "-b", "100", "-B", "200")
    p.ready()
    p.send("follow room 0")
    time.sleep(0.1)
    for i in range(1, 6):
        p.publish("room", "-", "old%d" % i)
    p.expect("deliver room 5")
    redis.stop()
    p.expect("down sub")
    redis.start()
    p.ready()
    for i in range(1, 4):
        p.publish("room", "-", "new%d" % i)
    p.expect('deliver room 3 "new3"')
    lines = finish(p)
    assert "restarted room 5" in lines
    got = [l.split()[2:] for l in lines if l.startswith("deliver room")]
    assert got == [[str(i), '"old%d"' % i] for i in range(1, 6)] + \
        [[str(i), '"new%d"' % i] for i in range(1, 4)]


def test_held_events_are_bounded(redis):
    """A fetch that takes long while the channel keeps coming: at most -H
    events are held, the rest are read again from the stream."""
    p = Probe(url(redis.port), "-H", "5", "-n", "1000")
    p.ready()
    p.send("follow r 0")
    time.sleep(0.1)
    p.send("drop r 1")
    # One write: the 40 publishes go out before the read of the hole, so
    # events 2..40 all come while it is out.
    p.send("\n".join("publish %d r - m%d" % (i, i) for i in range(1, 41)))
    p.expect("deliver r 40")
    lines = finish(p)
    assert delivered(lines, "r") == list(range(1, 41))
    # The hole (1), then 2..6 held, 7.. dropped and read from the stream
    # (and, for events that came after that read was sent, again).
    fetches = [l for l in lines if l.startswith("fetch r")]
    assert fetches[:2] == ["fetch r 1 1", "fetch r 7 0"], fetches
    assert all(f.endswith(" 0") for f in fetches[1:]), fetches


# ---- hostile replies ---------------------------------------------------------

HOSTILE = {
    "huge bulk length": b"$9999999999\r\n" + b"x" * 300000,
    "huge array": b"*2147483647\r\n",
    "many small elements": b"*100000\r\n" + b":1\r\n" * 100000,
    "deep nesting": b"*1\r\n" * 20 + b":1\r\n",
    "endless status line": b"+" + b"a" * 200000,
    "not RESP": b"?what\r\n",
    "negative bulk": b"$-5\r\n",
    "unasked reply": b"+OK\r\n+OK\r\n",
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_reply_resets_the_connection(name):
    payload = HOSTILE[name]

    def handler(args):
        return setup_answer(args) or payload
    fake = FakeRedis(handler)
    try:
        p = Probe(url(fake.port), "-m", "65536", "-b", "100", "-B", "100")
        p.expect("ready cmd")
        i = p.cmd("GET", "x")
        m = p.expect(r"(error|reply) %d (\S+)" % i)
        if name == "unasked reply":
            assert m.group(1) == "reply"  # the first +OK is its answer
        else:
            assert m.group(1, 2) in {("error", "EMSGSIZE"), ("error", "EPROTO")}, m.group(0)
        m = p.expect(r"down cmd (\S+) (.*)")
        assert m.group(1) in ("EMSGSIZE", "EPROTO"), m.group(0)
        p.expect("ready cmd")  # and back again
        finish(p)
    finally:
        fake.close()


def probe_peak_rss_kib(p):
    with open("/proc/%d/status" % p.proc.pid) as f:
        return int(re.search(r"VmHWM:\s+(\d+) kB", f.read()).group(1))


@pytest.mark.slow_under_asan  # ASan's shadow and quarantine are not ours
def test_huge_reply_memory_is_bounded():
    """A 200 MB bulk streamed at us: the connection is reset once 8 MiB
    are held (-m), and the probe's peak memory stays near that."""
    body = b"$200000000\r\n" + b"x" * 100_000_000

    fake = FakeRedis(lambda args: setup_answer(args) or body)
    try:
        p = Probe(url(fake.port), "-m", str(8 << 20), "-b", "5000", "-B", "5000")
        p.expect("ready cmd")
        i = p.cmd("GET", "x")
        p.expect(r"error %d EMSGSIZE" % i)
        p.expect(r"down cmd EMSGSIZE cmd: reply over its size bound")
        peak = probe_peak_rss_kib(p)
        finish(p)
        print(f"peak RSS with a 200 MB reply and an 8 MiB bound: {peak / 1024:.1f} MiB")
        assert peak < 48 * 1024, peak
    finally:
        fake.close()


def test_queue_and_pending_bounds():
    """A server that stops reading: commands are refused (ENOBUFS) past the
    bounds, and every accepted one still gets its one answer."""
    stop = threading.Event()

    def handler(args):
        if setup_answer(args):
            return setup_answer(args)
        stop.wait(30)  # stops reading: the socket buffers fill
        return b""
    fake = FakeRedis(handler)
    try:
        p = Probe(url(fake.port), "-q", str(1 << 20), "-P", "50", "-t", str(int(1000 * SLOW)),
                  "-b", "5000", "-B", "5000")
        p.expect("ready cmd")
        big = "v" * 200_000
        ids = [p.cmd("SET", "k", big) for _ in range(100)]
        refused = []
        for i in ids:
            m = p.expect(r"(refused|error|reply) %d (\S+)" % i, timeout=20 * SLOW)
            if m.group(1) == "refused":
                refused.append(m.group(2))
        assert refused and set(refused) == {"ENOBUFS"}, refused
        assert len(refused) < 100
        stop.set()
        # The count bound: 50 waiting at most.
        p.expect("ready cmd", timeout=20 * SLOW)
        ids = [p.cmd("GET", "k") for _ in range(80)]
        answers = [p.expect(r"(refused|error|reply) %d (\S+)" % i, timeout=20 * SLOW)
                   for i in ids]
        assert [m.group(1) for m in answers].count("refused") == 30
        finish(p)
    finally:
        stop.set()
        fake.close()


# ---- pseudo claims -----------------------------------------------------------

def test_pseudo_claims_across_nodes(redis):
    a = Probe(url(redis.port), "-T", "600")
    b = Probe(url(redis.port), "-T", "600")
    a.ready()
    b.ready()
    a.send("claim 1 alice 11")
    a.expect("claim 1 granted")
    b.send("claim 2 alice 21")
    b.expect("claim 2 refused")
    assert redis.command("GET", "pseudo:{alice}") == "probe:11"
    # Kept alive by renewals well past its lifetime.
    time.sleep(1.5)
    assert 0 < redis.command("PTTL", "pseudo:{alice}") <= 600
    # Released on leave: the other node may take it at once.
    a.send("release alice 11")
    time.sleep(0.2)
    b.send("claim 3 alice 21")
    b.expect("claim 3 granted")
    # A node that dies: its claims lapse after their lifetime.
    b.send("claim 4 bob 22")
    b.expect("claim 4 granted")
    b.kill()
    a.send("claim 5 bob 12")
    a.expect("claim 5 refused")
    time.sleep(0.8)
    a.send("claim 6 bob 12")
    a.expect("claim 6 granted")
    # Taken from under us (it lapsed while Redis was out of reach and
    # another node took it): the next renewal reports it lost, once.
    redis.command("SET", "pseudo:{bob}", "other:1")
    a.expect("lost bob 12")
    lines = finish(a)
    assert sum(1 for l in lines if l.startswith("lost")) == 1
