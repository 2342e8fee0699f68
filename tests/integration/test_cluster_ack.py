"""Numbered messages and their acknowledgement (issue 19, docs/cluster.md
"Acknowledgement to the client"): a SAY with a message id gets ACK once it
is safe (standalone: in the hub and queued to the history; in a cluster:
once Redis numbered it), and a retry of the same id (after a reconnection,
here or on another node, even after the first node died) is acknowledged,
not published twice."""

import signal
import socket
import struct
import time

import pytest

from conftest import SANITIZED, TIMEOUT, VALGRIND, Client
from redisfix import SLOW, redis, start_nodes  # noqa: F401 (fixture)
from wire import (ACK, ERROR, MESSAGE, NOTICE, NOTICE_JOIN, PING, PONG, SERVER_ACKS,
                  WELCOME, BinaryPeer, frame, hello, say)

BASE = 0x2345_6789_ABCD_0000  # a client's first message id (random in the real one)


def frames_until(peer, frame_type, **fields):
    """Every frame read up to the first of that type with those fields."""
    got = []
    while True:
        m = peer.next()
        got.append(m)
        if m["type"] == frame_type and all(m.get(k) == v for k, v in fields.items()):
            return got


def sync(peer, nonce=7):
    """What came before a PONG: everything the server did for what was sent
    before the PING (standalone: ACKs come at once)."""
    peer.send(frame(PING, struct.pack(">Q", nonce)))
    return frames_until(peer, PONG, nonce=nonce)[:-1]


def messages(frames):
    return [m["text"] for m in frames if m["type"] == MESSAGE]


def test_numbered_say_is_acked_and_a_retry_is_not_doubled(server):
    ana = BinaryPeer(server.port)
    w = ana.join("ana")
    assert w["features"] & SERVER_ACKS, w
    bob = BinaryPeer(server.port)
    bob.join("bob")
    ana.until(NOTICE, kind=NOTICE_JOIN, pseudo="bob")
    ana.send(say("un", msg_id=BASE + 1))
    ack = ana.expect(ACK, msg_id=BASE + 1)
    assert ack["id"] > 0
    assert bob.until(MESSAGE)["id"] == ack["id"]
    # The same again on the same connection: acknowledged, not published.
    ana.send(say("un", msg_id=BASE + 1))
    ana.expect(ACK, msg_id=BASE + 1, id=0)
    # Over a new connection (a resume after a drop): still not doubled.
    ana.close()
    ana = BinaryPeer(server.port)
    ana.send(hello("ana", token=w["token"], after=ack["id"]))
    ana.expect(WELCOME)
    ana.send(say("un", msg_id=BASE + 1))
    ana.send(say("deux", msg_id=BASE + 2))
    got = [m for m in sync(ana) if m["type"] == ACK]
    assert got[0] == {"type": ACK, "msg_id": BASE + 1, "id": 0}, got
    assert got[1]["msg_id"] == BASE + 2 and got[1]["id"] > ack["id"], got
    assert messages(frames_until(bob, MESSAGE, text="deux")) == ["deux"]
    # Another sender's same id is its own message.
    bob.send(say("le mien", msg_id=BASE + 1))
    assert bob.expect(ACK, msg_id=BASE + 1)["id"] > 0
    assert ana.until(MESSAGE)["text"] == "le mien"
    # A SAY without an id is acknowledged by nothing, as before.
    ana.send(say("trois"))
    assert [m for m in sync(ana, 8) if m["type"] == ACK] == []
    assert bob.until(MESSAGE)["text"] == "trois"


@pytest.mark.parametrize("fsync", ["always", "no"])
def test_acknowledged_under_each_fsync_policy(start_server, fsync):
    """With --fsync always the ACK waits for the disk, as the others'
    MESSAGE does (held broadcasts); it comes, with the event's id."""
    srv = start_server("--fsync", fsync)
    ana = BinaryPeer(srv.port)
    ana.join("ana")
    bob = BinaryPeer(srv.port)
    bob.join("bob")
    for i in range(3):
        ana.send(say(f"disque {i}", msg_id=BASE + i))
    acks = [ana.until(ACK, msg_id=BASE + i) for i in range(3)]
    got = [bob.until(MESSAGE) for _ in range(3)]
    assert [m["id"] for m in got] == [a["id"] for a in acks]
    assert [m["text"] for m in got] == [f"disque {i}" for i in range(3)]
    for i in range(3):  # each retry acknowledged, not published again
        ana.send(say(f"disque {i}", msg_id=BASE + i))
        assert ana.until(ACK, msg_id=BASE + i)["id"] == 0
    bob.send(say("fin"))
    assert ana.until(MESSAGE)["text"] == "fin"
    assert messages(sync(bob)) == []


def test_a_numbered_message_behind_a_picture_is_acknowledged_after_it(server, tmp_path):
    """Said while one's picture is being decoded: published after it, in
    order, with its id (acknowledged then, and not doubled on a retry)."""
    import subprocess
    from conftest import BUILD
    from wire import IMAGE, s, varint
    folder = tmp_path / "images"
    folder.mkdir()
    subprocess.run([str(BUILD / "tests" / "make_images"), str(folder)], check=True)
    png = (folder / "landscape.png").read_bytes()
    ana = BinaryPeer(server.port)
    ana.join("ana")
    bob = BinaryPeer(server.port)
    bob.join("bob")
    ana.send(frame(IMAGE, bytes(8) * 3 + b"\xff\xff" + s("") + s("") + s("image/png") +
                   (240).to_bytes(4, "big") + (160).to_bytes(4, "big") +
                   varint(len(png)) + png))
    ana.send(say("sous l'image", msg_id=BASE + 9))
    ack = ana.until(ACK, msg_id=BASE + 9)
    assert bob.until(IMAGE)["id"] < ack["id"]
    assert bob.until(MESSAGE)["id"] == ack["id"]
    ana.send(say("sous l'image", msg_id=BASE + 9))
    assert ana.until(ACK, msg_id=BASE + 9)["id"] == 0
    assert messages(sync(bob)) == []


def test_a_refused_numbered_say_is_settled(server):
    """Refused with an ERROR, then ACK 0: the client does not keep it to
    send again after a reconnection."""
    ana = BinaryPeer(server.port)
    ana.join("ana")
    ana.send(say("ailleurs", room="jamais", msg_id=BASE + 5))
    before = sync(ana)
    assert [m["type"] for m in before] == [ERROR, ACK], before
    assert before[1]["msg_id"] == BASE + 5 and before[1]["id"] == 0


def test_a_numbered_say_dropped_for_flooding_is_settled(start_server):
    """Dropped for flooding (ERROR 7, once for a run of drops): acknowledged
    with 0, so the client does not keep it; the others, with their ids."""
    srv = start_server("--flood-rate", "1", "--flood-burst", "4")
    bob = BinaryPeer(srv.port)
    bob.join("bob")
    ana = BinaryPeer(srv.port)
    ana.join("ana")
    for i in range(6):
        ana.send(say(f"vite {i}", msg_id=BASE + i))
    acks, errors = {}, 0
    while len(acks) < 6:
        m = ana.next()
        if m["type"] == ERROR:
            assert m["code"] == 7, m
            errors += 1
        elif m["type"] == ACK:
            acks[m["msg_id"]] = m["id"]
    assert errors >= 1 and sorted(acks) == [BASE + i for i in range(6)]
    said = [f"vite {i}" for i in range(6) if acks[BASE + i] != 0]
    assert 0 < len(said) < 6
    bob.send(say("fin"))
    assert messages(frames_until(ana, MESSAGE, text="fin")) == ["fin"]
    assert messages(sync(bob)) == said


def test_old_clients_and_odd_frames(server):
    """The id is optional; a truncated one is a malformed frame; ACK is
    the server's only."""
    ana = BinaryPeer(server.port)
    ana.join("ana")
    bob = BinaryPeer(server.port)
    bob.join("bob")
    ana.send(say("vieux", room="general"))  # a room, no id: as before
    assert bob.until(MESSAGE)["text"] == "vieux"
    assert [m for m in sync(ana) if m["type"] == ACK] == []
    ana.send(frame(ACK, struct.pack(">QQ", 1, 2)))
    assert ana.until(ERROR)["code"] == 9
    bob.send(frame(3, b"\x02hi\x00\x01\x02\x03"))  # an id of 3 bytes
    assert bob.until(ERROR)["code"] == 2
    assert bob.closed()


def bjoin(port, pseudo, deadline):
    """A binary peer named pseudo on that node; again, until the claim a
    dead node held on the pseudo lapses (it is refused after the fact:
    ERROR 5 a moment after the welcome). Returns (peer, frames since the
    welcome)."""
    token = b""
    while True:
        p = BinaryPeer(port, timeout=5 * SLOW)
        p.send(hello(pseudo, token=token))
        got, refused = [], False
        try:
            m = p.next()
            if m["type"] == ERROR and token:  # that session is gone: afresh
                token = b""
            if m["type"] == WELCOME:
                # A refused try leaves a session here: the next one
                # resumes it.
                token = m["token"]
                end = time.monotonic() + 1.0 * SLOW
                while time.monotonic() < end:
                    m = p.next(timeout=max(0.05, end - time.monotonic()))
                    got.append(m)
                    if m["type"] == ERROR:
                        break
            refused = m["type"] == ERROR
        except AssertionError as e:
            refused = "connection closed" in str(e)
        if not refused:
            return p, got
        p.close()
        assert time.monotonic() < deadline, f"{pseudo} never got its pseudo back: {m}"
        time.sleep(0.3)


class Sender:
    """A binary peer that numbers its messages and keeps the unacknowledged
    ones, as the terminal client does."""

    def __init__(self, peer, name, base):
        self.peer, self.name, self.base = peer, name, base
        self.sent = {}       # msg id -> text
        self.acked = {}      # msg id -> event id
        self.frames = []     # what else it read

    def say(self, i, text=None):
        text = text or f"m{i} de {self.name}"
        self.sent[self.base + i] = text
        self.peer.send(say(text, msg_id=self.base + i))

    def take(self, m):
        if m["type"] == ACK:
            assert m["msg_id"] in self.sent, m
            assert m["msg_id"] not in self.acked or m["id"] == 0, m
            self.acked.setdefault(m["msg_id"], m["id"])
        else:
            self.frames.append(m)

    def read_acks(self, count):
        while len(self.acked) < count:
            self.take(self.peer.next())

    def drain_until_closed(self):
        """What the dead node had sent before it died."""
        try:
            while True:
                self.take(self.peer.next(timeout=5 * SLOW))
        except (AssertionError, ConnectionResetError):
            pass

    def unacked(self):
        return [k for k in sorted(self.sent) if k not in self.acked]

    def resend(self):
        """After a reconnection: every message not acknowledged, same id."""
        again = self.unacked()
        for k in again:
            self.peer.send(say(self.sent[k], msg_id=k))
        return again

    def until_said(self, texts):
        """Reads until it saw every text of texts (others' messages)."""
        while not set(texts) <= set(messages(self.frames)):
            self.take(self.peer.next())


def test_node_killed_nothing_acked_lost_nothing_doubled(start_server, redis):
    nodes = start_nodes(start_server, redis)
    deadline = time.monotonic() + 30 * SLOW
    ana = Sender(bjoin(nodes[0].port, "ana", deadline)[0], "ana", BASE)
    bob = Sender(bjoin(nodes[1].port, "bob", deadline)[0], "bob", BASE + (1 << 20))
    cyd = Sender(bjoin(nodes[2].port, "cyd", deadline)[0], "cyd", BASE + (2 << 20))
    dan, _ = bjoin(nodes[2].port, "dan", deadline)
    for p in (ana, bob):
        while not any(m["type"] == NOTICE and m.get("pseudo") == "dan" for m in p.frames):
            p.take(p.peer.next())
    for i in range(5):
        for s in (ana, bob, cyd):
            s.say(i)
    cyd.read_acks(3)
    # A burst, and the node dies under it: some of it may be in Redis,
    # some acknowledged, some not.
    for i in range(5, 10):
        cyd.say(i)
    nodes[2].proc.send_signal(signal.SIGKILL)
    nodes[2].proc.wait()
    cyd.drain_until_closed()
    for i in range(5, 10):
        for s in (ana, bob):
            s.say(i)
    # Back on the nodes left: the unacknowledged messages again, same ids.
    cyd.peer, _ = bjoin(nodes[0].port, "cyd", deadline)
    resent = cyd.resend()
    cyd.say(10, "fin de cyd")
    dan, dan_frames = bjoin(nodes[1].port, "dan", deadline)
    for s in (ana, bob):
        s.say(10, f"fin de {s.name}")
    for s in (ana, bob, cyd):
        s.read_acks(11)  # every message is acknowledged in the end
    duplicates = [k for k in resent if cyd.acked[k] == 0]
    print(f"cyd resent {len(resent)} messages ({len(duplicates)} acknowledged with event id 0)")
    everyone = {s.name: [s.sent[s.base + i] for i in range(11)] for s in (ana, bob, cyd)}
    # Every message seen exactly once by those who stayed, in its sender's
    # order, and in one order for both.
    seen = {}
    for s in (ana, bob):
        others = [t for n, texts in everyone.items() if n != s.name for t in texts]
        s.until_said(others)
        got = [t for t in messages(s.frames) if t in others]
        assert sorted(got) == sorted(others), (s.name, got)
        for n, texts in everyone.items():
            if n != s.name:
                assert [t for t in got if t in texts] == texts, (s.name, n)
        seen[s.name] = got
    common = set(seen["ana"]) & set(seen["bob"])
    assert [t for t in seen["ana"] if t in common] == [t for t in seen["bob"] if t in common]
    # dan, back on another node: the room's history and what followed hold
    # each message once.
    peer = Sender(dan, "dan", 0)
    peer.frames = dan_frames
    all_texts = [t for texts in everyone.values() for t in texts]
    peer.until_said([t for t in all_texts if t not in history_texts(dan_frames)])
    got = history_texts(peer.frames) + messages(peer.frames)
    for t in all_texts:
        assert got.count(t) == 1, (t, got)
    for s in (ana, bob, cyd, peer):
        s.peer.close()


def history_texts(frames):
    import json
    from wire import HISTORY
    out = []
    for m in frames:
        if m["type"] == HISTORY:
            out += [e["text"] for e in json.loads(m["json"]) if e.get("kind") == "message"]
    return out


def test_a_retry_on_another_node_is_acked_not_republished(start_server, redis):
    """The ACK of a message was lost (here: the client did not wait for
    it); the client sends it again on another node: acknowledged with
    event id 0, not published twice (the idempotency key is the sender's,
    the same on every node)."""
    nodes = start_nodes(start_server, redis)
    deadline = time.monotonic() + 20 * SLOW
    bob, _ = bjoin(nodes[1].port, "bob", deadline)
    ana, _ = bjoin(nodes[0].port, "ana", deadline)
    bob.until(NOTICE, kind=NOTICE_JOIN, pseudo="ana")
    ana.send(say("une fois", msg_id=BASE + 1))
    # (Its event id here, or 0 when Redis answered before the event came
    # back to this node: both happen.)
    ana.until(ACK, msg_id=BASE + 1)
    assert bob.until(MESSAGE)["text"] == "une fois"
    ana.close()
    ana, _ = bjoin(nodes[2].port, "ana", deadline)
    ana.send(say("une fois", msg_id=BASE + 1))
    ana.send(say("ensuite", msg_id=BASE + 2))
    assert ana.until(ACK, msg_id=BASE + 1)["id"] == 0
    ana.until(ACK, msg_id=BASE + 2)
    assert messages(frames_until(bob, MESSAGE, text="ensuite")) == ["ensuite"]


def test_the_client_says_again_what_was_not_acknowledged(start_server, redis):
    """The terminal client keeps what its node did not acknowledge (here:
    Redis was away, then the node died with the message) and says it again
    on the node it comes back to, once; what was acknowledged is not said
    again, and nothing shows twice on its screen."""
    from conftest import Peer
    nodes = start_nodes(start_server, redis, 2)
    ana = Peer(nodes[1].port)
    ana.join("ana")
    cli = Client(nodes[0].port, "-n", "cli", "--reconnect", "-a",
                 f"127.0.0.1:{nodes[0].port},127.0.0.1:{nodes[1].port}")
    shown = []
    try:
        shown += cli.skip_until("Annonce : cli a rejoint la chatroom")
        ana.skip_until("Annonce : cli a rejoint la chatroom")
        cli.type("avant\n")
        ana.skip_until("cli a dit : avant")
        time.sleep(0.5 * SLOW)  # its ACK is in (Redis answered)
        redis.stop()
        shown += cli.skip_until(
            "Annonce : liaison avec les autres serveurs perdue ; vos messages partiront à son retour")
        cli.type("pendant la panne\n")
        shown += cli.skip_until("Vous avez dit : pendant la panne")
        shown.append("Vous avez dit : pendant la panne")
        time.sleep(0.3 * SLOW)  # in its node's outbox, unacknowledged
        nodes[0].proc.send_signal(signal.SIGKILL)
        nodes[0].proc.wait()
        redis.start()
        got = []
        while "cli a dit : pendant la panne" not in got:
            got.append(ana.line(timeout=TIMEOUT + 10 * SLOW))
        cli.type("après\n")
        while got[-1] != "cli a dit : après":
            got.append(ana.line(timeout=TIMEOUT))
        said = [l for l in got if l.startswith("cli a dit : ")]
        assert said == ["cli a dit : pendant la panne", "cli a dit : après"], got
        shown += cli.skip_until("Vous avez dit : après")
        assert [l for l in shown if l.startswith("Vous avez dit : ")] == [
            "Vous avez dit : avant", "Vous avez dit : pendant la panne"], shown
        cli.type("/quit\n")
        cli.proc.stdin.close()
        assert cli.wait()[0] == 0
    finally:
        if cli.proc.poll() is None:
            cli.kill()
        nodes[0].log_file.close()
        nodes.pop(0)


def test_remembered_ids_are_bounded_beside_a_conversation(start_server):
    """A peer numbering more messages than the server remembers (65 536,
    without a flood limit here): the oldest are forgotten (a retry of the
    first is published again), the newest are not, memory stays bounded,
    and a conversation beside goes on."""
    from hostile import Conversation, peak_rss_mib
    srv = start_server("--flood-rate", "0", "--history", "none")
    before = peak_rss_mib(srv.proc.pid)
    total, chunk = 70000, 5000
    with Conversation(srv) as talk:
        atk = BinaryPeer(srv.port, timeout=60)
        atk.join("flot", "ailleurs")  # a room of its own: nobody reads it
        for start in range(1, total + 1, chunk):
            atk.send(b"".join(say("x", msg_id=i) for i in range(start, start + chunk)))
            atk.until(ACK, msg_id=start + chunk - 1)  # read as it goes
        atk.send(say("x", msg_id=total))
        assert atk.until(ACK, msg_id=total)["id"] == 0  # remembered
        atk.send(say("x", msg_id=1))
        assert atk.until(ACK, msg_id=1)["id"] > 0  # forgotten: past the bound
    grown = peak_rss_mib(srv.proc.pid) - before
    print(f"{total} numbered messages: server peak +{grown:.1f} MiB, "
          f"worst line {talk.worst:.2f} s")
    # (AddressSanitizer's quarantine keeps up to 256 MiB of freed memory;
    # under valgrind the process's size is memcheck's shadow memory, not ours.)
    if not VALGRIND:
        assert grown < 64 + (256 if SANITIZED else 0), f"peak memory grew by {grown:.0f} MiB"
    assert talk.worst < (4.0 if SANITIZED else 2.0), f"a chat line took {talk.worst:.1f} s"


def said_frames(data):
    """(text, room, message id) of each SAY in a client's bytes."""
    from wire import SAY, Reader
    out, r = [], Reader(data)
    while r.pos < len(data):
        kind, length = r.u(1), r.varint()
        body = Reader(r.take(length))
        if kind == SAY:
            text = body.str()
            room = body.str() if body.pos < len(body.data) else None
            msg_id = body.u(8) if body.pos < len(body.data) else 0
            out.append((text, room, msg_id))
    return out


def test_the_client_keeps_256_unconfirmed_messages_and_says_what_may_be_lost():
    """A server that says it acknowledges and never does: the client
    numbers its messages one after the other, keeps 256, says so for the
    next (sent without an id), and, the server gone, lists on stderr what
    was never confirmed."""
    from hostile import HostileServer
    fake = HostileServer(features=SERVER_ACKS)
    cli = Client(fake.port, "-n", "cli")
    try:
        for i in range(257):
            cli.type(f"l{i}\n")
        shown = cli.skip_until("Vous avez dit : l256")
        assert any("n'a pas encore confirmé 256 messages" in l for l in shown), shown[-3:]
        deadline = time.monotonic() + TIMEOUT
        while len(said_frames(fake.received)) < 257:
            assert time.monotonic() < deadline, len(said_frames(fake.received))
            time.sleep(0.05)
        said = said_frames(fake.received)
        first = said[0][2]
        assert 0 < first < 1 << 63
        assert [(t, i) for t, _, i in said] == \
            [(f"l{k}", first + k) for k in range(256)] + [("l256", 0)]
        fake.conn.shutdown(socket.SHUT_RDWR)  # (its reader thread holds it open)
        code, err = cli.wait()
        assert code == 1
        lost = [l for l in err.splitlines() if "pas confirmé par le serveur" in l]
        assert len(lost) == 256 and lost[0].endswith(" : l0") and lost[-1].endswith(" : l255")
    finally:
        if cli.proc.poll() is None:
            cli.kill()
        fake.close()
