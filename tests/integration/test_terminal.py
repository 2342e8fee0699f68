"""The interactive client in a real terminal (tmux): what a user sees."""

import re
import shutil
import time

import pytest

from conftest import TIMEOUT, VALGRIND_PREFIX, client_command

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux missing")


def test_typed_line_survives_incoming_messages(server, tmux):
    tmux.start("alice", client_command(server.port))
    tmux.wait_for("alice", "Pseudo :")
    tmux.keys("alice", "alice", "Enter")
    # Nobody else is there: the asker, not yet in, does not count itself.
    tmux.wait_for("alice", "Salons : general (0)")
    tmux.keys("alice", "Enter")  # the default room
    tmux.wait_for("alice", "Annonce : alice a rejoint la chatroom")

    bob = server.peer()
    bob.join("bob")
    tmux.wait_for("alice", "Annonce : bob a rejoint la chatroom")

    tmux.keys("alice", "-l", "une phrase à moi")
    tmux.wait_for("alice", "> une phrase à moi")
    for i in range(10):
        bob.send(f"message {i}\n")
    screen = tmux.wait_for("alice", "bob a dit : message 9")

    lines = [l.rstrip() for l in screen.splitlines() if l.strip()]
    said = [l[8:] for l in lines if l[8:].startswith("bob a dit : ")]
    assert said == [f"bob a dit : message {i}" for i in range(10)]
    assert all(re.match(r"\[\d\d:\d\d\] ", l) for l in lines if "a dit" in l)
    # The half-typed line is intact, alone on the last row, after the messages.
    assert lines[-1] == "> une phrase à moi"

    tmux.keys("alice", " et la fin", "Enter")
    bob.expect("alice a dit : une phrase à moi et la fin")
    tmux.wait_for("alice", "Vous avez dit : une phrase à moi et la fin")


def test_line_editing_keys(server, tmux):
    tmux.start("c", client_command(server.port))
    tmux.wait_for("c", "Pseudo :")
    tmux.keys("c", "edit", "Enter")
    tmux.wait_for("c", "Salon à rejoindre")
    tmux.keys("c", "Enter")
    tmux.wait_for("c", "Annonce : edit a rejoint la chatroom")
    watcher = server.peer()
    watcher.join("w")
    tmux.keys("c", "-l", "faux début")
    tmux.keys("c", "C-u")
    tmux.keys("c", "-l", "un deux trois")
    tmux.keys("c", "C-w")
    tmux.keys("c", "BSpace")
    tmux.keys("c", "-l", "x quatre")
    tmux.keys("c", "Enter")
    watcher.expect("edit a dit : un deuxx quatre")


def test_both_clients_leave_when_the_server_stops(start_server, tmux):
    srv = start_server()
    for name in ("one", "two"):
        tmux.start(name, client_command(srv.port))
        tmux.wait_for(name, "Pseudo :")
        tmux.keys(name, name, "Enter")
        tmux.wait_for(name, "Salon à rejoindre")
        tmux.keys(name, "Enter")
        tmux.wait_for(name, f"Annonce : {name} a rejoint la chatroom")
    tmux.keys("one", "-l", "pas fini")
    srv.stop()
    for name in ("one", "two"):
        screen = tmux.wait_for(name, "[exit 1]")
        assert "Annonce : le serveur s'arrête" in screen
        assert f"le serveur 127.0.0.1:{srv.port} a fermé la connexion" in screen


@pytest.mark.parametrize("keys", [["C-c"], ["C-d"], ["-l", "/quit", "Enter"]])
def test_ctrl_c_ctrl_d_and_quit_leave_with_status_0(server, tmux, keys):
    watcher = server.peer()
    watcher.join("w")
    tmux.start("c", client_command(server.port))
    tmux.wait_for("c", "Pseudo :")
    tmux.keys("c", "leaver", "Enter")
    tmux.wait_for("c", "Salon à rejoindre")
    tmux.keys("c", "Enter")
    watcher.expect("Annonce : leaver a rejoint la chatroom")
    # The keys must reach the line editor, not the terminal's cooked mode.
    deadline = time.monotonic() + TIMEOUT
    while not any(l.rstrip() == ">" for l in tmux.screen("c").splitlines()):
        assert time.monotonic() < deadline, tmux.screen("c")
        time.sleep(0.05)
    time.sleep(0.5 if VALGRIND_PREFIX else 0.05)
    if keys[-1] == "Enter":
        tmux.keys("c", *keys[:-1])
        tmux.keys("c", "Enter")
    else:
        tmux.keys("c", *keys)
    tmux.wait_for("c", "[exit 0]")
    watcher.expect("Annonce : leaver a quitté la chatroom")


@pytest.mark.parametrize("no_color", [False, True])
def test_pseudos_in_colour_unless_no_color(server, tmux, no_color):
    env = "NO_COLOR=1 " if no_color else ""
    tmux.start("c", env + client_command(server.port) + " -n teinte -r general")
    tmux.wait_for("c", "Annonce : teinte a rejoint la chatroom")
    other = server.peer()
    other.join("bavard")
    other.send("en couleur ?\n")
    tmux.wait_for("c", "bavard a dit : en couleur ?")
    screen = tmux.run("capture-pane", "-p", "-e", "-t", tmux.target("c"))
    line = next(l for l in screen.splitlines() if "a dit : en couleur" in l)
    assert re.match(r"(\x1b\[[0-9;]*m)?\[\d\d:\d\d\] ", line), repr(line)
    if no_color:  # bold is allowed, colour is not
        assert "38;5;" not in line and not re.search(r"\x1b\[(\d+;)*3[0-7]m", line), repr(line)
    else:
        assert re.search(r"\x1b\[[0-9;]*38;5;\d+m[^\x1b]*bavard", line), repr(line)
