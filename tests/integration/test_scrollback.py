"""The pane's scrollback (client-ux review #3, repros A, B and C; issue 17 §2):
the offset is clamped to the content, the view stays where the reader
left it while lines arrive, End (twice), Alt+End and Ctrl+End go back to
the bottom, and /help lists the keys. The mouse wheel scrolls too (tmux
writes the terminal's wheel bytes to the pane with send-keys -H), unless
--no-mouse or MOUSE=no."""

import re
import shutil
import time

import pytest

from conftest import TIMEOUT, client_command

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux missing")

# xterm's mouse report for the wheel (X10 encoding: ESC [ M, button + 32,
# column + 32, row + 32), what a terminal sends once mouse reporting is on.
WHEEL_UP = ["1b", "5b", "4d", "60", "21", "21"]
WHEEL_DOWN = ["1b", "5b", "4d", "61", "21", "21"]


def leave(tmux, name="c"):
    tmux.keys(name, "C-c")
    tmux.wait_for(name, "[exit 0]")


def start(server, tmux, pseudo="lecteur", height=12, extra=""):
    tmux.start("c", client_command(server.port) + f" -n {pseudo} -r general {extra}",
               width=80, height=height)
    tmux.wait_for("c", f"Annonce : {pseudo} a rejoint la chatroom")
    other = server.peer()
    other.join("autre")
    tmux.wait_for("c", "Annonce : autre a rejoint la chatroom")
    return other


def pane(tmux):
    """The message pane's rows (the screen but its last two)."""
    return [l.rstrip() for l in tmux.screen("c").splitlines()[:-2]]


def said(tmux):
    return [l for l in pane(tmux) if "a dit : " in l]


def settle(tmux, probe=None):
    """Waits until the screen stops changing (a key's redraw is done)."""
    last, stable = None, 0
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline and stable < 5:
        screen = tmux.screen("c")
        stable = stable + 1 if screen == last else 0
        last = screen
        time.sleep(0.05)
    return last


def wait_gone(tmux, text, timeout=TIMEOUT):
    deadline = time.monotonic() + timeout
    while text in (screen := tmux.screen("c")):
        assert time.monotonic() < deadline, f"{text!r} still on screen:\n{screen}"
        time.sleep(0.05)
    return settle(tmux)


def send_lines(other, tmux, count, start=0):
    for i in range(start, start + count):
        other.send(f"ligne numéro {i}\n")
    tmux.wait_for("c", f"autre a dit : ligne numéro {start + count - 1}")


def test_a_short_conversation_never_scrolls_into_a_blank_pane(server, tmux):
    """Repro A: two lines, PgUp once: everything stayed in view."""
    other = start(server, tmux)
    other.send("un\n")
    other.send("deux\n")
    tmux.wait_for("c", "autre a dit : deux")
    before = pane(tmux)
    tmux.keys("c", "PPage")
    after = settle(tmux)
    assert "autre a dit : un" in after and "autre a dit : deux" in after, after
    assert pane(tmux) == before
    assert "historique (PgDn)" not in after  # nothing above: nothing to scroll to


def test_paging_up_stops_at_the_top_and_comes_back(server, tmux):
    """Repro B: 70 lines, PgUp ten times: the oldest lines, not a blank pane;
    one PgDn moves a page back down; End returns to the bottom."""
    other = start(server, tmux)
    send_lines(other, tmux, 70)
    for _ in range(10):
        tmux.keys("c", "PPage")
    tmux.wait_for("c", "Annonce : lecteur a rejoint la chatroom")
    top = settle(tmux)
    rows = pane(tmux)
    assert sum(1 for r in rows if r) == len(rows), top  # every row holds text
    assert "Annonce : lecteur a rejoint la chatroom" in rows[0], top  # the very first line
    assert "historique (PgDn)" in top
    tmux.keys("c", "NPage")
    down = settle(tmux)
    shown = [int(m.group(1)) for m in re.finditer(r"ligne numéro (\d+)", down)]
    assert shown and min(shown) > 0 and max(shown) < 69, down
    tmux.keys("c", "End")  # the input line is empty: End goes to the bottom
    bottom = wait_gone(tmux, "historique (PgDn)")
    assert "autre a dit : ligne numéro 69" in bottom and "historique (PgDn)" not in bottom
    leave(tmux)  # a clean exit: no sanitizer or leak report (exit 0)


def test_the_view_stays_put_while_lines_arrive(server, tmux):
    """Repro C: PgUp, then the other sends two lines: the rows in view do
    not move; the status line counts what came below."""
    other = start(server, tmux)
    send_lines(other, tmux, 30)
    tmux.keys("c", "PPage")
    tmux.wait_for("c", "historique (PgDn)")
    settle(tmux)
    before = pane(tmux)
    assert "autre a dit : ligne numéro 29" not in "\n".join(before)
    other.send("nouvelle 1\n")
    other.send("nouvelle 2\n")
    screen = tmux.wait_for("c", "2 nouveaux messages plus bas (PgDn)")
    assert pane(tmux) == before, screen
    leave(tmux)  # a clean exit: no sanitizer or leak report (exit 0)


@pytest.mark.parametrize("keys", [["M-End"], ["C-End"], ["End"], ["-l", "brouillon", "End", "End"]],
                         ids=["alt-end", "ctrl-end", "end", "end-twice-after-typing"])
def test_end_returns_to_the_bottom(server, tmux, keys):
    other = start(server, tmux)
    send_lines(other, tmux, 30)
    tmux.keys("c", "PPage")
    tmux.keys("c", "PPage")
    tmux.wait_for("c", "historique (PgDn)")
    if keys[0] == "-l":
        tmux.keys("c", "-l", keys[1])
        tmux.keys("c", "Home")
        tmux.keys("c", "End")
        # Once: the cursor goes to the line's end, the view does not move.
        assert "historique (PgDn)" in settle(tmux)
        tmux.keys("c", "End")
    else:
        tmux.keys("c", *keys)
    screen = wait_gone(tmux, "historique (PgDn)")
    assert "autre a dit : ligne numéro 29" in screen


def test_help_lists_the_keys(server, tmux):
    start(server, tmux, height=30)
    tmux.keys("c", "-l", "/help")
    tmux.keys("c", "Enter")
    screen = " ".join(tmux.wait_for("c", "Touches :").split())
    for words in ("PgUp/PgDn, molette (défiler)", "Alt+Fin", "Ctrl+Fin", "(retour en bas)",
                  "Tab (compléter un pseudo ou une commande)",
                  "Ctrl+R (chercher dans ce que vous avez envoyé)", "Maj+glisser"):
        assert words in screen, words


def test_the_mouse_wheel_scrolls(server, tmux):
    other = start(server, tmux)
    send_lines(other, tmux, 30)
    flags = tmux.run("display-message", "-p", "-t", tmux.target("c"),
                     "#{mouse_any_flag}#{mouse_standard_flag}").strip()
    assert flags != "00", "the client asked for no mouse reports"
    tmux.keys("c", "-H", *WHEEL_UP)
    screen = tmux.wait_for("c", "historique (PgDn)")
    assert "autre a dit : ligne numéro 26" in screen and "ligne numéro 27" not in screen
    tmux.keys("c", "-H", *WHEEL_UP)
    tmux.wait_for("c", "autre a dit : ligne numéro 23")
    tmux.keys("c", "-H", *WHEEL_DOWN)
    tmux.keys("c", "-H", *WHEEL_DOWN)
    screen = wait_gone(tmux, "historique (PgDn)")
    assert "autre a dit : ligne numéro 29" in screen
    assert "`!!" not in screen and "a!!" not in screen  # never typed into the line
    leave(tmux)  # a clean exit: no sanitizer or leak report (exit 0)


@pytest.mark.parametrize("how", ["--no-mouse", "MOUSE=no"])
def test_no_mouse_leaves_the_mouse_to_the_terminal(server, tmux, how):
    if how == "--no-mouse":
        start(server, tmux, extra="--no-mouse")
    else:
        tmux.start("c", "env CHATROOM_MOUSE=no " + client_command(server.port) +
                   " -n lecteur -r general", width=80, height=12)
        tmux.wait_for("c", "Annonce : lecteur a rejoint la chatroom")
    flags = tmux.run("display-message", "-p", "-t", tmux.target("c"),
                     "#{mouse_any_flag}#{mouse_standard_flag}#{mouse_button_flag}").strip()
    assert flags == "000", flags
