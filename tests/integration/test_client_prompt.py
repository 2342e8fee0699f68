"""The prompts before the chat, and command arguments (client-ux review #7
and #8; issue 17 §4, §5, §6): Enter means general and the prompt says so;
the counts are of people in the rooms; a bad room asks for the room again,
not the pseudo; a taken pseudo is said before the room is asked for;
/image expands ~ and drops quotes; /join takes "#jeux", "jeux " and
"ＪＥＵＸ" (the server folds them); a picture too large says its size, the
limit and --image-max."""

import shutil
import subprocess
import time

import pytest

from conftest import BUILD, TIMEOUT, client_command

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux missing")


def leave(tmux, name="c"):
    tmux.keys(name, "C-c")
    tmux.wait_for(name, "[exit 0]")


def wait_flat(tmux, text, name="c", timeout=TIMEOUT):
    """Waits for text on the screen, however its rows wrap it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in " ".join(tmux.screen(name).split()):
            return
        time.sleep(0.05)
    raise AssertionError(f"{text!r} not on screen:\n{tmux.screen(name)}")


def prompt_client(server, tmux, name="c", env=""):
    tmux.start(name, env + client_command(server.port), width=100, height=30)
    tmux.wait_for(name, "Pseudo :")


def test_enter_means_general_and_the_prompt_says_so(server, tmux):
    # Somebody made arcade (and is in it), listed before general; nobody is
    # in general.
    maker = server.peer()
    maker.join("createur", room="arcade")
    prompt_client(server, tmux)
    tmux.keys("c", "second", "Enter")
    screen = tmux.wait_for("c", "Salon à rejoindre ou à créer (Entrée : general) :")
    # Counts of people who joined: the asker is not one of them.
    assert "general (0)" in screen and "arcade (1)" in screen, screen
    tmux.keys("c", "Enter")
    tmux.wait_for("c", "Annonce : second a rejoint la chatroom")
    tmux.wait_for("c", "| #general | second |")


def test_a_bad_room_asks_for_the_room_again_not_the_pseudo(server, tmux):
    prompt_client(server, tmux)
    tmux.keys("c", "voyageur", "Enter")
    tmux.wait_for("c", "(Entrée : general) :")
    tmux.keys("c", "-l", "mauvais salon!")
    tmux.keys("c", "Enter")
    screen = tmux.wait_for("c", "chatroom: salon refusé : le nom du salon ne prend que lettres")
    deadline = time.monotonic() + TIMEOUT
    while screen.count("(Entrée : general) :") < 2:
        assert time.monotonic() < deadline, screen
        screen = tmux.screen("c")
    assert screen.count("Pseudo :") == 1, screen
    tmux.keys("c", "-l", " #Jeux ")
    tmux.keys("c", "Enter")
    tmux.wait_for("c", "Annonce : voyageur a rejoint le salon Jeux")


def test_a_taken_pseudo_is_said_before_the_room_is_asked(server, tmux):
    holder = server.peer()
    holder.join("pris")
    prompt_client(server, tmux)
    tmux.keys("c", "pris", "Enter")
    screen = tmux.wait_for("c", "chatroom: le pseudo pris est déjà pris")
    deadline = time.monotonic() + TIMEOUT
    while screen.count("Pseudo :") < 2:
        assert time.monotonic() < deadline, screen
        screen = tmux.screen("c")
    assert "Salon à rejoindre" not in screen and "Salons :" not in screen, screen
    tmux.keys("c", "libre", "Enter")
    tmux.wait_for("c", "(Entrée : general) :")
    tmux.keys("c", "Enter")
    holder.skip_until("Annonce : libre a rejoint la chatroom")
    # The check did not leave anything behind: no room, no stray arrival.
    holder.send("/rooms\n")
    assert holder.line() == "Salons : general (2)"
    leave(tmux)  # a clean exit: no sanitizer or leak report (exit 0)


def test_join_takes_a_hash_a_trailing_blank_and_look_alikes(server, tmux):
    watcher = server.peer()
    watcher.join("guetteur", room="jeux")
    tmux.start("c", client_command(server.port) + " -n nomade -r general", width=100, height=30)
    tmux.wait_for("c", "Annonce : nomade a rejoint la chatroom")
    tmux.keys("c", "-l", "/join")
    tmux.keys("c", "Enter")
    tmux.wait_for("c", "Usage : /join SALON")
    for typed in ("/join #jeux", "/join general", "/join jeux ", "/join general",
                  "/join ＪＥＵＸ"):
        tmux.keys("c", "-l", typed)
        tmux.keys("c", "Enter")
        room = "general" if typed.endswith("general") else "jeux"
        tmux.wait_for("c", f"| #{room} | nomade |")
        # Several rooms at once (issue 17): jeux is joined once, then its
        # window is shown again; general is never left.
        if typed == "/join #jeux":
            watcher.skip_until("Annonce : nomade a rejoint le salon jeux")
    assert "Erreur" not in tmux.screen("c")
    leave(tmux)  # a clean exit: no sanitizer or leak report (exit 0)


@pytest.fixture
def home(tmp_path):
    folder = tmp_path / "maison"
    folder.mkdir()
    subprocess.run([str(BUILD / "tests" / "make_images"), str(folder)], check=True)
    (folder / "landscape.png").rename(folder / "mon image.png")
    return folder


def test_image_expands_home_and_drops_quotes(server, tmux, home):
    watcher = server.peer()
    watcher.join("guetteur")
    tmux.start("c", f"env HOME={home} " + client_command(server.port) +
               " -n peintre -r general", width=100, height=40)
    tmux.wait_for("c", "Annonce : peintre a rejoint la chatroom")
    watcher.skip_until("Annonce : peintre a rejoint la chatroom")
    for typed in ('/image "~/mon image.png"', "/image  '~/mon image.png' "):
        tmux.keys("c", "-l", typed)
        tmux.keys("c", "Enter")
    headers = 0
    while headers < 2:  # each picture's header, then its drawing
        headers += watcher.line() == "peintre a envoyé une image (240×160) :"
    tmux.keys("c", "-l", "/image ~/absente.png")
    tmux.keys("c", "Enter")
    wait_flat(tmux, f"Image refusée : {home}/absente.png : Aucun fichier ou dossier de ce type")
    tmux.keys("c", "-l", "/image    ")
    tmux.keys("c", "Enter")
    tmux.wait_for("c", "Usage : /image FICHIER")
    leave(tmux)  # a clean exit: no sanitizer or leak report (exit 0)


def test_a_picture_too_large_says_its_size_the_limit_and_the_setting(server, tmux, home):
    big = home / "grande.png"
    big.write_bytes((home / "mon image.png").read_bytes() + bytes(7 * 1024 * 1024))
    tmux.start("c", f"env HOME={home} " + client_command(server.port) + " -n lourd -r general",
               width=120, height=20)
    tmux.wait_for("c", "Annonce : lourd a rejoint la chatroom")
    tmux.keys("c", "-l", "/image ~/grande.png")
    tmux.keys("c", "Enter")
    wait_flat(tmux, f"Image refusée : {home}/grande.png : image trop lourde (7,0 Mo, au plus "
                    "5,0 Mo ; --image-max)")
