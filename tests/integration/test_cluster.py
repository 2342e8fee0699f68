"""Several chatroom-server nodes sharing their rooms through a real
redis-server (issue 19 part 2, docs/cluster.md): one order for everyone,
history, a node killed, Redis stopped and back."""

import re
import signal
import socket
import time


from conftest import Peer, TIMEOUT
from redisfix import SLOW, redis, start_nodes  # noqa: F401 (fixture)


def url(redis):
    return f"redis://127.0.0.1:{redis.port}"


def join_all(nodes, names):
    """One text peer per name, spread over the nodes in turn; each waits
    until it has seen every later arrival, so all are in before a test."""
    peers = []
    for i, name in enumerate(names):
        p = Peer(nodes[i % len(nodes)].port)
        p.join(name)
        peers.append(p)
    for i, p in enumerate(peers):
        for later in names[i + 1:]:
            p.skip_until(f"Annonce : {later} a rejoint la chatroom")
    return peers


def lines_until(peer, last, timeout=TIMEOUT):
    got = []
    while True:
        line = peer.line(timeout)
        got.append(line)
        if line == last:
            return got


def test_messages_and_notices_in_one_order_across_nodes(start_server, redis):
    nodes = start_nodes(start_server, redis)
    names = ["ana", "bob", "cyd", "dan", "eve", "fay"]
    peers = join_all(nodes, names)
    # Everybody speaks at once, on every node; a newcomer and a departure
    # land in the middle.
    for round_ in range(5):
        for p in peers:
            p.send(f"m{round_} de {p.name}\n")
    late = Peer(nodes[1].port)
    late.send("Hello|gus\n")
    # Its lines, then a FIN: a close() with unread input would be a RST,
    # and the kernel would drop what the server had not read yet.
    peers[2].sock.shutdown(socket.SHUT_WR)
    for round_ in range(5, 10):
        for p in peers[:2] + peers[3:]:
            p.send(f"m{round_} de {p.name}\n")
    for p in peers[:2] + peers[3:]:
        p.send("fin\n")
    # What each stayer saw, but for its own lines (never echoed): every
    # other stayer's end, gus's arrival and all of cyd's (a node may number them after
    # the others' ends: senders on different nodes have no order between
    # them, only one order for everybody).
    seen = {}
    stayers = peers[:2] + peers[3:]
    cyd = [f"cyd a dit : m{r} de cyd" for r in range(5)] + [
        "Annonce : cyd a quitté la chatroom", "Annonce : gus a rejoint la chatroom"]
    for p in stayers:
        got = []
        wanted = {f"{q.name} a dit : fin" for q in stayers if q is not p} | set(cyd)
        while not wanted <= set(got):
            try:
                got.append(p.line())
            except AssertionError as e:
                raise AssertionError(f"{p.name} misses {wanted - set(got)}") from e
        seen[p.name] = got
    everything = set().union(*map(set, seen.values()))
    assert "Annonce : gus a rejoint la chatroom" in everything
    assert "Annonce : cyd a quitté la chatroom" in everything
    for p in stayers:
        for q in stayers:
            if q is p:
                continue
            said = [f"{q.name} a dit : m{r} de {q.name}" for r in range(10)]
            assert [l for l in seen[p.name] if l in said] == said, p.name
    # One order: any two members list the lines they both saw alike.
    for p in stayers:
        for q in stayers:
            common = set(seen[p.name]) & set(seen[q.name])
            assert [l for l in seen[p.name] if l in common] == \
                [l for l in seen[q.name] if l in common], (p.name, q.name)
    for p in stayers:
        p.silent(0.3)


DOWN = "Annonce : liaison avec les autres serveurs perdue ; vos messages partiront à son retour"
UP = "Annonce : liaison avec les autres serveurs rétablie"


def said_by_others(peer, others, count, timeout=TIMEOUT):
    """The next `count` messages of others as peer reads them, with the
    notices in between."""
    got, notices = [], []
    while len(got) < count:
        line = peer.line(timeout)
        if " a dit : " in line:
            got.append(line)
        else:
            notices.append(line)
    return got, notices


def test_redis_stopped_five_seconds_loses_nothing(start_server, redis):
    nodes = start_nodes(start_server, redis)
    names = ["ana", "bob", "cyd"]
    peers = join_all(nodes, names)
    for p in peers:
        p.send(f"avant de {p.name}\n")
    before = {p.name: said_by_others(p, peers, 2)[0] for p in peers}
    redis.stop()
    for p in peers:
        p.expect(DOWN)
    # Said while Redis is away: they wait on their node.
    for i in range(3):
        for p in peers:
            p.send(f"pendant{i} de {p.name}\n")
    for p in peers:
        p.silent(0.2)
    time.sleep(5)
    redis.start()
    for p in peers:
        p.send(f"après de {p.name}\n")
    seen = {}
    for p in peers:
        got, notices = said_by_others(p, peers, 2 * 4, timeout=TIMEOUT + 10 * SLOW)
        # Others' messages may come first: the node's two connections come
        # back each after its own backoff, and the notice waits for both.
        if UP not in notices:
            notices.append(p.line(timeout=TIMEOUT))
        assert notices == [UP], (notices, got)
        seen[p.name] = got
    for p in peers:
        for q in peers:
            if q is p:
                continue
            mine = [l for l in seen[p.name] if l.startswith(q.name + " ")]
            assert mine == [f"{q.name} a dit : pendant{i} de {q.name}" for i in range(3)] + \
                [f"{q.name} a dit : après de {q.name}"], p.name
        assert len(before[p.name]) == 2
    # One order for all: the lines two peers share come alike.
    for p in peers:
        for q in peers:
            common = set(seen[p.name]) & set(seen[q.name])
            assert [l for l in seen[p.name] if l in common] == \
                [l for l in seen[q.name] if l in common]
    for p in peers:
        p.silent(0.3)
    for node in nodes:
        assert "never reached Redis" not in node.log()


def test_redis_that_stops_answering_for_a_while_loses_nothing(start_server, redis):
    # Paused, not gone: the connection stays open and commands wait for
    # their answer past the link's ping interval (5 s). The node must go
    # on (drop the link at a command's deadline, link again), not spin on
    # its timer.
    (node,) = start_nodes(start_server, redis, 1)
    ana, bob = join_all([node], ["ana", "bob"])
    redis.proc.send_signal(signal.SIGSTOP)
    try:
        ana.send("pendant la pause\n")
        time.sleep(6.5)
    finally:
        redis.proc.send_signal(signal.SIGCONT)
    lines_until(bob, "ana a dit : pendant la pause", TIMEOUT + 10 * SLOW)
    bob.send("après la pause\n")
    lines_until(ana, "bob a dit : après la pause", TIMEOUT + 10 * SLOW)


PSEUDO_TAKEN = "Erreur : le pseudo {} est déjà pris"


def test_pseudo_is_unique_across_nodes(start_server, redis):
    nodes = start_nodes(start_server, redis)
    ana = Peer(nodes[0].port)
    ana.join("zoé")
    # Another node, a look-alike of a pseudo worn on the first: refused.
    other = Peer(nodes[1].port)
    other.send("Hello|ZOÉ\n")
    assert other.closed(), "the second zoé was let in"
    assert PSEUDO_TAKEN.format("ZOÉ").encode() in other.buf
    # At once on two nodes: one keeps it, the other is refused.
    a, b = Peer(nodes[1].port), Peer(nodes[2].port)
    a.send("Hello|yan\n")
    b.send("Hello|yan\n")
    closed = [p for p in (a, b) if p.closed(timeout=2 * SLOW)]
    assert len(closed) == 1, "both or neither kept yan"
    kept = b if closed == [a] else a
    kept.send("toujours là\n")
    ana.skip_until("yan a dit : toujours là")
    # Freed when its wearer leaves: taken on another node at once.
    kept.close()
    ana.skip_until("Annonce : yan a quitté la chatroom")
    again = Peer(nodes[0].port)
    again.join("yan")
    again.silent(1.0)


def test_history_of_a_room_on_another_node(start_server, redis):
    nodes = start_nodes(start_server, redis)
    # A newcomer-to-be on a node where nobody is ever in that room.
    cyd = Peer(nodes[2].port)
    cyd.join("cyd")
    bob = Peer(nodes[0].port)
    bob.join("bob", room="lointain")
    ana = Peer(nodes[0].port)
    ana.join("ana", room="lointain")
    for i in range(5):
        ana.send(f"souvenir {i}\n")
    lines_until(bob, "ana a dit : souvenir 4")
    # Published after the souvenirs: once cyd's node has it, it has them.
    eve = Peer(nodes[0].port)
    eve.join("eve")
    cyd.skip_until("Annonce : eve a rejoint la chatroom")
    cyd.send("/join lointain\n")
    history = cyd.skip_until("Annonce : cyd a rejoint le salon lointain")
    said = [re.sub(r"^\[\d\d:\d\d\] ", "", l) for l in history if " a dit : " in l]
    assert said == [f"ana a dit : souvenir {i}" for i in range(5)]
    ana.send("encore\n")
    cyd.skip_until("ana a dit : encore")


def rejoin(port, pseudo, deadline):
    """Joins as pseudo, again until the dead node's claim on it lapses."""
    while True:
        p = Peer(port)
        p.send(f"Hello|{pseudo}\n")
        history, in_history = [], False
        while True:
            try:
                line = p.line(timeout=5 * SLOW)
            except AssertionError:
                line = None
            if line is None or line.startswith("Erreur : "):
                break
            if line.startswith("Annonce : historique du salon "):
                in_history = True
            elif line == "Annonce : fin de l'historique":
                in_history = False
            elif in_history:
                history.append(re.sub(r"^\[\d\d:\d\d\] ", "", line))
            elif line in (f"Annonce : {pseudo} a rejoint la chatroom",
                          f"Welcome back {pseudo} !"):
                # (Back as itself when its refused tries left it "away"
                # here.) The claim's answer comes within a moment: kept
                # only if no refusal follows.
                refused = False
                while True:
                    try:
                        later = p.line(timeout=1.0 * SLOW)
                    except AssertionError:
                        break
                    if later.startswith("Erreur : "):
                        refused = True
                        break
                    history.append(later)
                if not refused:
                    return p, history
                break
        p.close()
        assert time.monotonic() < deadline, f"{pseudo} never got its pseudo back"
        time.sleep(0.5)


def test_node_killed_mid_conversation(start_server, redis):
    nodes = start_nodes(start_server, redis)
    names = ["ana", "bob", "cyd", "dan"]
    ana, bob, cyd, dan = join_all([nodes[0], nodes[1], nodes[2], nodes[2]], names)
    for i in range(5):
        for p in (ana, bob, cyd):
            p.send(f"m{i} de {p.name}\n")
    nodes[2].proc.send_signal(signal.SIGKILL)
    nodes[2].proc.wait()
    for i in range(5, 10):
        for p in (ana, bob):
            p.send(f"m{i} de {p.name}\n")
    for p in (ana, bob):
        p.send("fin\n")
    assert cyd.closed() and dan.closed()
    # They come back on the nodes left, under their pseudos.
    deadline = time.monotonic() + 20 * SLOW
    cyd, cyd_history = rejoin(nodes[0].port, "cyd", deadline)
    dan, dan_history = rejoin(nodes[1].port, "dan", deadline)
    ana_seen = lines_until(ana, "bob a dit : fin")
    bob_seen = lines_until(bob, "ana a dit : fin")
    for who, seen in (("cyd", cyd_history), ("dan", dan_history)):
        for q in ("ana", "bob"):
            said = [l for l in seen if l.startswith(f"{q} a dit : ")]
            assert said == [f"{q} a dit : m{i} de {q}" for i in range(10)] + \
                [f"{q} a dit : fin"], who
    # What the dead node's user said reached the others once each, in order
    # (a prefix: what Redis had when it died).
    for seen in (ana_seen, bob_seen, cyd_history, dan_history):
        said = [l for l in seen if l.startswith("cyd a dit : m")]
        assert said == [f"cyd a dit : m{i} de cyd" for i in range(len(said))]
    assert [l for l in ana_seen if l.startswith("bob a dit")] == \
        [f"bob a dit : m{i} de bob" for i in range(10)] + ["bob a dit : fin"]
    nodes[2].log_file.close()
    nodes.pop()


def test_client_with_several_nodes_comes_back_on_another(start_server, redis):
    from conftest import Client
    nodes = start_nodes(start_server, redis)
    ana = Peer(nodes[0].port)
    ana.join("ana")
    # The client's list: the node it lands on first, then another.
    nodes_arg = f"127.0.0.1:{nodes[2].port},127.0.0.1:{nodes[0].port}"
    cli = Client(nodes[2].port, "-n", "cli", "--reconnect", "-a", nodes_arg)
    try:
        cli.skip_until("Annonce : cli a rejoint la chatroom")
        ana.skip_until("Annonce : cli a rejoint la chatroom")
        ana.send("avant\n")
        cli.skip_until("ana a dit : avant")
        nodes[2].proc.send_signal(signal.SIGKILL)
        nodes[2].proc.wait()
        ana.send("pendant\n")
        # Back on node 0 at once, resumed with its token (its session and
        # pseudo claim are the cluster's: test_cluster_resume.py).
        after = cli.skip_until("*** reconnecté", timeout=TIMEOUT + 10 * SLOW)
        lines_until(ana, "cli est de retour !")
        ana.send("après\n")
        after += cli.skip_until("ana a dit : après")
        # What it missed once, and nothing it had shown, history included.
        assert after.count("ana a dit : pendant") == 1 and "ana a dit : avant" not in after, after
        cli.type("me revoilà\n")
        lines_until(ana, "cli a dit : me revoilà")
        cli.proc.stdin.close()
        assert cli.wait()[0] == 0
    finally:
        if cli.proc.poll() is None:
            cli.kill()
        nodes[2].log_file.close()
        nodes.pop()


def test_client_address_list_first_node_down_and_bad_lists(server):
    from conftest import Client
    from redisfix import free_port
    dead = free_port()  # nothing listens there
    cli = Client(server.port, "-n", "liste", "-a", f"127.0.0.1:{dead},127.0.0.1:{server.port}")
    try:
        cli.skip_until("Annonce : liste a rejoint la chatroom")
        cli.proc.stdin.close()
        assert cli.wait()[0] == 0
    finally:
        if cli.proc.poll() is None:
            cli.kill()
    for bad in (f"127.0.0.1:{server.port},", "127.0.0.1:0", "127.0.0.1:99999",
                "[::1", ",".join(["127.0.0.1"] * 9)):
        cli = Client(server.port, "-n", "x", "-a", bad)
        code, err = cli.wait()
        assert code == 1 and "invalide" in err, (bad, code, err)


def test_bad_redis_url_is_refused_at_start(tmp_path):
    import subprocess
    from conftest import SERVER_BIN, child_env
    for bad in ("rediss://127.0.0.1", "http://x", "redis://h:99999"):
        run = subprocess.run([str(SERVER_BIN), "-p", "0", "--history", "none", "--log", "none",
                              "--redis", bad], capture_output=True, text=True,
                             env=child_env(), timeout=TIMEOUT)
        assert run.returncode != 0, bad
        assert "--redis" in run.stderr and bad in run.stderr, run.stderr


def test_newcomer_while_redis_is_away_is_told(start_server, redis):
    nodes = start_nodes(start_server, redis, 2)
    ana = Peer(nodes[0].port)
    ana.join("ana")
    redis.stop()
    ana.expect(DOWN)
    bob = Peer(nodes[1].port)
    bob.send("Hello|bob\n")
    # Its history, then why its arrival is not confirmed yet.
    assert lines_until(bob, DOWN)[-2] == "Annonce : fin de l'historique"
    bob.silent(0.5)
    redis.start()
    bob.expect(UP)
    bob.expect("Annonce : bob a rejoint la chatroom")
    # (ana's node may hear bob's arrival before its own commands are back.)
    assert {ana.line(), ana.line()} == {UP, "Annonce : bob a rejoint la chatroom"}
