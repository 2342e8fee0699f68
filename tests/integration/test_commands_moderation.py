"""Issue 16, moderation: operators listed by identity (--operators), /kick,
/mute, /ban (identity and address, kept across restarts in a bans file),
/unban, /bans; the target told why; anybody else refused."""

import hashlib
import os
import stat

from wire import ERR_REFUSED, ERROR, WELCOME, BinaryPeer, hello

OP_SECRET = os.urandom(32)


def hello_with(pseudo, secret):
    return hello(pseudo, identity=secret)


def start(start_server, tmp_path):
    ops = tmp_path / "operators"
    ops.write_text("# the moderators\n" + hashlib.sha256(OP_SECRET).hexdigest() + "\n")
    return start_server("--history", str(tmp_path / "h.jsonl"), "--operators", str(ops))


def operator(srv):
    op = srv.peer()
    op.send(f"/identify modo {OP_SECRET.hex()}\n")
    op.skip_until("Annonce : modo a rejoint la chatroom")
    op.expect("Annonce : le pseudo modo est à vous")
    return op


def test_a_non_operator_is_refused(start_server, tmp_path):
    srv = start(start_server, tmp_path)
    a, b = srv.peer(), srv.peer()
    a.join("alice")
    b.join("bob")
    a.skip_until("Annonce : bob a rejoint la chatroom")
    for line in ("/kick bob", "/kick bob tu pars", "/mute bob 10m", "/ban bob", "/unban bob",
                 "/bans"):
        a.send(line + "\n")
        a.expect("Erreur : réservé aux opérateurs (--operators)")
    b.send("toujours là\n")
    a.expect("bob a dit : toujours là")


def test_kick_and_mute(start_server, tmp_path):
    srv = start(start_server, tmp_path)
    op = operator(srv)
    b, c = srv.peer(), srv.peer()
    b.join("bob")
    c.join("carol")
    b.skip_until("Annonce : carol a rejoint la chatroom")
    op.skip_until("Annonce : carol a rejoint la chatroom")
    op.send("/whois bob\n")
    assert op.line().endswith(", adresse 127.0.0.1")
    op.send("/mute bob 10m\n")
    op.expect("Annonce : bob est muet pour 10m")
    b.expect("Annonce : modo vous a rendu muet pour 10m")
    b.send("je parle\n")
    b.expect("Erreur : vous êtes muet pour l'instant")
    b.send("/me crie\n")
    b.expect("Erreur : vous êtes muet pour l'instant")
    op.send("/mute bob jamais\n")
    op.expect("Erreur : usage : /mute PSEUDO DURÉE (30s, 10m, 2h, 1j)")
    op.send("/kick bob trop bavard\n")
    b.expect("Erreur : vous avez été expulsé par modo : trop bavard")
    assert b.closed()
    c.expect("Annonce : bob a quitté la chatroom")  # and nothing bob said
    op.send("/kick zed\n")
    op.skip_until("Erreur : personne ne s'appelle zed ici")


def test_ban_holds_by_identity_and_address_across_a_restart(start_server, tmp_path):
    srv = start(start_server, tmp_path)
    op = operator(srv)
    eve_secret = os.urandom(32)
    eve = BinaryPeer(srv.port)
    eve.send(hello_with("eve", eve_secret))
    eve.expect(WELCOME, pseudo="eve")
    op.skip_until("Annonce : eve a rejoint la chatroom")
    op.send("/ban eve 1j pourriel\n")
    eve.until(ERROR, code=ERR_REFUSED, text="vous avez été banni par modo : pourriel")
    assert eve.closed()
    again = BinaryPeer(srv.port)
    again.send(hello_with("eve2", eve_secret))
    again.expect(ERROR, code=ERR_REFUSED, text="vous êtes banni : pourriel")
    t = srv.peer()
    t.send("Hello|quelquun\n")
    t.expect("Erreur : vous êtes banni : pourriel")
    op.skip_until("Annonce : eve a quitté la chatroom")
    op.send("/bans\n")
    op.expect("Bannis : eve (pourriel)")
    bans = tmp_path / "h.jsonl.bans"
    assert stat.S_IMODE(bans.stat().st_mode) == 0o640
    assert eve_secret.hex() not in bans.read_text()
    srv.stop()
    # After a restart: still banned, with its reason.
    srv = start(start_server, tmp_path)
    back = BinaryPeer(srv.port)
    back.send(hello_with("eve", eve_secret))
    back.expect(ERROR, code=ERR_REFUSED, text="vous êtes banni : pourriel")
    t = srv.peer()
    t.send("Hello|autre\n")
    t.expect("Erreur : vous êtes banni : pourriel")


def test_unban(start_server, tmp_path):
    srv = start(start_server, tmp_path)
    op = operator(srv)
    b = srv.peer()
    b.join("bob")
    op.skip_until("Annonce : bob a rejoint la chatroom")
    op.send("/ban bob\n")
    b.expect("Erreur : vous avez été banni par modo : sans raison donnée")
    op.skip_until("Annonce : bob a quitté la chatroom")
    op.send("/unban zed\n")
    op.expect("Erreur : zed n'est pas banni")
    op.send("/unban bob\n")
    op.expect("Annonce : bob n'est plus banni")
    op.send("/bans\n")
    op.expect("Bannis : personne")
    b = srv.peer()
    b.send("Hello|bob\n")
    b.skip_until("Welcome back bob !")  # the same address, within 5 minutes
