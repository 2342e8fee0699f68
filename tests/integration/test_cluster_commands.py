"""/who and /rooms across the nodes of a cluster (issue 19 part 3,
docs/cluster.md "Presence"): a real redis-server and three nodes; every
node's members listed, a node's departures and death seen, Redis away
answered with the node's own view, said so; a hostile Redis's junk
skipped."""

import re
import signal
import time


from conftest import Peer, TIMEOUT
from redisfix import SLOW, redis, start_nodes  # noqa: F401 (fixture)
from wire import ERROR, ROOMS, ROOMS_ASK, WHO, WHO_ASK, BinaryPeer, frame, s

DOWN = "Annonce : liaison avec les autres serveurs perdue ; vos messages partiront à son retour"
LOCAL = ("Annonce : liaison avec les autres serveurs perdue : cette liste ne montre que "
         "ce serveur")
# A node writes its rooms a tick after a change; a dead node's members go
# once its beat lapses (the claim ttl, 6 s).
SETTLE = 3.0 * SLOW
TTL = 6.0


def ask(peer, command, prefix):
    """Sends a command; returns (its answer line, the notices before it)."""
    peer.send(command + "\n")
    before = []
    while True:
        line = peer.line()
        if line.startswith(prefix):
            return line, before
        before.append(line)


def who(peer, room="general"):
    line, before = ask(peer, "/who", f"Présents dans {room} : ")
    return set(line.split(" : ", 1)[1].split(", ")) - {""}, before


def rooms(peer):
    line, before = ask(peer, "/rooms", "Salons : ")
    got = dict(re.findall(r"([^ ,]+) \((\d+)\)", line.split(" : ", 1)[1]))
    return {k: int(v) for k, v in got.items()}, before


def until(fn, wanted, timeout):
    """fn() again until it returns wanted (first of the pair); the last."""
    deadline = time.monotonic() + timeout
    while True:
        got = fn()
        if got[0] == wanted or time.monotonic() > deadline:
            return got
        time.sleep(0.2)


def test_who_and_rooms_list_every_node(start_server, redis):
    nodes = start_nodes(start_server, redis)
    ana = Peer(nodes[0].port)
    ana.join("ana")
    bob = Peer(nodes[1].port)
    bob.join("bob")
    cyd = Peer(nodes[2].port)
    cyd.join("cyd")
    dan = Peer(nodes[2].port)
    dan.join("dan", room="loin")
    everyone = {"ana", "bob", "cyd"}
    got, before = until(lambda: who(ana), everyone, SETTLE)
    assert got == everyone
    assert LOCAL not in before
    assert until(lambda: who(bob), everyone, SETTLE)[0] == everyone
    got, _ = until(lambda: rooms(bob), {"general": 3, "loin": 1}, SETTLE)
    assert got == {"general": 3, "loin": 1}
    # dan's room seen from a node where nobody is in it.
    ana.send("/join loin\n")
    ana.skip_until("Annonce : ana a rejoint le salon loin")
    assert until(lambda: who(ana, "loin"), {"ana", "dan"}, SETTLE)[0] == {"ana", "dan"}
    # A departure on another node: gone from the list.
    cyd.close()
    got, _ = until(lambda: who(bob), {"bob", "ana"} - {"ana"}, SETTLE)
    assert got == {"bob"}  # ana moved to loin, cyd left
    # The binary protocol asks the same.
    b = BinaryPeer(nodes[1].port)
    b.join("eve")
    b.send(frame(WHO_ASK, s("loin")))
    b.until(ERROR)  # "loin" is not one of eve's rooms: refused ...
    # ... its own room is.
    deadline = time.monotonic() + SETTLE
    while True:
        b.send(frame(WHO_ASK, s("")))
        m = b.until(WHO)
        if set(m["members"]) == {"bob", "eve"} or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert set(m["members"]) == {"bob", "eve"}
    b.send(frame(ROOMS_ASK))
    m = b.until(ROOMS)
    assert m["rooms"].get("loin") == 2, m


def test_who_forgets_a_dead_node_and_a_stopped_one(start_server, redis):
    nodes = start_nodes(start_server, redis)
    ana = Peer(nodes[0].port)
    ana.join("ana")
    bob = Peer(nodes[1].port)
    bob.join("bob")
    cyd = Peer(nodes[2].port)
    cyd.join("cyd")
    everyone = {"ana", "bob", "cyd"}
    assert until(lambda: who(ana), everyone, SETTLE)[0] == everyone
    # Stopped: its members leave the lists at once (and say so).
    nodes[1].stop()
    assert until(lambda: who(ana), {"ana", "cyd"}, SETTLE)[0] == {"ana", "cyd"}
    # Killed: once its beat lapses.
    nodes[2].proc.send_signal(signal.SIGKILL)
    nodes[2].proc.wait()
    killed = time.monotonic()
    got, _ = until(lambda: who(ana), {"ana"}, TTL + SETTLE)
    assert got == {"ana"}
    assert time.monotonic() - killed < TTL + SETTLE
    assert rooms(ana)[0] == {"general": 1}
    nodes[2].log_file.close()
    nodes.pop()


def ana_and_bob_on_two_nodes(start_server, redis):
    """Two nodes, ana on the first and bob on the second, both listed
    (bob kept by the caller: a peer let go leaves)."""
    nodes = start_nodes(start_server, redis, 2)
    ana = Peer(nodes[0].port)
    ana.join("ana")
    bob = Peer(nodes[1].port)
    bob.join("bob")
    assert until(lambda: who(ana), {"ana", "bob"}, SETTLE)[0] == {"ana", "bob"}
    return nodes, ana, bob


def test_a_node_taken_for_dead_lists_its_members_again_once_it_beats(start_server, redis):
    # A node stalled past its beat's lifetime (a paused VM, a debugger) is
    # taken for dead and its members dropped from Redis; once it beats
    # again they must come back, though nothing changed in its room.
    nodes, ana, _bob = ana_and_bob_on_two_nodes(start_server, redis)
    nodes[1].proc.send_signal(signal.SIGSTOP)
    try:
        got, _ = until(lambda: who(ana), {"ana"}, TTL + SETTLE)
        assert got == {"ana"}
    finally:
        nodes[1].proc.send_signal(signal.SIGCONT)
    got, _ = until(lambda: who(ana), {"ana", "bob"}, TTL / 3 + SETTLE)
    assert got == {"ana", "bob"}
    assert rooms(ana)[0] == {"general": 2}


def test_redis_away_lists_this_node_and_says_so(start_server, redis):
    nodes, ana, _bob = ana_and_bob_on_two_nodes(start_server, redis)
    redis.stop()
    ana.expect(DOWN)
    got, before = who(ana)
    assert got == {"ana"} and before == [LOCAL], (got, before)
    got, before = rooms(ana)
    assert got == {"general": 1} and before == [LOCAL]
    redis.start()
    # Back: the nodes write their rooms again into the empty Redis.
    got, _ = until(lambda: who(ana), {"ana", "bob"}, TIMEOUT + SETTLE)
    assert got == {"ana", "bob"}


def test_junk_in_redis_is_skipped(start_server, redis):
    (node,) = start_nodes(start_server, redis, 1)
    ana = Peer(node.port)
    ana.join("ana")
    assert until(lambda: who(ana), {"ana"}, SETTLE)[0] == {"ana"}
    # Another "node" alive, with members and rooms of every shape.
    redis.command("HSET", "{cluster}:nodes", "evil", str(2 ** 52))
    key = "{cluster}:who:{general}"
    redis.command("HSET", key, "evil:a", "7|zed", "evil:b", "no bar", "evil:c", "999|big",
                  "evil:d", "3|" + "x" * 200, "evil:e", "4|\x1b[31mred", "evil:f", "|",
                  "evil:g", "-1|anon")
    redis.command("HSET", "{cluster}:rooms", "evil|{general}", "5|general",
                  "evil|{x}", "junk", "evil|{y}", "2|" + "y" * 300, "evil|{z}", "1|zz")
    got, _ = who(ana)
    assert got == {"ana", "zed", "^[[31mred", "anon"}, got
    got, _ = rooms(ana)
    assert got == {"general": 6, "zz": 1}, got


# ---- private messages across nodes ---------------------------------------------

def test_private_messages_across_nodes(start_server, redis):
    nodes = start_nodes(start_server, redis)
    ana = Peer(nodes[0].port)
    ana.join("ana")
    bob = Peer(nodes[1].port)
    bob.join("bob")
    ana.skip_until("Annonce : bob a rejoint la chatroom")
    ana.send("/msg bob salut de loin\n")
    bob.expect("ana a dit en privé : salut de loin")
    ana.expect("Vous avez dit en privé à bob : salut de loin")
    # /reply goes back across, to the node that holds ana.
    bob.send("/reply bien reçu\n")
    ana.expect("bob a dit en privé : bien reçu")
    bob.expect("Vous avez dit en privé à ana : bien reçu")
    # Nobody of that name: the same error as on one server.
    ana.send("/msg personne allô\n")
    ana.expect("Erreur : personne ne s'appelle personne ici")
    # A third node, a look-alike spelling.
    cyd = Peer(nodes[2].port)
    cyd.join("cyd")
    bob.skip_until("Annonce : cyd a rejoint la chatroom")
    cyd.send("/msg BOB et toi\n")
    bob.expect("cyd a dit en privé : et toi")
    cyd.expect("Vous avez dit en privé à BOB : et toi")
    # Ignored on its node: dropped there without a word, as on one server.
    bob.send("/ignore cyd\n")
    bob.line()
    cyd.send("/msg bob tu m'entends\n")
    cyd.expect("Vous avez dit en privé à bob : tu m'entends")
    bob.silent(0.5)
    # Gone: its claim with it.
    bob.close()
    ana.skip_until("Annonce : bob a quitté la chatroom")
    ana.send("/msg bob encore là\n")
    ana.expect("Erreur : personne ne s'appelle bob ici")


def test_private_message_while_redis_is_away_is_refused_clearly(start_server, redis):
    nodes = start_nodes(start_server, redis, 2)
    ana = Peer(nodes[0].port)
    ana.join("ana")
    bob = Peer(nodes[1].port)
    bob.join("bob")
    ana.skip_until("Annonce : bob a rejoint la chatroom")
    redis.stop()
    ana.expect(DOWN)
    ana.send("/msg bob tu es là\n")
    ana.expect("Erreur : message privé à bob non envoyé : liaison avec les autres serveurs "
               "perdue, réessayez à son retour")
    # On its own node a private message still goes.
    eve = Peer(nodes[0].port)
    eve.send("Hello|eve\n")
    while eve.line() != DOWN:  # named: its history, then why its arrival waits
        pass
    ana.send("/msg eve ici\n")
    ana.skip_until("Vous avez dit en privé à eve : ici")


def test_junk_on_a_node_channel_is_skipped(start_server, redis):
    (node,) = start_nodes(start_server, redis, 1)
    ident = node.wait_log(r"cluster: node ([0-9a-f]{16})").group(1)
    ana = Peer(node.port)
    ana.join("ana")
    channel = "{cluster}:node:" + ident
    for junk in ("", "x", "1\np\nana\n2\n3\nzed\n", "1\np\nana\nx\n3\nzed\nhi",
                 "1\np\nana\n2\n300\nzed\nhi", "1\np\nana\n2\n3\n" + "z" * 100 + "\nhi",
                 "1\nq\nana\n2\n3\nzed\nhi", "1\n\nana\n2\n3\nzed\nhi",
                 "99999\np\nana\n2\n3\nzed\nfor a connection gone"):
        redis.command("PUBLISH", channel, junk)
    node.wait_log(r"a private message for a user gone")
    assert node.log().count("on this node's channel is malformed") == 8
    ana.silent(0.3)


# ---- moderation across nodes ---------------------------------------------------

def test_kick_and_mute_across_nodes(start_server, redis, tmp_path):
    import hashlib
    import os
    secret = os.urandom(32)
    ops = tmp_path / "operators"
    ops.write_text(hashlib.sha256(secret).hexdigest() + "\n")
    nodes = [start_server("--redis", f"redis://127.0.0.1:{redis.port}", "--operators", str(ops))
             for _ in range(2)]
    for node in nodes:
        node.wait_log(r"cluster: linked through Redis")
    op = Peer(nodes[0].port)
    op.send(f"/identify modo {secret.hex()}\n")
    # (Its arrival comes back through Redis: before or after.)
    wanted = {"Annonce : modo a rejoint la chatroom", "Annonce : le pseudo modo est à vous"}
    while wanted:
        wanted.discard(op.line())
    bob = Peer(nodes[1].port)
    bob.join("bob")
    op.skip_until("Annonce : bob a rejoint la chatroom")
    # Not an operator: refused on its own node, whoever it aims at.
    bob.send("/kick modo\n")
    bob.expect("Erreur : réservé aux opérateurs (--operators)")
    op.send("/mute bob 10m\n")
    op.expect("Annonce : bob est muet pour 10m")
    bob.expect("Annonce : modo vous a rendu muet pour 10m")
    bob.send("je parle\n")
    bob.expect("Erreur : vous êtes muet pour l'instant")
    op.send("/mute bob jamais\n")
    op.expect("Erreur : usage : /mute PSEUDO DURÉE (30s, 10m, 2h, 1j)")
    op.send("/kick zed\n")
    op.expect("Erreur : personne ne s'appelle zed ici")
    op.send("/kick bob trop bavard\n")
    bob.expect("Erreur : vous avez été expulsé par modo : trop bavard")
    assert bob.closed()
    op.skip_until("Annonce : bob a quitté la chatroom")
    assert "modo (another server) kicked bob" in nodes[1].log()
