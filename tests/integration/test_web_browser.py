"""The web client in a real browser (issue 18's acceptance): Debian's
chromium driven by playwright-core (tests/web/driver.mjs), two pages, the
terminal client in plain mode and an nc-style peer in one room.
Screenshots (desktop and phone width) go to tests/web/screenshots/."""

import functools
import http.server
import json
import os
import shutil
import subprocess
import threading
import time

import pytest

from conftest import BUILD, ROOT, TIMEOUT, Client

WEB = str(ROOT / "web")
DRIVER = ROOT / "tests" / "web" / "driver.mjs"
SHOTS = ROOT / "tests" / "web" / "screenshots"
XSS = "<img src=x onerror=alert(1)>"
# A 40x30 PNG drawn in the page, then pasted as a clipboard file.
PASTE = """(async () => {
    const c = document.createElement('canvas');
    c.width = 40;
    c.height = 30;
    c.getContext('2d').fillRect(0, 0, 40, 30);
    const blob = await new Promise((done) => c.toBlob(done, 'image/png'));
    const data = new DataTransfer();
    data.items.add(new File([blob], 'collé.png', {type: 'image/png'}));
    document.dispatchEvent(new ClipboardEvent('paste', {clipboardData: data}));
})()"""


class Browser:
    """The driver process: one JSON command a line, one answer a line."""

    def __init__(self):
        assert (ROOT / "tests" / "web" / "node_modules" / "playwright-core").exists() and \
            shutil.which("node") and os.path.exists("/usr/bin/chromium"), \
            "run scripts/deps.sh test: node, chromium and playwright-core are needed"
        env = dict(os.environ, WEB_TIMEOUT_MS=str(int(TIMEOUT * 1000)))
        self.proc = subprocess.Popen(["node", str(DRIVER)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, env=env,
                                     cwd=DRIVER.parent)

    def __call__(self, op, **args):
        self.proc.stdin.write(json.dumps({"op": op, **args}) + "\n")
        self.proc.stdin.flush()
        answer = json.loads(self.proc.stdout.readline() or '{"ok": false, "error": "died"}')
        assert answer.pop("ok"), f"{op} {args}: {answer.get('error')}"
        return answer

    def close(self):
        try:
            self("quit")
        finally:
            self.proc.wait(timeout=TIMEOUT)


@pytest.fixture(scope="module")
def browser():
    """One chromium for the file (it takes seconds to start); each test
    opens its own pages, each page its own context."""
    b = Browser()
    yield b
    b.close()


def client_wait(client, start):
    """The terminal client's next line that starts with `start`, stamps
    or not (a picture's rows have none)."""
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        got = client.line(stamped=False)
        if start in got:
            return got
    raise AssertionError(f"{start!r} not seen")


def peer_wait(peer, wanted):
    seen = []
    while True:
        try:
            got = peer.line()
        except AssertionError:
            raise AssertionError(f"{wanted!r} not seen; got {seen!r}")
        seen.append(got)
        if got == wanted:
            return


@pytest.fixture
def images(tmp_path):
    folder = tmp_path / "images"
    folder.mkdir()
    subprocess.run([str(BUILD / "tests" / "make_images"), str(folder)], check=True)
    return folder


def test_two_pages_a_terminal_and_nc_share_a_room(start_server, browser, images):
    srv = start_server("--web-root", WEB)
    url = f"http://127.0.0.1:{srv.port}/"
    SHOTS.mkdir(parents=True, exist_ok=True)

    nina = srv.peer()
    nina.join("nina")
    tom = Client(srv.port, "-n", "tom")
    tom.skip_until("Annonce : tom a rejoint la chatroom")

    # Page A, desktop size: says something before page B exists.
    browser("open", name="a", url=url, width=1280, height=800)
    browser("login", name="a", pseudo="alice")
    peer_wait(nina, "Annonce : alice a rejoint la chatroom")
    browser("type", name="a", text="bonjour de alice")
    browser("wait_text", name="a", text="Vous avez dit : bonjour de alice")
    peer_wait(nina, "alice a dit : bonjour de alice")
    client_wait(tom, "alice a dit : bonjour de alice")

    # Page B, a phone: the history on join holds alice's words.
    browser("open", name="b", url=url, width=390, height=844)
    browser("login", name="b", pseudo="bob")
    browser("wait_text", name="b", text="alice a dit : bonjour de alice")

    # Every way: nc -> pages and terminal, terminal -> pages and nc, page -> page.
    nina.send("salut de nina\n")
    for page in ("a", "b"):
        browser("wait_text", name=page, text="nina a dit : salut de nina")
    client_wait(tom, "nina a dit : salut de nina")
    tom.type("salut de tom\n")
    for page in ("a", "b"):
        browser("wait_text", name=page, text="tom a dit : salut de tom")
    peer_wait(nina, "tom a dit : salut de tom")
    browser("type", name="b", text="salut de bob")
    browser("wait_text", name="a", text="bob a dit : salut de bob")
    peer_wait(nina, "bob a dit : salut de bob")
    client_wait(tom, "bob a dit : salut de bob")

    # Markup is text: shown as typed, never run, never an element.
    imgs_before = browser("count", name="a", selector="#log img")["count"]
    browser("type", name="b", text=XSS)
    browser("wait_text", name="a", text=f"bob a dit : {XSS}")
    assert browser("count", name="a", selector="#log img")["count"] == imgs_before
    assert browser("errors", name="a")["dialogs"] == 0
    peer_wait(nina, f"bob a dit : {XSS}")

    # A picture from page A: a picture in page B, a drawing in the terminal.
    browser("upload", name="a", path=str(images / "landscape.png"))
    browser("wait_count", name="b", selector="#log img.picture", count=1)
    src = browser("eval", name="b",
                  code="document.querySelector('#log img.picture').src.slice(0, 22)")
    assert src["value"] == "data:image/png;base64,"
    natural = browser("eval", name="b",
                      code="document.querySelector('#log img.picture').naturalWidth")
    assert natural["value"] == 240
    client_wait(tom, "alice a envoyé une image (240×160) :")
    rows = [tom.line(stamped=False) for _ in range(5)]
    assert any(row.strip() for row in rows), rows
    peer_wait(nina, "alice a envoyé une image (240×160) :")

    # Page B's socket is cut; what is said meanwhile reaches it once restored.
    browser("cut", name="b")
    peer_wait(nina, "Annonce : bob a quitté la chatroom")
    nina.send("pendant la coupure 1\n")
    tom.type("pendant la coupure 2\n")
    browser("type", name="a", text="pendant la coupure 3")
    peer_wait(nina, "alice a dit : pendant la coupure 3")
    time.sleep(0.3)
    browser("restore", name="b")
    for said in ("nina a dit : pendant la coupure 1", "tom a dit : pendant la coupure 2",
                 "alice a dit : pendant la coupure 3"):
        browser("wait_text", name="b", text=said)
    log_b = browser("text", name="b")["text"]
    assert log_b.count("pendant la coupure 1") == 1, "replayed twice"
    assert log_b.count("salut de nina") == 1

    # 390 px wide: nothing sticks out, the message box and its buttons fit.
    fit = browser("box", name="b", selector="#send")
    assert fit["scroll"]["width"] <= 390, fit
    assert fit["box"]["x"] + fit["box"]["width"] <= 390, fit
    text_box = browser("box", name="b", selector="#text")["box"]
    assert text_box["width"] >= 120, text_box

    browser("screenshot", name="a", path=str(SHOTS / "desktop.png"))
    browser("screenshot", name="b", path=str(SHOTS / "phone.png"))
    for page in ("a", "b"):
        assert browser("errors", name=page)["errors"] == []
    tom.proc.stdin.close()
    tom.wait()


def test_a_foreign_page_cannot_open_the_socket(start_server, browser, tmp_path):
    srv = start_server("--web-root", WEB)
    # Another site: a page of another origin, without our page's policy.
    (tmp_path / "index.html").write_text("<!doctype html><title>ailleurs</title>")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    elsewhere = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=elsewhere.serve_forever, daemon=True).start()
    browser("open", name="own", url=f"http://127.0.0.1:{srv.port}/", width=800, height=600)
    # The page's own origin may; a page of another origin may not.
    code = """(url) => new Promise((done) => {
        const ws = new WebSocket(url);
        ws.onopen = () => { ws.close(); done('open'); };
        ws.onerror = () => done('refused');
    })"""
    ws_url = f"ws://127.0.0.1:{srv.port}/ws"
    own = browser("eval", name="own", code=f"({code})('{ws_url}')")
    assert own["value"] == "open"
    browser("open", name="foreign", url=f"http://127.0.0.1:{elsewhere.server_port}/",
            width=800, height=600, route=False)
    foreign = browser("eval", name="foreign", code=f"({code})('{ws_url}')")
    assert foreign["value"] == "refused"
    elsewhere.shutdown()
    assert f"WebSocket refused: origin http://127.0.0.1:{elsewhere.server_port}" in srv.log()


def test_keyboard_only_and_commands(start_server, browser):
    srv = start_server("--web-root", WEB)
    nina = srv.peer()
    nina.join("nina")
    browser("open", name="k", url=f"http://127.0.0.1:{srv.port}/", width=1024, height=700)
    browser("login", name="k", pseudo="kim", room="jardin")
    browser("wait_text", name="k", text="jardin", selector="#room-name")
    browser("type", name="k", text="/who")
    browser("wait_text", name="k", text="Dans jardin : kim")
    browser("type", name="k", text="/join general")
    browser("wait_text", name="k", text="general", selector="#room-name")
    # Both rooms are listed; the one left counts what it missed.
    browser("wait_text", name="k", text="jardin", selector="#rooms")
    nina.send("kim, tu es là ?\n")
    browser("wait_text", name="k", text="nina a dit : kim, tu es là ?")
    # Notifications only once asked for (the page's button, by keyboard),
    # and only while the page is out of sight.
    browser("eval", name="k",
            code="Object.defineProperty(document, 'hidden', {get: () => true})")
    nina.send("kim ?\n")
    browser("wait_text", name="k", text="nina a dit : kim ?")
    assert browser("eval", name="k", code="window.__notes.length")["value"] == 0
    browser("eval", name="k", code="document.getElementById('notify').focus()")
    browser("press", name="k", key="Enter")
    browser("wait_text", name="k", text="Vous serez prévenu")
    browser("press", name="k", key="Escape")  # back to the message box
    assert browser("eval", name="k", code="document.activeElement.id")["value"] == "text"
    nina.send("kim, regarde\n")
    browser("wait_text", name="k", text="nina a dit : kim, regarde")
    nina.send("sans nom\n")
    browser("wait_text", name="k", text="nina a dit : sans nom")
    notes = browser("eval", name="k", code="window.__notes")["value"]
    assert notes == [{"title": "nina (general)",
                      "body": "kim, regarde"}], notes
    # A picture pasted goes as the upload button's do.
    browser("eval", name="k", code=PASTE)
    peer_wait(nina, "kim a envoyé une image (40×30) :")
