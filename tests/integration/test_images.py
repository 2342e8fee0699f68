"""Pictures (/image): checked by the client, checked again by the server,
drawn by each receiver at its own width, kept in the history. The tests
make their own images (tests/tools/make_images.c, with stb_image_write)."""

import re
import subprocess
import time

import pytest

from conftest import BUILD, Client, client_command
from wire import ERROR, IMAGE, BinaryPeer, frame, s, say, varint

ROWS = 20  # 240x160 drawn 60 cells wide: cells are twice as tall as wide


@pytest.fixture
def images(tmp_path):
    folder = tmp_path / "images"
    folder.mkdir()
    subprocess.run([str(BUILD / "tests" / "make_images"), str(folder)], check=True)
    return folder


def image_frame(data, mime="image/png", width=240, height=160):
    payload = (bytes(8) * 3 + b"\xff\xff" + s("") + s("") + s(mime) +
               width.to_bytes(4, "big") + height.to_bytes(4, "big") + varint(len(data)) + data)
    return frame(IMAGE, payload)


def drawing(client):
    """The picture's rows after its header line, as the plain client prints them."""
    return [client.line(stamped=False) for _ in range(ROWS)]


@pytest.mark.parametrize("name, cause", [
    ("corrupt.png", "image illisible (fichier abîmé ou tronqué)"),
    ("truncated.png", "image illisible (fichier abîmé ou tronqué)"),
    ("bomb.png", "dimensions trop grandes (au plus 8192 de côté, 32 mégapixels)"),
    ("not-an-image.png", "ce n'est pas une image PNG ou JPEG"),
    ("empty.png", "fichier vide"),
])
def test_a_bad_file_is_refused_by_the_client_and_nothing_is_sent(server, images, name, cause):
    watcher = server.peer()
    watcher.join("guet")
    alice = Client(server.port, "-n", "alice")
    alice.skip_until("Annonce : alice a rejoint la chatroom")
    watcher.expect("Annonce : alice a rejoint la chatroom")
    alice.type(f"/image {images / name}\n")
    alice.expect(f"Image refusée : {images / name} : {cause}")
    alice.type("et rien d'autre\n")
    watcher.expect("alice a dit : et rien d'autre")  # nothing came before it
    alice.proc.stdin.close()
    assert alice.wait()[0] == 0


def test_missing_and_too_heavy_files_are_refused(server, images):
    alice = Client(server.port, "-n", "alice", "--image-max", "1000")
    alice.skip_until("Annonce : alice a rejoint la chatroom")
    alice.type(f"/image {images / 'nowhere.png'}\n")
    line = alice.line()
    assert line.startswith(f"Image refusée : {images / 'nowhere.png'} : "), line
    alice.type(f"/image {images / 'landscape.png'}\n")
    # How heavy, the limit, and the setting that changes it.
    size = (images / "landscape.png").stat().st_size
    assert 1024 <= size < 1024 * 1024
    alice.expect(f"Image refusée : {images / 'landscape.png'} : image trop lourde "
                 f"({(size + 512) // 1024} Ko, au plus 1000 octets ; --image-max)")
    alice.proc.stdin.close()
    assert alice.wait()[0] == 0


def test_the_server_checks_every_picture_again(start_server, images):
    srv = start_server("--image-max-bytes", "3000")
    other = srv.peer()
    other.join("autre")
    peer = BinaryPeer(srv.port)
    peer.join("rusé")
    other.expect("Annonce : rusé a rejoint la chatroom")
    cases = {
        "corrupt.png": "image illisible (fichier abîmé ou tronqué)",
        "truncated.png": "image illisible (fichier abîmé ou tronqué)",
        "bomb.png": "dimensions trop grandes (au plus 8192 de côté, 32 mégapixels)",
        "not-an-image.png": "ce n'est pas une image PNG ou JPEG",
        "landscape.jpg": "image trop lourde",  # 3.9 kB, over this server's 3000
    }
    for name, cause in cases.items():
        peer.send(image_frame((images / name).read_bytes()))
        e = peer.until(ERROR)
        assert e["code"] == 11 and e["text"] == f"image refusée : {cause}", (name, e)
    # Still in the room, and nothing reached the others.
    peer.send(say("toujours là"))
    other.expect("rusé a dit : toujours là")


def test_a_picture_reaches_every_kind_of_peer_drawn_to_fit(server, images):
    text_peer = server.peer()
    text_peer.join("texte")
    binary = BinaryPeer(server.port)
    binary.join("binaire")
    bob = Client(server.port, "-n", "bob")
    bob.skip_until("Annonce : bob a rejoint la chatroom")
    alice = Client(server.port, "-n", "alice")
    alice.skip_until("Annonce : alice a rejoint la chatroom")
    bob.skip_until("Annonce : alice a rejoint la chatroom")

    png = (images / "landscape.png").read_bytes()
    alice.type(f"/image {images / 'landscape.png'}\n")
    alice.expect("Vous avez envoyé une image (240×160) :")
    own = drawing(alice)

    # The plain client on a pipe: plain ASCII, 60 cells, under a 4-cell indent.
    bob.expect("alice a envoyé une image (240×160) :")
    rows = drawing(bob)
    assert rows == own
    assert all(r.startswith("    ") and len(r) == 64 for r in rows), rows
    assert all(32 <= ord(ch) < 127 for r in rows for ch in r)
    assert len(set(rows)) > 5  # a picture, not a blank
    # The house (a dark block in a light sky) shows as blanks amid '@'.
    assert any(re.search(r"[^ ] {10,}[^ ]", r) for r in rows), rows

    # A text peer gets the server's drawing, the same width.
    text_peer.skip_until("alice a envoyé une image (240×160) :")
    server_rows = [text_peer.line() for _ in range(ROWS)]
    assert all(r.startswith("    ") and len(r) == 64 for r in server_rows), server_rows

    # A binary peer gets the very bytes.
    m = binary.until(IMAGE)
    assert (m["pseudo"], m["mime"], m["width"], m["height"]) == ("alice", "image/png", 240, 160)
    assert m["data"] == png

    alice.type(f"/image {images / 'landscape.jpg'}\n")
    alice.expect("Vous avez envoyé une image (240×160) :")
    bob.skip_until("alice a envoyé une image (240×160) :")
    assert binary.until(IMAGE)["mime"] == "image/jpeg"
    for c in (alice, bob):
        c.proc.stdin.close()
        assert c.wait()[0] == 0


def test_history_keeps_pictures_across_a_restart(start_server, images, tmp_path):
    history = tmp_path / "pictures.jsonl"
    srv = start_server("--history", str(history))
    alice = Client(srv.port, "-n", "alice")
    alice.skip_until("Annonce : alice a rejoint la chatroom")
    alice.type(f"/image {images / 'landscape.png'}\n")
    alice.expect("Vous avez envoyé une image (240×160) :")
    own = drawing(alice)
    alice.type("après l'image\n")
    alice.proc.stdin.close()
    alice.wait()
    assert srv.stop() == 0
    assert '"kind":"image"' in history.read_text()

    srv = start_server("--history", str(history))
    late = Client(srv.port, "-n", "tard")
    late.skip_until("alice a envoyé une image (240×160) :")
    assert drawing(late) == own  # drawn again from the kept bytes
    late.skip_until("alice a dit : après l'image")
    text_peer = srv.peer()
    history_lines = text_peer.join("texte")
    i = next(i for i, l in enumerate(history_lines) if "alice a envoyé une image (240×160) :" in l)
    assert all(l.startswith("    ") for l in history_lines[i + 1:i + 1 + ROWS])
    late.proc.stdin.close()
    assert late.wait()[0] == 0


def picture_rows(screen, header):
    lines = screen.splitlines()
    start = next(i for i, l in enumerate(lines) if header in l) + 1
    rows = []
    for l in lines[start:]:
        if re.search(r"[\u2580-\u259f]", l) is None and l.strip():
            break
        rows.append(l.rstrip())
    return [r for r in rows if r]


def test_the_full_screen_ui_draws_pictures_in_colour_at_each_width(server, images, tmux):
    for name, width in (("narrow", 50), ("wide", 120)):
        tmux.start(name, "env TERM=xterm-256color " + client_command(server.port) +
                   f" -n {name} -r general", width=width, height=60)
        tmux.wait_for(name, f"Annonce : {name} a rejoint la chatroom")
    alice = Client(server.port, "-n", "alice")
    alice.skip_until("Annonce : alice a rejoint la chatroom")
    alice.type(f"/image {images / 'landscape.jpg'}\n")
    header = "alice a envoyé une image (240×160) :"
    for name, width in (("narrow", 50), ("wide", 120)):
        tmux.wait_for(name, header)
        time.sleep(0.2)
        rows = picture_rows(tmux.screen(name), header)
        widest = max(len(r) for r in rows)
        assert width - 8 <= widest <= width, (name, rows)  # fitted to this terminal
        coloured = tmux.run("capture-pane", "-p", "-e", "-t", tmux.target(name))
        assert re.search(r"\x1b\[48;5;\d+m", coloured), coloured  # cell colours
        assert "\x1b]" not in coloured and "\x1bP" not in coloured  # no raw sequences
    alice.proc.stdin.close()
    assert alice.wait()[0] == 0


def test_only_a_welcomed_peer_may_send_picture_sized_frames(server):
    stranger = BinaryPeer(server.port)
    stranger.send(bytes([IMAGE]) + varint(1 << 20))  # announces 1 MiB, before any hello
    e = stranger.until(ERROR)
    assert e["code"] == 3, e  # too large: nothing buffered for it
    assert stranger.closed()


def test_progressive_and_cmyk_jpegs_are_drawn_and_relayed_whole(server, images):
    binary = BinaryPeer(server.port)
    binary.join("binaire")
    bob = Client(server.port, "-n", "bob")
    bob.skip_until("Annonce : bob a rejoint la chatroom")
    alice = Client(server.port, "-n", "alice")
    alice.skip_until("Annonce : alice a rejoint la chatroom")
    bob.skip_until("Annonce : alice a rejoint la chatroom")
    for name in ("landscape.jpg", "progressive.jpg", "cmyk.jpg"):
        alice.type(f"/image {images / name}\n")
        alice.expect("Vous avez envoyé une image (240×160) :")
        own = drawing(alice)
        bob.expect("alice a envoyé une image (240×160) :")
        assert drawing(bob) == own
        # The same landscape, however it is coded: the house shows.
        assert any(re.search(r"[^ ] {10,}[^ ]", r) for r in own), (name, own)
        assert binary.until(IMAGE)["data"] == (images / name).read_bytes()  # nothing to strip
    for c in (alice, bob):
        c.proc.stdin.close()
        assert c.wait()[0] == 0
