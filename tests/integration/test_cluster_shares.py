"""One user cannot use up a node's shared cluster bounds (pending /who
questions to Redis, CLUSTER_WHO_MAX_ASKS = 256; private messages out to
other nodes, CLUSTER_ROUTE_MAX_OUT = 1024) and so deny /who and /msg to
everyone else on its node. The flood control alone does it with its
defaults (a command costs tokens: /who 2, /msg 1, --flood-burst 100 at
once, and a peer that keeps flooding is cut), but not with --flood-rate 0
or a large --flood-burst: each connection has its own share besides
(CLUSTER_WHO_MAX_ASKS_PER_CONN 16, CLUSTER_ROUTE_MAX_OUT_PER_CONN 64),
and each address (CLUSTER_WHO_MAX_ASKS_PER_ADDRESS 64,
CLUSTER_ROUTE_MAX_OUT_PER_ADDRESS 256), for one user with many
connections. The tests flood far past the bounds, beside a user of the
same node whose /who and /msg must still reach the other node."""

import signal
import time

import pytest

from conftest import Peer
from redisfix import SLOW, redis, start_nodes  # noqa: F401 (fixture)
from test_cluster_commands import LOCAL, SETTLE, until, who

# Each round: 300 /who and 1 200 /msg to the other node's user, at once.
BUSY_WHO = ("Annonce : trop de listes demandées à la fois : cette liste ne montre que ce "
            "serveur")
BUSY_MSG = ("Erreur : message privé à bob non envoyé : trop de messages privés encore en "
            "route, réessayez")
FLOOD = ("/who\n" + "/msg bob x\n" * 4) * 300


def assert_answered_across(ana, echo):
    """ana's /who lists bob (the other node's) and her /msg is echoed:
    neither was refused nor answered with the node's own view."""
    members, seen = None, []
    while members is None or echo not in seen:
        line = ana.line()
        assert line != LOCAL and not line.startswith("Erreur"), line
        if line.startswith("Présents dans general : "):
            members = set(line.split(" : ", 1)[1].split(", "))
        seen.append(line)
    assert "bob" in members, members


@pytest.mark.parametrize("flood", [(), ("--flood-rate", "0")], ids=["flood-control", "no-flood-control"])
def test_one_user_flooding_who_and_msg_leaves_them_to_the_others(start_server, redis, flood):
    nodes = start_nodes(start_server, redis, 2, *flood)
    ana = Peer(nodes[0].port)
    ana.join("ana")
    bob = Peer(nodes[1].port)
    bob.join("bob")
    assert until(lambda: who(ana), {"ana", "bob"}, SETTLE)[0] == {"ana", "bob"}
    for round_ in range(3):
        mal = Peer(nodes[0].port)
        mal.join(f"mal{round_}")
        ana.skip_until(f"Annonce : mal{round_} a rejoint la chatroom")
        # ana asks right behind the flood: the same turn of the node's loop,
        # before Redis has answered the flood's questions.
        mal.send(FLOOD)
        ana.send(f"/who\n/msg bob salut {round_}\n")
        assert_answered_across(ana, f"Vous avez dit en privé à bob : salut {round_}")
        # bob hears ana among the flood's messages that got through.
        while (line := bob.line()) != f"ana a dit en privé : salut {round_}":
            assert line.startswith(("Annonce : ", f"mal{round_} a dit en privé : x")), line
        if flood:  # past its share, the flooder is told so
            told = set()
            while len(told) < 2:
                line = mal.line()
                if line in (BUSY_WHO, BUSY_MSG):
                    told.add(line)
        mal.close()


def test_one_address_flooding_from_many_connections_leaves_them_to_the_others(start_server,
                                                                              redis):
    # 20 connections from 127.0.0.1, each within its own share (16 /who,
    # 64 /msg), would take every place of the node (256, 1024) together.
    nodes = start_nodes(start_server, redis, 2, "--flood-rate", "0")
    ana = Peer(nodes[0].port, source="127.0.0.2")
    ana.join("ana")
    bob = Peer(nodes[1].port)
    bob.join("bob")
    assert until(lambda: who(ana), {"ana", "bob"}, SETTLE)[0] == {"ana", "bob"}
    mals = []
    for i in range(20):
        mal = Peer(nodes[0].port)
        mal.join(f"mal{i}")
        mals.append(mal)
    ana.skip_until("Annonce : mal19 a rejoint la chatroom")
    flood = "/who\n" * 16 + "/msg bob x\n" * 64
    # Redis held still meanwhile, so that the flood's questions and
    # messages are all out when ana's come (well within the 5 s deadline).
    redis.proc.send_signal(signal.SIGSTOP)
    try:
        for mal in mals:
            mal.send(flood)
        time.sleep(0.5 * SLOW)
        ana.send("/who\n/msg bob salut\n")
        time.sleep(0.2 * SLOW)
    finally:
        redis.proc.send_signal(signal.SIGCONT)
    assert_answered_across(ana, "Vous avez dit en privé à bob : salut")
    while (line := bob.line()) != "ana a dit en privé : salut":
        assert line.startswith(("Annonce : ", "mal")), line
