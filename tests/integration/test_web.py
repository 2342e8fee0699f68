"""The browser's way in (issue 18), server side: the page served on the
chat's own port, WebSockets speaking JSON in the same rooms as text and
binary peers, with the same limits. A real browser drives the page in
test_web_browser.py."""

import base64
import json
import os
import selectors
import socket
import time
import zlib

import pytest

from conftest import ROOT, TIMEOUT, talk_until_dropped
from hostile import image_frame, png
from wire import MESSAGE, BinaryPeer, say
from wsclient import HandshakeRefused, WebSocket, hello

WEB = str(ROOT / "web")


@pytest.fixture
def web(start_server):
    return start_server("--web-root", WEB)


def wait_line(peer, wanted):
    """Reads the text peer's lines up to `wanted` (others skipped)."""
    seen = []
    while True:
        got = peer.line()
        if got == wanted:
            return seen
        seen.append(got)


def http_get(port, path, extra="", method="GET", source="127.0.0.1"):
    """(status line, headers, body) of one GET (or another method)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT, source_address=(source, 0))
    s.sendall(f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{extra}"
              "Connection: close\r\n\r\n".encode())
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    s.close()
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode(errors="replace").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in
               (line.partition(":") for line in lines[1:])}
    return lines[0], headers, body


def test_page_served_on_the_chat_port_with_a_strict_policy(web):
    status, headers, body = http_get(web.port, "/")
    assert " 200 " in status
    assert body == (ROOT / "web" / "index.html").read_bytes()
    csp = headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert headers["x-content-type-options"] == "nosniff"
    status, headers, body = http_get(web.port, "/app.js")
    assert " 200 " in status and "javascript" in headers["content-type"]
    # The chat goes on beside it: a text peer is still a text peer.
    p = web.peer()
    p.join("nina")


@pytest.mark.parametrize("path", [
    "/../../../../etc/passwd", "/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
    "/..%2f..%2f..%2fetc%2fpasswd", "/../README.md", "/nothing-here.html"])
def test_only_the_files_of_the_web_root(web, path):
    status, _, body = http_get(web.port, path)
    assert " 200 " not in status, status
    assert b"root:" not in body and b"# chatroom" not in body


def test_websocket_peers_chat_with_text_peers(web):
    nc = web.peer()
    nc.join("nina")
    ws, welcome, history = hello(web.port, "alice")
    assert welcome["pseudo"] == "alice" and len(welcome["token"]) == 64
    assert history["room"] == welcome["room"]
    wait_line(nc, "Annonce : alice a rejoint la chatroom")
    ws.send_json({"type": "say", "text": "bonjour <img src=x onerror=alert(1)>"})
    wait_line(nc, "alice a dit : bonjour <img src=x onerror=alert(1)>")
    nc.send("salut alice\n")
    ev = ws.until(lambda m: m.get("kind") == "message")
    assert ev["type"] == "event" and ev["pseudo"] == "nina"
    assert ev["text"] == "salut alice" and ev["room"] == welcome["room"]
    assert ev["id"] > 0 and ev["time"] > 0
    ws.close()


def test_history_on_join_and_older_pages(web):
    nc = web.peer()
    nc.join("nina")
    for i in range(60):
        nc.send(f"ligne {i}\n")
    nc.send("fin\n")
    time.sleep(0.3)
    ws, _, history = hello(web.port, "alice")
    texts = [e.get("text") for e in history["events"] if e["kind"] == "message"]
    assert texts[-1] == "fin" and len(history["events"]) == 50
    assert history["more"] is True
    oldest = history["events"][0]["id"]
    ws.send_json({"type": "history", "before": oldest})
    older = ws.until(lambda m: m.get("type") == "history")
    assert all(e["id"] < oldest for e in older["events"]) and older["events"]
    assert older["events"][-1]["id"] < oldest
    ws.close()


def test_resume_after_a_drop_misses_nothing(web):
    nc = web.peer()
    nc.join("nina")
    ws, welcome, _ = hello(web.port, "alice")
    nc.send("avant\n")
    last = ws.until(lambda m: m.get("kind") == "message")["id"]
    ws.sock.shutdown(socket.SHUT_RDWR)
    ws.close()
    wait_line(nc, "Annonce : alice a quitté la chatroom")
    nc.send("pendant 1\n")
    nc.send("pendant 2\n")
    time.sleep(0.2)
    back = WebSocket(web.port)
    back.send_json({"type": "hello", "token": welcome["token"], "after": last})
    w2 = back.until(lambda m: m.get("type") == "welcome")
    assert w2["returning"] is True and w2["pseudo"] == "alice"
    missed = back.until(lambda m: m.get("type") == "history")
    assert [e.get("text") for e in missed["events"] if e["kind"] == "message"] == \
        ["pendant 1", "pendant 2"]
    assert missed["truncated"] is False
    nc.send("après\n")
    assert back.until(lambda m: m.get("kind") == "message")["text"] == "après"


def test_resume_says_when_history_was_lost(start_server):
    srv = start_server("--web-root", WEB, "--history-size", "5")
    nc = srv.peer()
    nc.join("nina")
    ws, welcome, _ = hello(srv.port, "alice")
    nc.send("vu\n")
    last = ws.until(lambda m: m.get("kind") == "message")["id"]
    ws.close()
    for i in range(8):
        nc.send(f"perdu {i}\n")
    time.sleep(0.3)
    back = WebSocket(srv.port)
    back.send_json({"type": "hello", "token": welcome["token"], "after": last})
    missed = back.until(lambda m: m.get("type") == "history")
    assert missed["truncated"] is True


def test_foreign_origin_refused_own_origin_accepted(web):
    with pytest.raises(HandshakeRefused):
        WebSocket(web.port, origin="http://evil.example")
    with pytest.raises(HandshakeRefused):
        WebSocket(web.port, origin=f"http://127.0.0.1:{web.port + 1}")
    with pytest.raises(HandshakeRefused):
        WebSocket(web.port, path="/elsewhere", origin=f"http://127.0.0.1:{web.port}")
    ws = WebSocket(web.port, origin=f"http://127.0.0.1:{web.port}")
    ws.send_json({"type": "ping"})
    assert ws.until(lambda m: True)["type"] == "pong"


def test_bad_messages_get_an_error_and_lose_nothing(web):
    nc = web.peer()
    nc.join("nina")
    ws, _, _ = hello(web.port, "alice")
    ws.send_frame(b"{pas du json")
    assert ws.until(lambda m: m.get("type") == "error")["code"] == "json"
    ws.send_json({"type": "say"})
    assert ws.until(lambda m: m.get("type") == "error")["code"] == "text"
    ws.send_json({"type": "say", "text": "toujours là"})
    wait_line(nc, "alice a dit : toujours là")
    # Before its hello, a page may say nothing.
    other = WebSocket(web.port)
    other.send_json({"type": "say", "text": "anonyme"})
    assert other.until(lambda m: m.get("type") == "error")["code"] == "state"
    assert other.closed()


def test_oversized_message_refused_while_the_chat_goes_on(web):
    nc = web.peer()
    nc.join("nina")
    big = WebSocket(web.port)
    # Before its hello a message is at most 16 KiB: 1 MiB is cut.
    try:
        big.send_frame(b'{"type":"hello","pseudo":"' + b"x" * (1 << 20) + b'"}')
    except OSError:
        pass
    err = big.until(lambda m: m.get("type") == "error")
    assert err["code"] == "too_long"
    assert big.closed()
    nc.send("encore là\n")
    ws, _, _ = hello(web.port, "alice")
    nc.send("toujours\n")
    assert ws.until(lambda m: m.get("kind") == "message")["text"] == "toujours"


def test_a_flooding_page_is_stopped(start_server):
    srv = start_server("--web-root", WEB, "--flood-burst", "20", "--flood-rate", "1")
    nc = srv.peer()
    nc.join("nina")
    ws, _, _ = hello(srv.port, "alice")
    for i in range(40):
        ws.send_json({"type": "say", "text": f"flood {i}"})
    err = ws.until(lambda m: m.get("type") == "error")
    assert err["code"] == "flood"
    wait_line(nc, "alice a dit : flood 1")


def test_commands_from_the_server_table(web):
    nc = web.peer()
    nc.join("nina")
    ws, _, _ = hello(web.port, "alice")
    ws.send_json({"type": "command", "line": "/who"})
    who = ws.until(lambda m: m.get("type") == "list")
    assert who["kind"] == "who" and {"alice", "nina"} <= {e["name"] for e in who["entries"]}
    ws.send_json({"type": "command", "line": "/join jardin"})
    moved = ws.until(lambda m: m.get("type") == "history")
    assert moved["room"] == "jardin"
    ws.send_json({"type": "command", "line": "/nimportequoi"})
    assert ws.until(lambda m: m.get("type") == "error")["code"] == "command"


def test_a_page_has_the_chat_commands_of_the_other_protocols(web):
    """Issue 16 from a page: a private message both ways with a text peer
    and never to a third; /me to the room; /search answered."""
    nina, third = web.peer(), web.peer()
    nina.join("nina")
    third.join("tiers")
    ws, _, _ = hello(web.port, "alice")
    wait_line(nina, "Annonce : alice a rejoint la chatroom")
    wait_line(third, "Annonce : alice a rejoint la chatroom")
    ws.send_json({"type": "command", "line": "/msg nina un secret"})
    wait_line(nina, "alice a dit en privé : un secret")
    echo = ws.until(lambda m: m.get("type") == "info" and m.get("kind") == "private")
    assert echo["text"] == "Vous avez dit en privé à nina : un secret" and echo["sent"]
    nina.send("/msg alice bien reçu\n")
    got = ws.until(lambda m: m.get("type") == "info" and m.get("kind") == "private")
    assert got["text"] == "nina a dit en privé : bien reçu" and not got["sent"]
    ws.send_json({"type": "command", "line": "/me danse"})
    wait_line(nina, "* alice danse")  # to the others, as over text
    nina.send("/me rit\n")
    action = ws.until(lambda m: m.get("type") == "event" and m.get("kind") == "action")
    assert action["pseudo"] == "nina" and action["text"] == "rit"
    nina.send("les cerises sont mûres\n")
    ws.until(lambda m: m.get("type") == "event" and m.get("text") == "les cerises sont mûres")
    ws.send_json({"type": "command", "line": "/search cerises"})
    found = ws.until(lambda m: m.get("type") == "found")
    assert found["query"] == "cerises" and not found["cut"]
    assert [e["text"] for e in found["events"]] == ["les cerises sont mûres"]
    # The third saw the action and the message, never the private words.
    wait_line(third, "* alice danse")
    wait_line(third, "* nina rit")
    wait_line(third, "nina a dit : les cerises sont mûres")
    third.silent(0.3)


def test_stops_cleanly_with_pages_open(start_server):
    srv = start_server("--web-root", WEB)
    ws, _, _ = hello(srv.port, "alice")
    half = socket.create_connection(("127.0.0.1", srv.port))
    half.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")  # a request never finished
    time.sleep(0.2)
    assert srv.stop() == 0
    info = ws.until(lambda m: m.get("type") == "info")
    assert info["kind"] == "stopping"
    half.close()


def test_no_web_root_no_web(start_server):
    srv = start_server("--web-root", "none")
    p = srv.peer()
    p.send("GET / HTTP/1.1\n")  # a text peer, as before the web client
    p.join("nina")
    assert "handed to the web server" not in srv.log()


# Its 1030 requests must be made within the web server's 10 s timeout, which
# a sanitized build on a busy machine does not always manage.
@pytest.mark.slow_under_asan
def nina_and_tom(srv):
    """Two text peers in, each having seen the other arrive: the
    conversation that must go on beside an attack."""
    nina, tom = srv.peer(), srv.peer()
    nina.join("nina")
    tom.join("tom")
    wait_line(nina, "Annonce : tom a rejoint la chatroom")
    return nina, tom


def unfinished_request(port):
    """A socket whose request never ends (a slowloris)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
    s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
    return s


def cut_among(held, timeout):
    """How many of the held sockets the server has closed, once some are
    (epoll: there may be more than select takes)."""
    cut = 0
    with selectors.DefaultSelector() as ready:
        for s in held:
            ready.register(s, selectors.EVENT_READ)
        for key, _ in ready.select(timeout=timeout):
            try:
                cut += key.fileobj.recv(1) == b""
            except ConnectionResetError:
                cut += 1
    return cut


def test_one_address_cannot_take_every_http_place(start_server):
    """Unfinished requests from one address hold at most --max-per-address
    places (the page's own connections are few): past that it is cut, and
    a browser elsewhere still loads the page, the chat going on."""
    srv = start_server("--web-root", WEB, "--max-per-address", "20")
    nina, tom = nina_and_tom(srv)
    held = []
    try:
        for i in range(40):
            held.append(unfinished_request(srv.port))
            # One at a time, each past the connection's own per-address count.
            deadline = time.monotonic() + TIMEOUT
            while (srv.log().count("(handed to the web server)") +
                   srv.log().count("(too many web peers from its address)") <= i):
                assert time.monotonic() < deadline, "neither handed over nor cut"
                time.sleep(0.01)
        srv.wait_log(r"disconnected \(too many web peers from its address\)")
        assert " 200 " in http_get(srv.port, "/", source="127.0.0.2")[0]
        tom.send("toujours là\n")
        wait_line(nina, "tom a dit : toujours là")
        assert cut_among(held, 2.0) >= 20
    finally:
        for s in held:
            s.close()


def test_http_peers_are_bounded_while_the_chat_goes_on(start_server):
    """Unfinished requests (a slowloris) hold at most 1024 places; past
    that a newcomer is cut at once, and the chat does not notice. (All
    from one address here: its own bound, --max-per-address, set above.)"""
    web = start_server("--web-root", WEB, "--max-per-address", "4096")
    nina, tom = nina_and_tom(web)
    held = []
    try:
        # Past 1024 a newcomer is cut; on a loaded machine lws's own 10 s
        # timeout may free the first places meanwhile, so go on (to 2048
        # at most) until one is cut.
        for i in range(2048):
            held.append(unfinished_request(web.port))
            if i % 200 == 0:
                start = time.monotonic()
                tom.send(f"toujours là {i}\n")
                wait_line(nina, f"tom a dit : toujours là {i}")
                assert time.monotonic() - start < 2.0
            if i >= 1030 and "too many web peers" in web.log():
                break
        web.wait_log(r"disconnected \(too many web peers\)")
        # Which were cut: any of them, as lws's own timeout may free places
        # on a slow machine.
        assert cut_among(held, TIMEOUT) >= 1
    finally:
        for s in held:
            s.close()
    tom.send("fin\n")
    wait_line(nina, "tom a dit : fin")
    # Once they have gone, pages load again.
    deadline = time.monotonic() + TIMEOUT
    while True:
        try:
            assert " 200 " in http_get(web.port, "/")[0]
            break
        except (AssertionError, OSError):
            assert time.monotonic() < deadline
            time.sleep(0.2)


def test_pictures_from_a_page_are_checked_like_any(web, tmp_path):
    nc = web.peer()
    nc.join("nina")
    ws, _, _ = hello(web.port, "alice")
    ws.send_json({"type": "image", "mime": "image/png",
                  "data": base64.b64encode(b"pas une image du tout").decode()})
    err = ws.until(lambda m: m.get("type") == "error")
    assert err["code"] == "image" and err["text"].startswith("image refusée : ")
    ws.send_json({"type": "image", "data": "%%%"})
    assert ws.until(lambda m: m.get("type") == "error")["code"] == "image"
    ws.send_json({"type": "say", "text": "et après"})
    before = wait_line(nc, "alice a dit : et après")
    assert not [line for line in before if "image" in line], before


def test_a_busy_turn_reaches_a_page_message_by_message_in_order(start_server):
    """web.c frames a page's queued messages together and sends them in one
    write: each must still arrive as its own message, whole and in order,
    a picture over 64 KiB (a 64-bit length) among short lines (7 and
    16-bit lengths)."""
    srv = start_server("--flood-rate", "0")
    ws, _, _ = hello(srv.port, "lectrice")
    sender = BinaryPeer(srv.port)
    sender.join("envoyeur")
    ws.until(lambda m: m.get("kind") == "join" and m.get("pseudo") == "envoyeur")
    rows = b"".join(b"\0" + os.urandom(240 * 3) for _ in range(160))
    picture = png(240, 160, zlib.compress(rows))
    assert len(base64.b64encode(picture)) > 0x10000
    burst = [say(f"court {i}") for i in range(200)] + [say("long " + "x" * 300)]
    burst += [image_frame(picture, "image/png", 240, 160)]
    burst += [say(f"après {i}") for i in range(50)]  # 64 may wait behind a picture
    sender.send(b"".join(burst))
    wanted = [f"court {i}" for i in range(200)] + ["long " + "x" * 300, "image"]
    wanted += [f"après {i}" for i in range(50)]
    got = []
    while len(got) < len(wanted):
        m = ws.recv_json()
        if m.get("kind") == "message":
            got.append(m["text"])
        elif m.get("kind") == "image":
            assert base64.b64decode(m["data"]) == picture
            got.append("image")
    assert got == wanted
    ws.send_json({"type": "say", "text": "bien reçu"})
    assert sender.until(MESSAGE, pseudo="lectrice")["text"] == "bien reçu"


def test_a_page_that_never_reads_is_dropped_while_the_room_talks(start_server):
    """A page's queue goes to libwebsockets a batch at a time (web.c): what
    a page that reads nothing can hold is its queue's soft limit and one
    batch in lws, and it is dropped as a slow reader; the others talk on."""
    srv = start_server("--soft-queue", "65536", "--soft-queue-seconds", "1",
                       "--max-queue", "100000000", "--flood-rate", "0")
    watcher = srv.peer()
    watcher.join("watcher")

    def small_window(sock):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        return sock
    page = WebSocket(srv.port, wrap=small_window)
    page.send_json({"type": "hello", "pseudo": "lente"})
    watcher.expect("Annonce : lente a rejoint la chatroom")
    talker = srv.peer()
    talker.join("talker")
    watcher.expect("Annonce : talker a rejoint la chatroom")
    assert talk_until_dropped(talker, watcher, "lente"), "the page that never reads was never dropped"
    srv.wait_log(r"disconnected \(slow reader: behind for too long\)")
    talker.send("encore là\n")
    assert watcher.line() == "talker a dit : encore là"
    page.close()
