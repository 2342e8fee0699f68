"""The terminal the full-screen client finds (issue 17 §9): TERM=dumb (an
emacs shell) gets the line mode with a notice instead of a screen drawn on
one line; a picture taller than the pane is fitted to it under its header;
a URL is never cut by the hanging indent, so terminals still find it."""

import shutil
import struct
import time
import zlib

import pytest

from conftest import TIMEOUT, client_command

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux missing")


def leave(tmux, name="c"):
    tmux.keys(name, "C-c")
    tmux.wait_for(name, "[exit 0]")


def png(width, height):
    """A small RGB PNG with a gradient (no library needed)."""
    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data +
                struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff))
    rows = b"".join(b"\0" + bytes((x * 4 % 256, y * 4 % 256, 128) [i] for x in range(width)
                                  for i in range(3)) for y in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2,
                                                               0, 0, 0)) +
            chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def test_a_dumb_terminal_gets_the_line_mode(server, tmux):
    peer = server.peer()
    peer.join("voisin")
    tmux.start("c", "env TERM=dumb " + client_command(server.port) + " -n terne -r general",
               width=160, height=20)
    screen = tmux.wait_for("c", "Annonce : terne a rejoint la chatroom")
    assert ("chatroom: ce terminal (TERM=dumb) ne permet pas l'interface plein écran : mode "
            "ligne, comme avec --plain") in " ".join(screen.split())
    peer.skip_until("Annonce : terne a rejoint la chatroom")
    peer.send("un\n")
    peer.send("deux\n")
    screen = tmux.wait_for("c", "voisin a dit : deux")
    lines = [l.rstrip() for l in screen.splitlines()]
    # One line each, as a line tool prints them, and no status line.
    assert any(l.endswith("] voisin a dit : un") for l in lines), screen
    assert any(l.endswith("] voisin a dit : deux") for l in lines), screen
    assert " | #general | " not in screen and "\x1b" not in screen
    tmux.keys("c", "-l", "bonjour d'emacs")
    tmux.keys("c", "Enter")
    peer.skip_until("terne a dit : bonjour d'emacs")
    tmux.wait_for("c", "Vous avez dit : bonjour d'emacs")
    tmux.keys("c", "C-d")  # end of input: leaves
    tmux.wait_for("c", "[exit 0]")


def test_a_picture_taller_than_the_pane_fits_under_its_header(server, tmux, tmp_path):
    picture = tmp_path / "carre.png"
    picture.write_bytes(png(64, 64))  # square: about 38 rows at 76 columns
    tmux.start("c", client_command(server.port) + " -n peintre -r general", width=80, height=16)
    tmux.wait_for("c", "Annonce : peintre a rejoint la chatroom")
    tmux.keys("c", "-l", f"/image {picture}")
    tmux.keys("c", "Enter")
    screen = tmux.wait_for("c", "Vous avez envoyé une image (64×64) :")
    rows = screen.splitlines()
    header = next(i for i, r in enumerate(rows) if "Vous avez envoyé une image" in r)
    status = next(i for i, r in enumerate(rows) if " | #general | " in r)
    drawn = [r for r in rows[header + 1:status] if r.strip()]
    assert 2 <= len(drawn) <= 14 - 1, screen  # the pane's 14 rows, the header's one off
    assert all(r.startswith("    ") for r in drawn)
    # Resized taller, it grows back (within IMAGE_MAX_ROWS).
    tmux.run("resize-window", "-t", tmux.target("c"), "-x", "80", "-y", "40")
    deadline = time.monotonic() + TIMEOUT
    while True:
        rows = tmux.screen("c").splitlines()
        header = next((i for i, r in enumerate(rows) if "Vous avez envoyé une image" in r), None)
        status = next((i for i, r in enumerate(rows) if " | #general | " in r), None)
        if header is not None and status is not None and status - header - 1 > len(drawn):
            break
        assert time.monotonic() < deadline, "\n".join(rows)
        time.sleep(0.05)
    leave(tmux)  # a clean exit: no sanitizer or leak report (exit 0)


def test_urls_are_never_cut_by_the_indent(server, tmux):
    peer = server.peer()
    peer.join("lien")
    tmux.start("c", client_command(server.port) + " -n liseur -r general", width=50, height=20)
    tmux.wait_for("c", "Annonce : lien a rejoint la chatroom")
    fits = "https://example.com/un/chemin/assez/long/pour"  # 45: a row, not an indented one
    peer.send(f"regarde {fits} et dis-moi\n")
    screen = tmux.wait_for("c", "dis-moi")
    rows = [r.rstrip() for r in screen.splitlines()]
    assert any(r.startswith(fits) for r in rows), screen  # whole, from the first column
    longer = "https://example.com/" + "/".join(f"segment{i}" for i in range(8)) + "?x=1&y=2"
    peer.send(f"et {longer} terminus\n")
    screen = tmux.wait_for("c", " terminus")
    rows = [r.rstrip() for r in screen.splitlines()]
    first = next(i for i, r in enumerate(rows) if r.startswith("https://example.com/segment0"))
    joined = ""
    for r in rows[first:]:
        if joined == longer or r.startswith(" "):
            break
        joined += r.split(" ")[0] if len(joined) + len(r) > len(longer) else r
    assert joined == longer, screen  # its pieces from the first column, nothing lost
    leave(tmux)  # a clean exit: no sanitizer or leak report (exit 0)
