"""Resume on another node of a cluster (issue 19, docs/cluster.md): a
session kept in Redis brings a binary user back, as itself, on any node,
at once after its node was SIGKILLed; the terminal client coming back on
another node shows nothing twice. A real redis-server and three nodes."""

import json
import signal
import subprocess
import time


from conftest import BUILD, Peer, TIMEOUT
from redisfix import SLOW, redis, start_nodes  # noqa: F401 (fixture)
from wire import BinaryPeer, frame, hello, s, say, varint, ERROR, HISTORY, IMAGE, MESSAGE, \
    NOTICE, WELCOME, NOTICE_INFO

# The dead node's pseudo claims lapse after this (BUS_REDIS_CLAIM_TTL_MS).
CLAIM_TTL_S = 6.0


def read_until(peer, wanted):
    """Every line of a text peer up to `wanted` (returns, renames...)."""
    got = []
    while True:
        line = peer.line()
        got.append(line)
        if line == wanted:
            return got


def kill(node):
    node.proc.send_signal(signal.SIGKILL)
    node.proc.wait()
    node.log_file.close()


def test_binary_peer_resumes_on_another_node_at_once(start_server, redis):
    nodes = start_nodes(start_server, redis)
    witness = Peer(nodes[1].port)
    witness.join("témoin")
    a = BinaryPeer(nodes[0].port)
    w = a.join("revenant")
    witness.skip_until("Annonce : revenant a rejoint la chatroom")
    a.send(say("dit avant la panne"))
    witness.skip_until("revenant a dit : dit avant la panne")
    witness.send("vu de tous\n")
    a.until(MESSAGE, text="vu de tous")
    kill(nodes[0])
    started = time.monotonic()
    # Back on another node with its token, before the dead node's claim on
    # the pseudo lapses: as itself, and the claim is taken over at once.
    b = BinaryPeer(nodes[1].port)
    b.send(hello("ignoré", token=w["token"], after=12345))
    back = b.expect(WELCOME, returning=True, pseudo="revenant", user=w["user"],
                    colour=w["colour"], room="general")
    assert time.monotonic() - started < CLAIM_TTL_S / 2, "waited for the claim to lapse"
    assert len(back["token"]) == 32 and back["token"] != w["token"]
    # Ids are per node: the room's whole history comes, the client keeps
    # what it had not shown (test_client_* below); it has this node's ids.
    h = b.expect(HISTORY)
    said = [e["text"] for e in json.loads(h["json"]) if e["kind"] == "message"]
    assert "dit avant la panne" in said and "vu de tous" in said
    b.until(NOTICE, kind=NOTICE_INFO, text="Welcome back revenant !")
    witness.skip_until("revenant est de retour !")
    b.send(say("de retour ailleurs"))
    witness.skip_until("revenant a dit : de retour ailleurs")
    # Its pseudo is its own across the cluster: a newcomer on the third
    # node is refused it.
    other = Peer(nodes[2].port)
    other.send("Hello|revenant\n")
    other.skip_until("Erreur : le pseudo revenant est déjà pris")
    # The old token was spent: refused on every node.
    thief = BinaryPeer(nodes[2].port)
    thief.send(hello("x", token=w["token"]))
    assert thief.expect(ERROR)["code"] == 8
    # The new one brings it back again, on the third node, after a drop.
    b.close()
    witness.skip_until("Annonce : revenant a quitté la chatroom")
    c = BinaryPeer(nodes[2].port)
    c.send(hello("x", token=back["token"]))
    c.expect(WELCOME, returning=True, pseudo="revenant", user=w["user"], colour=w["colour"])
    witness.skip_until("revenant est de retour !")
    nodes.pop(0)


def test_forged_tokens_refused_and_a_token_takes_its_session_over(start_server, redis):
    nodes = start_nodes(start_server, redis, n=2)
    p = BinaryPeer(nodes[1].port)
    p.send(hello("x", token=b"\x01" * 32))
    err = p.expect(ERROR)
    assert err["code"] == 8 and err["text"] == "jeton de reprise inconnu ou expiré"
    w = p.join("honnête")
    # Its token on the same node while it is connected: refused, as on a
    # server alone.
    q = BinaryPeer(nodes[1].port)
    q.send(hello("x", token=w["token"]))
    assert q.expect(ERROR)["code"] == 8
    # On another node the token wins (its node may have died: nobody can
    # tell at once): the session moves there, and the old connection
    # gives the pseudo up once its node renews the claim (every 2 s).
    r = BinaryPeer(nodes[0].port)
    r.send(hello("x", token=w["token"]))
    r.expect(WELCOME, returning=True, pseudo="honnête", user=w["user"], colour=w["colour"])
    deadline = time.monotonic() + CLAIM_TTL_S * SLOW
    while True:
        m = p.next(timeout=max(0.1, deadline - time.monotonic()))
        if m["type"] == ERROR:
            old = m
            break
    assert old["text"] == "le pseudo honnête est déjà pris", old
    assert p.closed()
    # The one left says it, once.
    witness = Peer(nodes[1].port)
    witness.join("témoin")
    r.send(say("seul à ce nom"))
    witness.skip_until("honnête a dit : seul à ce nom")


def test_client_comes_back_on_another_node_showing_nothing_twice(start_server, redis):
    from conftest import Client
    nodes = start_nodes(start_server, redis)
    ana = Peer(nodes[0].port)
    ana.join("ana")
    ana.send("avant cli\n")
    nodes_arg = f"127.0.0.1:{nodes[2].port},127.0.0.1:{nodes[0].port}"
    cli = Client(nodes[2].port, "-n", "cli", "--reconnect", "-a", nodes_arg)
    shown = []
    try:
        shown += cli.skip_until("Annonce : cli a rejoint la chatroom")
        ana.skip_until("Annonce : cli a rejoint la chatroom")
        ana.send("avant\n")
        shown += cli.skip_until("ana a dit : avant")
        shown.append("ana a dit : avant")
        cli.type("moi avant\n")
        ana.skip_until("cli a dit : moi avant")
        kill(nodes[2])
        ana.send("pendant\n")
        started = time.monotonic()
        shown += cli.skip_until("*** reconnecté", timeout=TIMEOUT + 10 * SLOW)
        read_until(ana, "cli est de retour !")
        ana.send("après\n")
        shown += cli.skip_until("ana a dit : après")
        shown.append("ana a dit : après")
        # Resumed at once: not refused until the dead node's claim lapsed.
        assert time.monotonic() - started < CLAIM_TTL_S, shown
        assert not any("déjà pris" in line for line in shown), shown
        cli.type("me revoilà\n")
        read_until(ana, "cli a dit : me revoilà")
        cli.proc.stdin.close()
        assert cli.wait()[0] == 0
    finally:
        if cli.proc.poll() is None:
            cli.kill()
        nodes.pop()
    # Every event once, history blocks included: none of what was shown
    # before the node died shows again on the next one.
    for line in ("ana a dit : avant cli", "ana a dit : avant", "ana a dit : pendant",
                 "Annonce : ana a rejoint la chatroom"):
        assert shown.count(line) == 1, (line, shown)
    assert shown.count("Vous avez dit : moi avant") <= 1 and "cli a dit : moi avant" not in shown, shown
    events = [line for line in shown if " a dit : " in line or line.startswith("Annonce : ")]
    assert len(events) == len(set(events)), shown
    # A history block of nothing new is not shown at all.
    heads = [i for i, line in enumerate(shown) if line.startswith("── historique")]
    for i in heads:
        assert not shown[i + 1].startswith("── fin de l'historique"), shown


def test_sessions_kept_in_redis_are_bounded_per_address(start_server, redis):
    """One address churning binary sessions: Redis keeps no more of them
    than the node does (twice --max-per-address), and a conversation
    beside goes on."""
    node = start_server("--redis", f"redis://127.0.0.1:{redis.port}", "--max-per-address", "3")
    node.wait_log(r"cluster: linked through Redis")
    talker, listener = Peer(node.port), Peer(node.port)
    talker.join("bavard")
    listener.join("auditeur")
    for i in range(20):
        b = BinaryPeer(node.port)
        b.join(f"passant{i}")
        b.close()
        listener.skip_until(f"Annonce : passant{i} a quitté la chatroom")
        talker.send(f"toujours là {i}\n")
        listener.skip_until(f"bavard a dit : toujours là {i}")
    keys = redis.command("KEYS", "session:*")
    assert 0 < len(keys) <= 6, keys



def test_client_moved_to_a_younger_node_then_dropped_misses_nothing(start_server, redis):
    """Event ids are per node: after a move the client's last id is the
    new node's, so a later resume on that node asks from the right place."""
    from conftest import Client
    old = start_nodes(start_server, redis, n=2)
    ana = Peer(old[0].port)
    ana.join("ana")
    for i in range(30):  # the old nodes' ids run ahead of the next one's
        ana.send(f"bruit {i}\n")
    young = start_nodes(start_server, redis, n=1)[0]
    cli = Client(old[1].port, "-n", "cli", "--reconnect", "-a",
                 f"127.0.0.1:{old[1].port},127.0.0.1:{young.port}")
    shown = []
    try:
        shown += cli.skip_until("ana a dit : bruit 29")
        kill(old[1])
        shown += cli.skip_until("*** reconnecté", timeout=TIMEOUT + 10 * SLOW)
        read_until(ana, "cli est de retour !")
        ana.send("sur le jeune\n")
        shown += cli.skip_until("ana a dit : sur le jeune")
        # Its connection to the young node cut while it is stopped: what is
        # said meanwhile comes with its resume there.
        cli.proc.send_signal(signal.SIGSTOP)
        subprocess.run(["ss", "-K", "dst", "127.0.0.1", "dport", "=", str(young.port)],
                       capture_output=True, check=False)
        read_until(ana, "Annonce : cli a quitté la chatroom")
        ana.send("pendant la coupure\n")
        time.sleep(0.2)
        cli.proc.send_signal(signal.SIGCONT)
        shown += cli.skip_until("ana a dit : pendant la coupure", timeout=TIMEOUT + 10 * SLOW)
        cli.proc.stdin.close()
        assert cli.wait()[0] == 0
    finally:
        if cli.proc.poll() is None:
            cli.proc.send_signal(signal.SIGCONT)
            cli.kill()
        old.pop()
    assert shown.count("ana a dit : sur le jeune") == 0, shown  # read by skip_until
    events = [line for line in shown if " a dit : " in line]
    assert len(events) == len(set(events)), shown


def test_terminal_client_in_tmux_comes_back_with_no_line_twice(start_server, redis, tmux,
                                                               tmp_path):
    """The full-screen client, in a real terminal: after its node is
    SIGKILLed it is back on another one, and its screen holds each line
    of the conversation once."""
    from conftest import client_command
    nodes = start_nodes(start_server, redis)
    ana = Peer(nodes[0].port)
    ana.join("ana")
    ana.send("premier mot\n")
    nodes_arg = f"127.0.0.1:{nodes[2].port},127.0.0.1:{nodes[0].port}"
    tmux.start("c", client_command(nodes[2].port) + f" -n cli -r general --reconnect -a {nodes_arg}",
               width=100, height=80)
    tmux.wait_for("c", "premier mot")
    read_until(ana, "Annonce : cli a rejoint la chatroom")
    ana.send("deuxième mot\n")
    tmux.wait_for("c", "deuxième mot")
    tmux.keys("c", "-l", "ma réponse")
    tmux.keys("c", "Enter")
    read_until(ana, "cli a dit : ma réponse")
    # A picture, seen live: not drawn again by the next node's history.
    subprocess.run([str(BUILD / "tests" / "make_images"), str(tmp_path)], check=True)
    png = (tmp_path / "landscape.png").read_bytes()
    photo = BinaryPeer(nodes[0].port)
    photo.join("photo")
    photo.send(frame(IMAGE, bytes(8) * 3 + b"\xff\xff" + s("") + s("") + s("image/png") +
                     (240).to_bytes(4, "big") + (160).to_bytes(4, "big") +
                     varint(len(png)) + png))
    tmux.wait_for("c", "photo a envoyé une image")
    kill(nodes[2])
    ana.send("pendant la panne\n")
    read_until(ana, "cli est de retour !")
    ana.send("après la panne\n")
    screen = tmux.wait_for("c", "après la panne")
    for words in ("premier mot", "deuxième mot", "ma réponse", "pendant la panne",
                  "après la panne", "photo a envoyé une image"):
        assert screen.count(words) == 1, (words, screen)
    assert "déjà pris" not in screen, screen
    tmux.keys("c", "C-d")
    tmux.wait_for("c", "[exit 0]")
    nodes.pop()
