"""Relaunched, the client is welcomed back (the course's bonus 2; client-ux
review #10): the resume token is kept per server and pseudo in
$XDG_STATE_HOME/chatroom/sessions (directory 0700, file 0600, replaced
whole), and a launch with the same server and pseudo says its hello with
it. Before, quitting and launching again gave a plain arrival, and since
the server holds an away user's pseudo, `le pseudo alice est déjà pris`
for five minutes. A refused token falls back to a plain hello."""

import os
import shutil
import stat

import pytest

from conftest import CLIENT_BIN, TIMEOUT, Client, child_env, client_command

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux missing")


def test_quit_and_relaunch_is_welcomed_back(server, tmux, tmp_path):
    state = tmp_path / "state"
    watcher = server.peer()
    watcher.join("guetteur")
    command = f"env XDG_STATE_HOME={state} " + client_command(server.port) + " -n alice -r general"
    tmux.start("a", command)
    tmux.wait_for("a", "Annonce : alice a rejoint la chatroom")
    watcher.skip_until("Annonce : alice a rejoint la chatroom")
    tmux.keys("a", "-l", "avant de partir")
    tmux.keys("a", "Enter")
    watcher.expect("alice a dit : avant de partir")
    tmux.keys("a", "-l", "/quit")
    tmux.keys("a", "Enter")
    tmux.wait_for("a", "[exit 0]")
    watcher.expect("Annonce : alice a quitté la chatroom")

    tmux.start("b", command)
    screen = tmux.wait_for("b", "Welcome back alice !")
    assert "déjà pris" not in screen and "réservé" not in screen
    watcher.expect("alice est de retour !")
    # Her own earlier line reads as hers.
    assert "Vous avez dit : avant de partir" in screen or "alice a dit : avant de partir" in screen
    watcher.send("re\n")
    tmux.wait_for("b", "guetteur a dit : re")
    # Kept as a secret: the directory 0700, the file 0600.
    sessions = state / "chatroom" / "sessions"
    assert stat.S_IMODE(os.stat(sessions.parent).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(sessions).st_mode) == 0o600
    assert sessions.read_text().startswith(f"127.0.0.1:{server.port}\talice\t")


def test_a_refused_token_falls_back_to_a_plain_hello(server, tmp_path):
    state = tmp_path / "state"
    sessions = state / "chatroom" / "sessions"
    sessions.parent.mkdir(parents=True)
    sessions.write_text(f"127.0.0.1:{server.port}\tbob\t{'ab' * 32}\n"
                        f"autre:1\tbob\t{'cd' * 32}\n")
    env = child_env()
    env["XDG_STATE_HOME"] = str(state)
    import subprocess
    from conftest import VALGRIND_PREFIX
    proc = subprocess.Popen([*VALGRIND_PREFIX, str(CLIENT_BIN), "-a", "127.0.0.1", "-p",
                             str(server.port), "-n", "bob"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    client = Client.__new__(Client)
    client.proc, client.buf = proc, b""
    client.skip_until("Annonce : bob a rejoint la chatroom")
    lines = sessions.read_text().splitlines()
    mine = [l for l in lines if l.startswith(f"127.0.0.1:{server.port}\tbob\t")]
    assert len(mine) == 1 and mine[0] != f"127.0.0.1:{server.port}\tbob\t{'ab' * 32}", lines
    assert f"autre:1\tbob\t{'cd' * 32}" in lines  # another server's is kept
    assert stat.S_IMODE(os.stat(sessions).st_mode) == 0o600
    proc.stdin.close()
    code, err = client.wait()
    assert code == 0, err
