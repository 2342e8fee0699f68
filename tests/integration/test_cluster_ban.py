"""/ban across nodes (issue 19, docs/cluster.md "Private messages",
Moderation): an operator's /ban of another node's user goes through that
node's channel; the user is put out, told by whom and why, and the ban is
recorded in that node's bans (file), which refuse the user there again."""

import hashlib
import os


from redisfix import redis  # noqa: F401 (fixture)
from wire import ERR_REFUSED, ERROR, WELCOME, BinaryPeer, hello
from conftest import Peer

OP_SECRET = os.urandom(32)


def test_ban_of_another_nodes_user(start_server, redis, tmp_path):
    ops = tmp_path / "operators"
    ops.write_text(hashlib.sha256(OP_SECRET).hexdigest() + "\n")
    url = f"redis://127.0.0.1:{redis.port}"
    a = start_server("--redis", url, "--operators", str(ops))
    b = start_server("--redis", url, "--operators", str(ops),
                     "--history", str(tmp_path / "b.jsonl"))
    for node in (a, b):
        node.wait_log(r"cluster: linked through Redis")
    op = Peer(a.port)
    op.send(f"/identify modo {OP_SECRET.hex()}\n")
    wanted = {"Annonce : modo a rejoint la chatroom", "Annonce : le pseudo modo est à vous"}
    while wanted:
        wanted.discard(op.line())
    eve_secret = os.urandom(32)
    eve = BinaryPeer(b.port)
    eve.send(hello("eve", identity=eve_secret))
    eve.expect(WELCOME, pseudo="eve")
    op.skip_until("Annonce : eve a rejoint la chatroom")
    max_ = BinaryPeer(b.port)
    max_.send(hello("max", identity=os.urandom(32)))
    max_.expect(WELCOME, pseudo="max")
    op.skip_until("Annonce : max a rejoint la chatroom")
    # Not an operator: refused on its own node, whoever it aims at.
    bob = Peer(a.port)
    bob.join("bob")
    op.skip_until("Annonce : bob a rejoint la chatroom")
    bob.send("/ban eve\n")
    bob.expect("Erreur : réservé aux opérateurs (--operators)")
    op.send("/ban zed\n")
    op.expect("Erreur : personne ne s'appelle zed ici")
    op.send("/ban eve 1j pourriel\n")
    eve.until(ERROR, code=ERR_REFUSED, text="vous avez été banni par modo : pourriel")
    assert eve.closed()
    op.skip_until("Annonce : eve a quitté la chatroom")
    assert "modo (another server) banned eve" in b.log()
    # Without a duration nor a reason: for ever.
    op.send("/ban max\n")
    max_.until(ERROR, code=ERR_REFUSED, text="vous avez été banni par modo : sans raison donnée")
    assert max_.closed()
    op.skip_until("Annonce : max a quitté la chatroom")
    # Held on eve's node, by identity (and address: every test peer's).
    again = BinaryPeer(b.port)
    again.send(hello("eve2", identity=eve_secret))
    again.expect(ERROR, code=ERR_REFUSED, text="vous êtes banni : pourriel")
    assert "eve" in (tmp_path / "b.jsonl.bans").read_text()
