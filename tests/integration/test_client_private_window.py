"""A window per private conversation in the full-screen client (issue 17's
last point), in a real terminal (tmux): a private line opens a window named
by the other person, flagged `*` in the activity list; what is typed there
goes to that person as /msg. The capture of the three windows is saved to a
file (path printed)."""

import os

from conftest import client_command
from test_client_windows import status_line, wait_status


def test_a_private_message_opens_its_own_window(server, tmux, tmp_path):
    general, jeux = server.peer(), server.peer()
    general.join("gégé")
    jeux.join("joueur", room="jeux")

    tmux.start("c", client_command(server.port) + " -n moi -r general", width=90, height=16)
    tmux.wait_for("c", "Annonce : moi a rejoint la chatroom")
    general.skip_until("Annonce : moi a rejoint la chatroom")
    tmux.keys("c", "/join jeux", "Enter")
    wait_status(tmux, "[2:jeux]")
    jeux.skip_until("Annonce : moi a rejoint le salon jeux")
    tmux.keys("c", "M-1")
    wait_status(tmux, "[1:general]")

    # gégé writes to us in private: window 3, named after gégé, a mention.
    general.send("/msg moi salut\n")
    general.expect("Vous avez dit en privé à moi : salut")
    line = wait_status(tmux, "[Act: 3*]")
    assert line.startswith(" [1:general]"), line
    assert "salut" not in tmux.screen("c")  # not in general's window
    jeux.silent(0.1)

    # The capture of the client with its three windows.
    capture = tmp_path / "client-private-window.txt"
    capture.write_text(tmux.screen("c"))
    print(f"\ncapture-pane of the client with a private window: {capture}")
    print(capture.read_text())
    kept = os.environ.get("CHATROOM_CAPTURE_DIR")  # somewhere that outlives the test
    if kept:
        with open(os.path.join(kept, "client-private-window.txt"), "w") as f:
            f.write(capture.read_text())

    # Alt+3: the conversation, under gégé's name; seen, so no more activity.
    tmux.keys("c", "M-3")
    line = wait_status(tmux, "[3:gégé]")
    assert "[Act:" not in line, line
    tmux.wait_for("c", "gégé a dit en privé : salut")

    # A reply typed there goes to gégé alone, and its echo stays here.
    tmux.keys("c", "ça va ?", "Enter")
    general.expect("moi a dit en privé : ça va ?")
    tmux.wait_for("c", "Vous avez dit en privé à gégé : ça va ?")
    wait_status(tmux, "[3:gégé]")
    jeux.silent(0.2)

    # Commands still work from a private window: this one opens window 4.
    tmux.keys("c", "/msg joueur coucou", "Enter")
    jeux.expect("moi a dit en privé : coucou")
    wait_status(tmux, "[Act: 4]")
    general.silent(0.1)

    # Back in general, what is typed goes to the room again.
    tmux.keys("c", "M-1")
    wait_status(tmux, "[1:general]")
    assert "ça va ?" not in tmux.screen("c")
    tmux.keys("c", "pour tous", "Enter")
    general.expect("moi a dit : pour tous")
    assert status_line(tmux).rstrip().endswith("[Act: 4]"), status_line(tmux)
