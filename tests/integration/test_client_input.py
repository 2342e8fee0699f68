"""The full-screen client's input line (issue 17 §3 and the new keys): a
pasted 10 KB line arrives whole, a 20 KB one is refused visibly (review #4:
it was cut at 4000 bytes without a word); Tab completes pseudos and
commands; Ctrl+R searches what was sent."""

import shutil
import time

import pytest

from conftest import TIMEOUT, client_command

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux missing")


def leave(tmux, name="c"):
    tmux.keys(name, "C-c")
    tmux.wait_for(name, "[exit 0]")


def start(server, tmux, pseudo="colleur", width=100, height=20):
    tmux.start("c", client_command(server.port) + f" -n {pseudo} -r general",
               width=width, height=height)
    tmux.wait_for("c", f"Annonce : {pseudo} a rejoint la chatroom")


def input_row(tmux):
    return tmux.screen("c").rstrip("\n").splitlines()[-1]


def wait_input(tmux, wanted, timeout=TIMEOUT):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        row = input_row(tmux)
        if row.rstrip() == wanted:
            return row
        time.sleep(0.05)
    raise AssertionError(f"input row {input_row(tmux)!r}, not {wanted!r}")


def wait_flat(tmux, wanted, timeout=TIMEOUT):
    """Wait until `wanted` is on screen, reading rows joined by single spaces."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        flat = " ".join(tmux.screen("c").split())
        if wanted in flat:
            return flat
        time.sleep(0.05)
    raise AssertionError(f"{wanted!r} not on screen:\n{tmux.screen('c')}")


def line_with(peer, prefix):
    while True:
        line = peer.line()
        if line.startswith(prefix):
            return line


def paste(tmux, tmp_path, text):
    """A bracketed paste, as a terminal does it (tmux paste-buffer -p)."""
    f = tmp_path / "paste.txt"
    f.write_text(text)
    tmux.run("load-buffer", "-b", "long", str(f))
    tmux.run("paste-buffer", "-p", "-b", "long", "-t", tmux.target("c"))


def long_line(size):
    words = "x" * 300 + " " + " ".join(f"mot{i}" for i in range(size))
    return words[:size]


def test_a_pasted_10_kb_line_arrives_whole(server, tmux, tmp_path):
    peer = server.peer()
    peer.join("lecteur")
    start(server, tmux)
    peer.skip_until("Annonce : colleur a rejoint la chatroom")
    text = long_line(10 * 1024).rstrip()
    paste(tmux, tmp_path, text)
    tmux.wait_for("c", "> ")
    time.sleep(0.3)
    tmux.keys("c", "Enter")
    got = peer.line(timeout=TIMEOUT)
    assert got == f"colleur a dit : {text}", (len(got), got[-60:])
    tmux.wait_for("c", text[-40:].split(" ", 1)[1])  # its end, shown too
    leave(tmux)  # a clean exit: no sanitizer or leak report (exit 0)


def test_a_pasted_20_kb_line_is_refused_visibly(server, tmux, tmp_path):
    peer = server.peer()
    peer.join("lecteur")
    start(server, tmux)
    peer.skip_until("Annonce : colleur a rejoint la chatroom")
    text = long_line(20 * 1024)
    paste(tmux, tmp_path, text)
    # The notice wraps over two rows; wait for the whole of it, since tmux may
    # show the screen between the rows' updates (the second row not yet drawn).
    wait_flat(tmux, f"Trop long : {len(text.encode())} octets, au plus 16384 par message ; "
              "rien n'est envoyé, rien n'est ajouté à la ligne.")
    wait_input(tmux, ">")  # nothing half-pasted
    tmux.keys("c", "Enter")
    peer.silent(0.5)
    # And the line still works.
    tmux.keys("c", "-l", "après le refus")
    tmux.keys("c", "Enter")
    assert peer.line() == "colleur a dit : après le refus"
    leave(tmux)  # a clean exit: no sanitizer or leak report (exit 0)


def test_tab_completes_pseudos_most_recent_speaker_first_and_commands(server, tmux):
    bob, bobette = server.peer(), server.peer()
    bob.join("bob")
    bobette.join("bobette")
    start(server, tmux, pseudo="tabeur")
    bobette.skip_until("Annonce : tabeur a rejoint la chatroom")
    bob.send("je suis bob\n")
    tmux.wait_for("c", "bob a dit : je suis bob")
    bobette.send("et moi bobette\n")
    tmux.wait_for("c", "bobette a dit : et moi bobette")
    # At the start of a line: "pseudo: "; the one who spoke last first.
    tmux.keys("c", "-l", "bo")
    tmux.keys("c", "Tab")
    wait_input(tmux, "> bobette:")
    tmux.keys("c", "Tab")  # again: the next one
    wait_input(tmux, "> bob:")
    tmux.keys("c", "Tab")  # and round
    wait_input(tmux, "> bobette:")
    tmux.keys("c", "-l", "salut, et BO")
    tmux.keys("c", "Tab")  # elsewhere "pseudo ", any case typed
    wait_input(tmux, "> bobette: salut, et bobette")
    tmux.keys("c", "-l", "aussi")
    tmux.keys("c", "Enter")
    assert line_with(bob, "tabeur a dit : ") == "tabeur a dit : bobette: salut, et bobette aussi"
    # Commands.
    tmux.keys("c", "-l", "/jo")
    tmux.keys("c", "Tab")
    wait_input(tmux, "> /join")
    tmux.keys("c", "-l", "ailleurs")
    tmux.keys("c", "Enter")
    tmux.wait_for("c", "| #ailleurs | tabeur |")
    leave(tmux)  # a clean exit: no sanitizer or leak report (exit 0)


def test_ctrl_r_searches_what_was_sent(server, tmux):
    peer = server.peer()
    peer.join("lecteur")
    start(server, tmux, pseudo="chercheur")
    for line in ("premier message", "autre chose", "dernier message"):
        tmux.keys("c", "-l", line)
        tmux.keys("c", "Enter")
        peer.skip_until(f"chercheur a dit : {line}")
    tmux.keys("c", "-l", "brouillon")
    tmux.keys("c", "C-r")
    tmux.keys("c", "-l", "mess")
    wait_input(tmux, "(recherche) «mess» : dernier message")
    tmux.keys("c", "C-r")  # further back
    wait_input(tmux, "(recherche) «mess» : premier message")
    tmux.keys("c", "Escape")  # cancelled: the line as it was
    wait_input(tmux, "> brouillon")
    tmux.keys("c", "C-u")
    tmux.keys("c", "C-r")
    tmux.keys("c", "-l", "autre")
    wait_input(tmux, "(recherche) «autre» : autre chose")
    tmux.keys("c", "Enter")  # taken into the line, to edit or send
    wait_input(tmux, "> autre chose")
    tmux.keys("c", "-l", " encore")
    tmux.keys("c", "Enter")
    peer.skip_until("chercheur a dit : autre chose encore")
    tmux.keys("c", "C-r")
    tmux.keys("c", "-l", "zzz")
    wait_input(tmux, "(recherche) «zzz» : (rien)")
    tmux.keys("c", "C-g")
    wait_input(tmux, ">")
    leave(tmux)  # a clean exit: no sanitizer or leak report (exit 0)
