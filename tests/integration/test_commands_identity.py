"""Issue 16, identity: a client's secret (its state directory, 0600) proved
at hello; the server keeps its SHA-256 next to the history (0640); an
owned pseudo is refused to any other identity, by hello or /nick, after a
server restart too; the full-screen client relaunched after a restart is
welcomed back."""

import os
import stat

from conftest import client_command
from wire import ERROR, NOTICE, NOTICE_INFO, WELCOME, BinaryPeer, hello

PSEUDO_REFUSED = 5


def hello_with(pseudo, secret, room=""):
    return hello(pseudo, room, identity=secret)


def test_an_owned_pseudo_is_its_identity_only_across_restarts(start_server, tmp_path):
    history = tmp_path / "h.jsonl"
    mine, other = os.urandom(32), os.urandom(32)
    srv = start_server("--history", str(history))
    a = BinaryPeer(srv.port)
    a.send(hello_with("alice", mine))
    a.expect(WELCOME, pseudo="alice")
    a.close()
    srv.stop()
    ids = history.with_name("h.jsonl.identities")
    assert stat.S_IMODE(ids.stat().st_mode) == 0o640
    assert mine.hex() not in ids.read_text()  # only a hash is kept
    assert "\talice\n" in ids.read_text()

    srv = start_server("--history", str(history))
    thief = BinaryPeer(srv.port)
    thief.send(hello_with("Alice", other))
    thief.expect(ERROR, code=PSEUDO_REFUSED,
                 text="le pseudo Alice appartient à une autre identité")
    t = srv.peer()
    t.send("Hello|alice\n")
    t.expect("Erreur : le pseudo alice appartient à une autre identité")
    bob = srv.peer()
    bob.join("bob")
    bob.send("/nick alice\n")
    bob.expect("Erreur : le pseudo alice appartient à une autre identité")
    back = BinaryPeer(srv.port)
    back.send(hello_with("alice", mine))
    back.expect(WELCOME, pseudo="alice")
    m = back.until(NOTICE, kind=NOTICE_INFO)
    assert m["text"] == "Welcome back alice !"


def test_full_screen_client_is_welcomed_back_after_a_server_restart(start_server, tmp_path,
                                                                    tmux):
    history = tmp_path / "h.jsonl"
    srv = start_server("--history", str(history))
    state = tmp_path / "state"  # made by the client, on its first run
    run = f"env XDG_STATE_HOME={state} "
    tmux.start("c", run + client_command(srv.port) + " -n revenant -r general")
    tmux.wait_for("c", "Annonce : revenant a rejoint la chatroom")
    ident = os.path.join(state, "chatroom", "identity")
    assert stat.S_IMODE(os.stat(ident).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(os.path.dirname(ident)).st_mode) & 0o077 == 0
    tmux.keys("c", "-l", "/quit")
    tmux.keys("c", "Enter")
    tmux.wait_for("c", "[exit 0]")
    srv.stop()
    srv = start_server("--history", str(history))
    tmux.start("d", run + client_command(srv.port) + " -n revenant -r general")
    tmux.wait_for("d", "Welcome back revenant !")


def test_a_text_peer_claims_and_proves_an_identity(start_server, tmp_path):
    history = tmp_path / "h.jsonl"
    secret = os.urandom(32).hex()
    srv = start_server("--history", str(history))
    a = srv.peer()
    a.join("nadia")
    a.send("/identify nadia tropcourt\n")
    a.expect("Erreur : le secret fait 64 chiffres hexadécimaux (openssl rand -hex 32)")
    a.send(f"/identify zed {secret}\n")
    a.expect("Erreur : identifiez-vous sous votre propre pseudo")
    a.send(f"/identify nadia {secret}\n")
    a.expect("Annonce : le pseudo nadia est à vous")
    a.close()
    srv.stop()
    srv = start_server("--history", str(history))
    t = srv.peer()
    t.send("Hello|nadia\n")
    t.expect("Erreur : le pseudo nadia appartient à une autre identité")
    t.send(f"/identify nadia {os.urandom(32).hex()}\n")
    t.expect("Erreur : le pseudo nadia appartient à une autre identité")
    t.send(f"/identify NADIA {secret.upper()}\n")
    t.skip_until("Annonce : NADIA a rejoint la chatroom")
    t.expect("Welcome back NADIA !")
    # The terminal client's secret (its identity file) is the same secret.
    b = BinaryPeer(srv.port)
    b.send(hello_with("nadia", bytes.fromhex(secret)))
    b.expect(ERROR, code=PSEUDO_REFUSED, text="le pseudo nadia est déjà pris")
