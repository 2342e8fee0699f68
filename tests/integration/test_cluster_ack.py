"""Numbered messages and their acknowledgement (issue 19, docs/cluster.md
"Acknowledgement to the client"): a SAY with a message id gets ACK once it
is safe (standalone: in the hub and queued to the history; in a cluster:
once Redis numbered it), and a retry of the same id (after a reconnection,
here or on another node, even after the first node died) is acknowledged,
not published twice."""

import signal
import struct
import time

import pytest

from conftest import Client, TIMEOUT
from redisfix import RedisServer, SLOW
from wire import (ACK, ERROR, HELLO, MESSAGE, NOTICE, NOTICE_JOIN, PING, PONG, SERVER_ACKS,
                  WELCOME, BinaryPeer, frame, hello, say)

BASE = 0x2345_6789_ABCD_0000  # a client's first message id (random in the real one)


@pytest.fixture
def redis(tmp_path):
    r = RedisServer(tmp_path)
    yield r
    r.stop()


def start_nodes(start_server, redis, n=3):
    nodes = [start_server("--redis", f"redis://127.0.0.1:{redis.port}") for _ in range(n)]
    for node in nodes:
        node.wait_log(r"cluster: linked through Redis")
    return nodes


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


def test_a_refused_numbered_say_is_settled(server):
    """Refused with an ERROR, then ACK 0: the client does not keep it to
    send again after a reconnection."""
    ana = BinaryPeer(server.port)
    ana.join("ana")
    ana.send(say("ailleurs", room="jamais", msg_id=BASE + 5))
    before = sync(ana)
    assert [m["type"] for m in before] == [ERROR, ACK], before
    assert before[1]["msg_id"] == BASE + 5 and before[1]["id"] == 0


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
