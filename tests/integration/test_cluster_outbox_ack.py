"""A numbered message refused because the bus's outbox is full (Redis away,
docs/cluster.md "The Redis bus") is settled like any refused numbered
message (docs/protocol.md "Numbered messages"): an ERROR saying why, then
ACK 0, so the client neither waits for it nor sends it again."""

from conftest import Peer, TIMEOUT
from redisfix import SLOW, redis, start_nodes  # noqa: F401 (fixture)
from test_cluster_ack import BASE, sync
from test_cluster_bounds import DOWN, NOT_SENT, OUTBOX_MAX, Lines
from wire import ACK, ERROR, BinaryPeer, say


def test_a_numbered_say_refused_by_a_full_outbox_is_settled(start_server, redis):
    node, = start_nodes(start_server, redis, 1, "--flood-rate", "0")
    ana = BinaryPeer(node.port)
    ana.join("ana", room="crue")
    fl = Peer(node.port)
    fl.join("fl", room="crue")
    redis.stop()
    fl.expect(DOWN)
    # One past the bound: the outbox is full once fl is told so.
    fl_lines = Lines(fl)
    fl.sock.sendall("".join(f"f{i}\n" for i in range(OUTBOX_MAX + 1)).encode())
    try:
        fl_lines.wait_for(lambda got: NOT_SENT in got, TIMEOUT * SLOW)
    except AssertionError:
        print(node.log()[-3000:]); raise
    ana.send(say("refusé", msg_id=BASE + 1))
    settled = [m for m in sync(ana) if m["type"] in (ERROR, ACK)]
    assert [m["type"] for m in settled] == [ERROR, ACK], settled
    assert "trop de messages attendent" in settled[0]["text"], settled[0]
    assert settled[1]["msg_id"] == BASE + 1 and settled[1]["id"] == 0, settled[1]
