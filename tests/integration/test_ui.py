"""The full-screen interface in a real terminal (tmux): what a user sees and
what nothing from the network may do to it."""

import re
import time
import unicodedata

from conftest import TIMEOUT, client_command


def cells(text):
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else
               0 if unicodedata.combining(c) else 1 for c in text)


def start(server, tmux, pseudo, width=80, height=20):
    tmux.start("c", client_command(server.port) + f" -n {pseudo} -r general",
               width=width, height=height)
    tmux.wait_for("c", f"Annonce : {pseudo} a rejoint la chatroom")
    other = server.peer()
    other.join("autre")
    tmux.wait_for("c", "Annonce : autre a rejoint la chatroom")
    return other


def pane_lines(tmux):
    return [l.rstrip() for l in tmux.screen("c").splitlines()]


def test_escape_sequences_from_the_network_are_harmless(server, tmux):
    other = start(server, tmux, "cible")
    title = tmux.run("display-message", "-p", "-t", tmux.target("c"), "#{pane_title}").strip()
    other.send("avant\n")
    tmux.wait_for("c", "autre a dit : avant")
    other.send(b"\x1b]0;pwned\x07\x1b[2J\x1b[31m rouge ?\n")
    other.send("apres\n")
    tmux.wait_for("c", "autre a dit : apres")
    screen = tmux.screen("c")
    assert "autre a dit : avant" in screen  # the screen was not cleared
    assert "^[]0;pwned^G^[[2J^[[31m rouge ?" in screen  # shown, visibly
    assert tmux.run("display-message", "-p", "-t", tmux.target("c"),
                    "#{pane_title}").strip() == title
    coloured = tmux.run("capture-pane", "-p", "-e", "-t", tmux.target("c"))
    after = next(l for l in coloured.splitlines() if "a dit : apres" in l)
    assert "\x1b[31m" not in after and "\x1b[38;5;1m" not in after  # no red leak


def test_wide_characters_line_up(server, tmux):
    other = start(server, tmux, "aligne")
    for text in ("日本語|", "abcdef|", "😀😀😀|", "e\u0301e\u0301e\u0301abc|"):
        other.send(f"{text}\n")
    tmux.wait_for("c", "autre a dit : e\u0301e\u0301e\u0301abc|")
    said = [l for l in pane_lines(tmux) if "autre a dit : " in l]
    columns = {cells(l[:l.index("|")]) for l in said[-4:]}
    assert len(said) >= 4 and len(columns) == 1, said


def test_resize_reflows(server, tmux):
    other = start(server, tmux, "plie")
    words = " ".join(f"mot{i}" for i in range(40))
    other.send(words + "\n")
    tmux.wait_for("c", "mot39")
    tmux.run("resize-window", "-t", tmux.target("c"), "-x", "40", "-y", "20")
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        lines = pane_lines(tmux)
        rows = [l for l in lines if re.search(r"mot\d", l)]
        if len(rows) >= 6 and all(cells(l) <= 40 for l in lines):
            break
        time.sleep(0.1)
    text = " ".join(r.strip() for r in rows)
    assert all(f"mot{i}" in text.split() or f"mot{i}" in text for i in range(40))
    assert all(cells(l) <= 40 for l in lines)
    # Continuation rows are indented under the text, after "[hh:mm] ".
    assert rows[1].startswith(" " * 8)


def test_scrollback_marker_and_input_history(server, tmux):
    other = start(server, tmux, "lecteur", height=12)
    for i in range(30):
        other.send(f"ligne {i}\n")
    tmux.wait_for("c", "autre a dit : ligne 29")
    tmux.keys("c", "PPage")
    screen = tmux.wait_for("c", "historique (PgDn)")
    assert "ligne 29" not in screen and "ligne 20" in screen
    other.send("pendant la lecture\n")
    tmux.wait_for("c", "1 nouveau message plus bas (PgDn)")
    # The view stayed where it was (the new line raised the offset by its
    # row): one page down leaves that row below, a second shows it.
    tmux.keys("c", "NPage")
    tmux.keys("c", "NPage")
    tmux.wait_for("c", "autre a dit : pendant la lecture")
    # Up brings back what was sent.
    tmux.keys("c", "-l", "premier envoi")
    tmux.keys("c", "Enter")
    other.skip_until("lecteur a dit : premier envoi")
    tmux.keys("c", "Up")
    tmux.wait_for("c", "> premier envoi")


def test_cursor_editing_keys(server, tmux):
    other = start(server, tmux, "editeur")
    tmux.keys("c", "-l", "ac")
    tmux.keys("c", "Left")
    tmux.keys("c", "-l", "b")
    tmux.keys("c", "Home")
    tmux.keys("c", "-l", "0")
    tmux.keys("c", "End")
    tmux.keys("c", "-l", "!")
    tmux.keys("c", "C-a")
    tmux.keys("c", "Delete")
    tmux.keys("c", "C-e")
    tmux.keys("c", "-l", "?")
    tmux.keys("c", "Enter")
    other.skip_until("editeur a dit : abc!?")


def test_multi_line_paste_is_one_message_and_a_long_one_asks(server, tmux):
    other = start(server, tmux, "colleur")
    tmux.run("set-buffer", "-b", "p", "un\ndeux")
    tmux.run("paste-buffer", "-p", "-b", "p", "-t", tmux.target("c"))
    other.skip_until("colleur a dit : un")
    assert other.line() == "    deux"
    tmux.run("set-buffer", "-b", "q", "a\nb\nc\nd\ne")
    tmux.run("paste-buffer", "-p", "-b", "q", "-t", tmux.target("c"))
    tmux.wait_for("c", "Envoyer ce collage de plusieurs lignes ? (o/n)")
    other.silent(0.3)
    tmux.keys("c", "o")
    other.skip_until("colleur a dit : a")
    assert [other.line() for _ in range(4)] == ["    b", "    c", "    d", "    e"]


def test_help_unknown_commands_and_status_line(server, tmux):
    other = start(server, tmux, "curieux")  # kept: its departure would change the count
    screen = tmux.wait_for("c", "| 2 présents |")
    assert re.search(r"127\.0\.0\.1:\d+ \| #general \| curieux \| 2 présents \| connecté", screen)
    tmux.keys("c", "-l", "/help")
    tmux.keys("c", "Enter")
    tmux.wait_for("c", "Commandes : /rooms")
    tmux.keys("c", "-l", "/danse")
    tmux.keys("c", "Enter")
    tmux.wait_for("c", "Commande inconnue /danse. /help les liste.")
    other.close()
    tmux.wait_for("c", "| 1 présent |")


def test_mentions_are_highlighted(server, tmux):
    other = start(server, tmux, "zoe")
    other.send("salut zoe, ça va ?\n")
    tmux.wait_for("c", "autre a dit : salut zoe")
    coloured = tmux.run("capture-pane", "-p", "-e", "-t", tmux.target("c"))
    line = next(l for l in coloured.splitlines() if "salut zoe" in l)
    assert re.search(r"\x1b\[[0-9;]*7[0-9;]*m", line), repr(line)  # reverse video


def test_status_line_follows_a_change_of_room(server, tmux):
    other = start(server, tmux, "voyageur")
    tmux.keys("c", "-l", "/join ailleurs")
    tmux.keys("c", "Enter")
    tmux.wait_for("c", "| #ailleurs | voyageur | 1 présent |")
    other.send("/join ailleurs\n")
    tmux.wait_for("c", "| #ailleurs | voyageur | 2 présents |")
