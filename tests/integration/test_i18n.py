"""Every word the client says in the chosen language (issue 17 §7, client-ux
review "also worth fixing"): French by default, English with --lang en,
diagnostics and exit messages included, the server's French sentences
too; --lang de is an error naming the known languages; counts agree with
their noun. Before: `*** the server at … closed the connection ;
reconnexion…`, `chatroom: invalid pseudo: le pseudo …`, `1 présents`, and
--lang de silently French."""

import re
import shutil
import subprocess

import pytest

from conftest import BUILD, CLIENT_BIN, ROOT, TIMEOUT, VALGRIND_PREFIX, Client, \
    assert_no_sanitizer_report, child_env, client_command

FRENCH = re.compile(r"\b(Annonce|Vous|avez|dit|Salons|Présents|Erreur|Commandes?|inconnue|"
                    r"refusée?|serveur|connexion|impossible|joindre|fichier|trop|lourde|"
                    r"langue|salon|pseudo|dans|pour|une?|les?|la|des|est|et|ou|pas|au|"
                    r"plus|octets|Aucun|partir|liste|aller|créer|historique)\b")
ENGLISH = re.compile(r"\b(the|said|Notice|Rooms|Error|Unknown|Commands|refused|server|"
                     r"connection|cannot|too|picture|file|nickname|room|joined|left|of|"
                     r"is|and|or|not|at|most|bytes|Keys|lists|this|such|history|leave|"
                     r"stopping|unknown|known|language|invalid)\b")


def run_client(args, lang, stdin="", env_lang="fr"):
    env = child_env(env_lang)
    proc = subprocess.run([*VALGRIND_PREFIX, str(CLIENT_BIN), *args, "--lang", lang],
                          input=stdin, capture_output=True, text=True, env=env,
                          timeout=TIMEOUT)
    assert_no_sanitizer_report(proc.stderr, "client")
    return proc


def scenario(start_server, tmp_path, lang):
    """One session in plain mode, with every kind of line the client says;
    returns every line it printed, on stdout and stderr."""
    images = tmp_path / f"images-{lang}"
    images.mkdir()
    subprocess.run([str(BUILD / "tests" / "make_images"), str(images)], check=True)
    srv = start_server()
    peer = srv.peer()
    peer.join("peer")
    client = Client(srv.port, "-n", "traducteur", "--lang", lang, "--image-max", "1000")
    peer.skip_until("Annonce : traducteur a rejoint la chatroom")
    for line in ("/help", "/who", "/rooms", "/danse", "/join bad!", "/join",
                 f"/image {images / 'nowhere.png'}", f"/image {images / 'landscape.png'}",
                 f"/image {images / 'not-an-image.png'}", "hello 42"):
        client.type(line + "\n")
    peer.skip_until("traducteur a dit : hello 42")
    peer.send("ping\n")
    peer.close()
    out = []
    while True:
        line = client.line(stamped=False)
        out.append(line)
        if "ping" in line:
            break
    srv.stop()
    rest = client.buf + client.proc.stdout.read()  # up to the client's exit
    code, err = client.wait()
    assert code == 1
    return out + rest.decode(errors="replace").splitlines() + err.splitlines()


def diagnostics(start_server, lang):
    """The client's words outside a session: refused pseudo, refused
    connection, a bad setting."""
    srv = start_server()
    lines = run_client(["-p", str(srv.port)], lang, stdin="a|b\n").stderr.splitlines()
    port = srv.port
    srv.stop()
    lines += run_client(["-p", str(port), "-n", "x"], lang).stderr.splitlines()
    lines += run_client(["-p", "70000"], lang).stderr.splitlines()
    lines += run_client(["-c", "/nonexistent/client.conf"], lang).stderr.splitlines()
    return lines


def words(pattern, line):
    # Paths and the server's address are no words of either language.
    line = re.sub(r"(/[\w.-]+)+|\d+\.\d+\.\d+\.\d+:\d+", " ", line)
    return pattern.findall(line)


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_one_language_per_run_diagnostics_included(start_server, tmp_path, lang):
    lines = scenario(start_server, tmp_path, lang) + diagnostics(start_server, lang)
    text = "\n".join(lines)
    foreign = ENGLISH if lang == "fr" else FRENCH
    mixed = [(l, words(foreign, l)) for l in lines if words(foreign, l)]
    assert mixed == [], f"{lang} run:\n{text}"
    # What the run must have said, in its language.
    wanted = {
        "fr": ["Vous avez dit : hello 42", "Commande inconnue /danse", "Usage : /join SALON",
               "le nom du salon ne prend que lettres", "image trop lourde (2 Ko, au plus "
               "1000 octets ; --image-max)", "Annonce : le serveur s'arrête",
               "a fermé la connexion", "chatroom: pseudo refusé : le pseudo contient un "
               "caractère interdit", "impossible de joindre", "port invalide (1-65535)",
               "impossible de lire /nonexistent/client.conf : Aucun fichier"],
        "en": ["You said: hello 42", "Unknown command /danse", "Usage: /join ROOM",
               "a room name takes only letters", "picture too large (2 KiB, at most "
               "1000 bytes; --image-max)", "Notice: the server is stopping",
               "closed the connection", "chatroom: nickname refused: the nickname holds a "
               "forbidden character", "cannot connect to", "invalid port (1-65535)",
               "cannot read /nonexistent/client.conf: No such file"],
    }[lang]
    for w in wanted:
        assert w in text, f"{w!r} not in the {lang} run:\n{text}"


@pytest.mark.parametrize("env_lang, word", [("fr", "langue inconnue (connues : fr, en)"),
                                            ("en", "unknown language (known: fr, en)")])
def test_an_unknown_language_is_an_error_listing_the_known_ones(env_lang, word):
    proc = run_client([], "de", env_lang=env_lang)
    assert proc.returncode == 2
    assert f"chatroom: --lang 'de'" in proc.stderr and word in proc.stderr, proc.stderr
    env = child_env("de")
    proc = subprocess.run([*VALGRIND_PREFIX, str(CLIENT_BIN)], capture_output=True, text=True,
                          env=env, timeout=TIMEOUT, stdin=subprocess.DEVNULL)
    assert proc.returncode == 2
    assert "chatroom: CHATROOM_LANG 'de' : langue inconnue (connues : fr, en)" in proc.stderr


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux missing")
@pytest.mark.parametrize("lang, one, two", [("fr", "| 1 présent |", "| 2 présents |"),
                                            ("en", "| 1 present |", "| 2 present |")])
def test_counts_agree_with_their_noun(server, tmux, lang, one, two):
    tmux.start("c", client_command(server.port) + f" -n seul -r general --lang {lang}")
    tmux.wait_for("c", one)
    peer = server.peer()
    peer.join("second")
    tmux.wait_for("c", two)


def test_every_word_of_the_code_is_in_both_catalogues(tmp_path):
    """po/update.sh adds what is missing; a word said but not translated
    would come out in French in an English session."""
    pot = tmp_path / "chatroom.pot"
    sources = sorted(str(p) for p in (ROOT / "src/client").glob("*.c"))
    subprocess.run(["xgettext", "--from-code=UTF-8", "-k_", "-kN_", "-kngettext:1,2",
                    "-ktr:2", "-o", str(pot), *sources, str(ROOT / "src/core/settings.c")],
                   check=True, capture_output=True)
    for po in ("en", "fr"):
        proc = subprocess.run(["msgcmp", str(ROOT / f"po/{po}.po"), str(pot)],
                              capture_output=True, text=True)
        assert proc.returncode == 0, f"po/{po}.po lacks:\n{proc.stderr}"
