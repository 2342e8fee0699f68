"""The full-screen client in several rooms at once (issue 17), in a real
terminal (tmux): a window per room and one for /search, Alt+digit,
Alt+arrows and Ctrl+N/P to switch, the activity list in the status line
([Act: 2,3*], * for a line naming us), the unread marker; /part closes a
window. The capture of three windows is saved to a file (path printed)."""

import os
import socket
import time

from conftest import Server, client_command


def status_line(tmux, name="c"):
    """The status line: the one but last row of the screen."""
    rows = tmux.screen(name).rstrip("\n").split("\n")
    return rows[-2]


def wait_status(tmux, text, name="c", timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = status_line(tmux, name)
        if text in line:
            return line
        time.sleep(0.05)
    raise AssertionError(f"{text!r} not in the status line:\n{tmux.screen(name)}")


def wait_gone(tmux, text, name="c", timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        screen = tmux.screen(name)
        if text not in screen:
            return screen
        time.sleep(0.05)
    raise AssertionError(f"{text!r} still on screen:\n{tmux.screen(name)}")


def test_two_rooms_and_a_search_in_three_windows(server, tmux, tmp_path):
    general, jeux = server.peer(), server.peer()
    general.join("gégé")
    jeux.join("joueur", room="jeux")
    jeux.send("partie de cartes ce soir\n")
    time.sleep(0.1)

    tmux.start("c", client_command(server.port) + " -n moi -r general", width=90, height=16)
    tmux.wait_for("c", "Annonce : moi a rejoint la chatroom")
    general.skip_until("Annonce : moi a rejoint la chatroom")
    wait_status(tmux, "[1:general]")

    # /join opens window 2 with the room's history, and shows it; general
    # is not left.
    tmux.keys("c", "/join jeux", "Enter")
    tmux.wait_for("c", "joueur a dit : partie de cartes ce soir")
    wait_status(tmux, "[2:jeux]")
    jeux.skip_until("Annonce : moi a rejoint le salon jeux")
    general.silent()

    # What is typed goes to the room of the window shown.
    tmux.keys("c", "salut les joueurs", "Enter")
    jeux.expect("moi a dit : salut les joueurs")
    general.silent()

    # Activity in window 1 while 2 is shown: [Act: 1]; a line naming us: 1*.
    general.send("quelqu'un ?\n")
    assert "[Act: 1]" in wait_status(tmux, "[Act: 1]")
    general.send("moi: tu es là ?\n")
    wait_status(tmux, "[Act: 1*]")
    assert "quelqu'un ?" not in tmux.screen("c")  # not in this window

    # Alt+1: general, its unread marker above what came meanwhile.
    tmux.keys("c", "M-1")
    wait_status(tmux, "[1:general]")
    screen = tmux.wait_for("c", "moi: tu es là ?")
    rows = screen.split("\n")
    marker = next(i for i, r in enumerate(rows) if "non lus" in r)
    said = next(i for i, r in enumerate(rows) if "quelqu'un ?" in r)
    assert marker < said, screen
    assert "[Act:" not in status_line(tmux)
    tmux.keys("c", "pour general", "Enter")
    general.expect("moi a dit : pour general")
    jeux.silent()

    # Activity in jeux while general is shown.
    jeux.send("moi tu joues ?\n")
    wait_status(tmux, "[Act: 2*]")

    # /search: window 3, the results of both rooms, each with its room.
    tmux.keys("c", "/search cartes", "Enter")
    wait_status(tmux, "[3:recherche]")
    screen = tmux.wait_for("c", "── fin de la recherche ──")
    assert "#jeux joueur a dit : partie de cartes ce soir" in screen, screen
    assert "recherche « cartes » : 1 résultat" in screen
    assert "[Act: 2*]" in status_line(tmux)

    # The capture of the client in three windows, with its activity list.
    capture = tmp_path / "client-three-windows.txt"
    capture.write_text(tmux.screen("c"))
    print(f"\ncapture-pane of the client in three windows: {capture}")
    print(capture.read_text())
    kept = os.environ.get("CHATROOM_CAPTURE_DIR")  # somewhere that outlives the test
    if kept:
        with open(os.path.join(kept, "client-three-windows.txt"), "w") as f:
            f.write(capture.read_text())

    # Typing in the search window sends nothing.
    tmux.keys("c", "perdu", "Enter")
    tmux.wait_for("c", "Pas un salon")
    general.silent(0.2)
    jeux.silent(0.2)

    # Ctrl+P back to jeux (window 2), Ctrl+N on to 3, Alt+Left to 2.
    tmux.keys("c", "C-p")
    wait_status(tmux, "[2:jeux]")
    assert "[Act:" not in status_line(tmux)
    tmux.keys("c", "C-n")
    wait_status(tmux, "[3:recherche]")
    tmux.keys("c", "M-Left")
    wait_status(tmux, "[2:jeux]")

    # /part closes jeux's window; the others stay.
    tmux.keys("c", "/part", "Enter")
    jeux.expect("Annonce : moi a quitté le salon jeux")
    wait_status(tmux, "[2:recherche]")  # the window after it, now 2
    tmux.wait_for("c", "Vous avez quitté le salon jeux")
    tmux.keys("c", "M-1")
    wait_status(tmux, "[1:general]")
    jeux.send("plus pour toi\n")
    general.send("toujours là\n")
    tmux.wait_for("c", "gégé a dit : toujours là")
    assert "plus pour toi" not in tmux.screen("c")
    tmux.keys("c", "M-2")
    wait_status(tmux, "[2:recherche]")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_after_a_server_restart_the_client_is_in_its_rooms_again(tmp_path, tmux):
    """The server gives back one room (or none it remembers): the client
    joins the others of its windows again."""
    port = free_port()
    first = Server(tmp_path, "-p", str(port))
    tmux.start("c", client_command(port) + " -n fidèle -r general --reconnect", width=90,
               height=16)
    tmux.wait_for("c", "Annonce : fidèle a rejoint la chatroom")
    tmux.keys("c", "/join jeux", "Enter")
    wait_status(tmux, "[2:jeux]")
    first.stop()

    second = Server(tmp_path, "-p", str(port))
    try:
        watcher = second.peer()
        watcher.join("veilleur", room="jeux")
        tmux.wait_for("c", "*** reconnecté")
        watcher.skip_until("Annonce : fidèle a rejoint le salon jeux")
        wait_status(tmux, "[2:jeux]")  # the window shown stays
        assert "| #jeux |" in status_line(tmux)
        tmux.keys("c", "encore là", "Enter")
        watcher.expect("fidèle a dit : encore là")
        watcher.send("bienvenue\n")
        tmux.wait_for("c", "veilleur a dit : bienvenue")
    finally:
        assert second.stop() == 0
