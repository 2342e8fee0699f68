"""The binary protocol against the real server: text and binary peers in
the same room, resume tokens, history as JSON, malformed frames."""

import json
import socket
import struct
import time

import pytest

from conftest import TIMEOUT
from wire import (ERROR, HELLO, JOIN, MAGIC, MESSAGE, NOTICE,
                  NOTICE_INFO, NOTICE_JOIN, NOTICE_LEAVE, PING, PONG,
                  ROOMS, ROOMS_ASK, WELCOME, WHO, WHO_ASK, BinaryPeer, frame, hello, s, say,
                  varint)


def test_binary_and_text_peers_share_a_room(server):
    text = server.peer()
    text.join("texte")
    binary = BinaryPeer(server.port)
    w = binary.join("binaire")
    assert w["pseudo"] == "binaire" and w["room"] == "general" and len(w["token"]) == 32
    assert 0 <= w["colour"] <= 255 and 0 < w["user"] < 2 ** 53
    text.expect("Annonce : binaire a rejoint la chatroom")

    binary.send(say("depuis le binaire"))
    text.expect("binaire a dit : depuis le binaire")
    text.send("depuis le texte\n")
    m = binary.expect(MESSAGE, pseudo="texte", text="depuis le texte", room="general")
    assert abs(m["time"] / 1000 - time.time()) < 60
    # A multi-line message reaches text peers as one indented block.
    binary.send(say("ligne 1\nligne 2"))
    text.expect("binaire a dit : ligne 1")
    text.expect("    ligne 2")
    text.close()
    binary.expect(NOTICE, kind=NOTICE_LEAVE, pseudo="texte")


def test_history_is_sent_as_json_to_a_binary_joiner(server):
    a = server.peer()
    a.join("a")
    for i in range(3):
        a.send(f"avant {i}\n")
    time.sleep(0.2)
    b = BinaryPeer(server.port)
    b.join("b")
    events = json.loads(b.history["json"])
    said = [e for e in events if e["kind"] == "message"]
    assert [e["text"] for e in said] == [f"avant {i}" for i in range(3)]
    assert all(e["pseudo"] == "a" and e["room"] == "general" for e in said)
    ids = [e["id"] for e in events]
    assert ids == sorted(ids)


def test_rooms_who_join_and_ping(server):
    a = BinaryPeer(server.port)
    a.send(frame(ROOMS_ASK))  # allowed before hello, to choose a room
    assert a.expect(ROOMS)["rooms"] == {"general": 0}  # the asker is not in it yet
    a.join("a", room="salon")
    b = BinaryPeer(server.port)
    b.join("b", room="salon")
    a.expect(NOTICE, kind=NOTICE_JOIN, pseudo="b", room="salon")
    a.send(frame(WHO_ASK))
    who = a.expect(WHO)
    assert who["room"] == "salon" and set(who["members"]) == {"a", "b"}
    assert who["members"]["a"] == a.welcome["colour"]
    a.send(frame(ROOMS_ASK))
    assert a.expect(ROOMS)["rooms"] == {"general": 0, "salon": 2}
    b.send(frame(JOIN, s("ailleurs")))
    a.expect(NOTICE, kind=NOTICE_LEAVE, pseudo="b", room="salon")
    b.until(NOTICE, kind=NOTICE_JOIN, pseudo="b", room="ailleurs")
    b.send(frame(JOIN, s("pas bien")))
    assert b.expect(ERROR)["code"] == 6
    b.send(frame(PING, struct.pack(">Q", 1234)))
    assert b.expect(PONG)["nonce"] == 1234


def test_resume_token_brings_back_the_user_and_what_it_missed(server):
    text = server.peer()
    text.join("témoin")
    a = BinaryPeer(server.port)
    w = a.join("revenant", room="general")
    text.expect("Annonce : revenant a rejoint la chatroom")
    text.send("vu\n")
    seen = a.expect(MESSAGE, text="vu")["id"]
    a.send(say("dit avant de partir"))  # shown by the client as it was sent
    text.expect("revenant a dit : dit avant de partir")
    a.close()
    text.expect("Annonce : revenant a quitté la chatroom")
    for i in range(3):
        text.send(f"manqué {i}\n")
    time.sleep(0.2)

    again = BinaryPeer(server.port)
    again.send(hello("ignored", token=w["token"], after=seen))
    back = again.expect(WELCOME, returning=True, pseudo="revenant", user=w["user"],
                        colour=w["colour"])
    # The token is spent: a new one comes with the welcome.
    assert len(back["token"]) == 32 and back["token"] != w["token"]
    missed = [again.next() for _ in range(4)]
    # Exactly what followed: its own departure notice and the three messages.
    assert missed[0]["type"] == NOTICE and missed[0]["kind"] == NOTICE_LEAVE
    assert [m["text"] for m in missed[1:]] == [f"manqué {i}" for i in range(3)]
    assert missed[0]["id"] == seen + 2 and missed[3]["id"] == seen + 5
    again.expect(NOTICE, kind=NOTICE_INFO, text="Welcome back revenant !")
    text.expect("revenant est de retour !")


def test_forged_and_in_use_tokens_are_refused(server):
    a = BinaryPeer(server.port)
    w = a.join("titulaire")
    thief = BinaryPeer(server.port)
    thief.send(hello("x", token=w["token"]))  # its owner is connected
    assert thief.expect(ERROR)["code"] == 8
    thief.send(hello("x", token=b"\x01" * 32))  # forged
    err = thief.expect(ERROR)
    assert err["code"] == 8 and err["text"] == "jeton de reprise inconnu ou expiré"
    # After a refusal it may still join as itself.
    thief.join("honnête")


def test_bad_pseudo_can_be_retried(server):
    a = BinaryPeer(server.port)
    a.send(hello("a|b"))
    assert a.expect(ERROR)["code"] == 5
    a.join("correct")


MALFORMED = {
    "lying_length": frame(0x03, b"")[:1] + varint(4) + varint(10) + b"abc",
    "oversized_frame": bytes([0x03]) + varint(10 * 1024 * 1024),
    "bad_utf8": frame(0x03, varint(2) + b"\xc3\x28"),
    "truncated_utf8": frame(0x03, varint(1) + b"\xc3"),
    "text_too_long": frame(0x03, s("x" * (16 * 1024 + 1))),
    "server_only_frame": frame(0x04, b"\0" * 40),
    "bad_varint": bytes([0x03, 0x80, 0x80, 0x80, 0x80, 0x01]),
    "wrong_token_size": frame(HELLO, bytes([1]) + s("x") + s("") + s(b"abc") + b"\0" * 8),
    "before_hello": None,  # SAY before HELLO
}


@pytest.mark.parametrize("name", list(MALFORMED))
def test_malformed_frames_get_an_error_and_nothing_else_is_disturbed(server, name):
    text = server.peer()
    text.join("t")
    good = BinaryPeer(server.port)
    good.join("g")
    text.expect("Annonce : g a rejoint la chatroom")
    bad = BinaryPeer(server.port)
    if name != "before_hello" and name != "wrong_token_size":
        bad.join("b")
        text.expect("Annonce : b a rejoint la chatroom")
    data = MALFORMED[name] or say("trop tôt")
    bad.send(data)
    err = bad.until(ERROR)
    assert err["text"], err
    assert bad.closed()
    good.send(say("toujours là"))
    text.skip_until("g a dit : toujours là")
    text.send("moi aussi\n")
    good.until(MESSAGE, text="moi aussi")


def test_unknown_frame_types_are_skipped(server):
    a = BinaryPeer(server.port)
    a.join("a")
    b = BinaryPeer(server.port)
    b.join("b")
    a.until(NOTICE, kind=NOTICE_JOIN, pseudo="b")
    b.send(frame(0x42, b"a later version's frame") + say("après"))
    a.expect(MESSAGE, text="après")


def test_other_protocol_version_is_told_and_dropped(server):
    p = BinaryPeer.__new__(BinaryPeer)
    import socket
    p.sock = socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT)
    p.timeout, p.buf = TIMEOUT, b""
    p.send(MAGIC[:-1] + b"\x02")
    err = p.expect(ERROR)
    assert err["code"] == 1 and "version" in err["text"]
    assert p.closed()


class Proxy:
    """A TCP relay whose connections the test can cut, as a flaky network
    would, while it goes on accepting new ones."""

    def __init__(self, target_port):
        import socket
        import threading
        self.target = target_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.pairs = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        import socket
        import threading
        while True:
            try:
                down, _ = self.listener.accept()
            except OSError:
                return
            up = socket.create_connection(("127.0.0.1", self.target))
            with self.lock:
                self.pairs.append((down, up))
            for a, b in ((down, up), (up, down)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(src, dst):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(2)
            except OSError:
                pass

    def cut(self):
        import socket
        with self.lock:
            pairs, self.pairs = self.pairs, []
        for down, up in pairs:
            for s in (down, up):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self):
        self.cut()
        self.listener.close()


def test_client_reconnects_and_resumes_after_a_drop(server):
    from conftest import Client
    proxy = Proxy(server.port)
    watcher = server.peer()
    watcher.join("w")
    client = Client(proxy.port, "-n", "revenant", "--reconnect")
    client.skip_until("Annonce : revenant a rejoint la chatroom")
    watcher.expect("Annonce : revenant a rejoint la chatroom")
    proxy.cut()
    watcher.expect("Annonce : revenant a quitté la chatroom")
    watcher.send("pendant l'absence\n")
    lines = client.skip_until("Welcome back revenant !")
    assert any(l.startswith("*** le serveur 127.0.0.1:") and "reconnexion" in l for l in lines), lines
    assert "*** reconnecté" in lines
    # What it missed, and only that: its own departure and the message.
    after = lines[lines.index("*** reconnecté") + 1:]
    assert after == ["Annonce : revenant a quitté la chatroom", "w a dit : pendant l'absence"]
    watcher.expect("revenant est de retour !")
    client.type("de retour\n")
    watcher.expect("revenant a dit : de retour")
    client.proc.stdin.close()
    assert client.wait()[0] == 0
    proxy.close()


def test_stale_token_is_refused_after_the_grace_period(start_server):
    srv = start_server("--return-grace", "1")
    a = BinaryPeer(srv.port)
    w = a.join("pressé")
    a.close()
    time.sleep(2.5)  # the server forgets sessions once a second
    again = BinaryPeer(srv.port)
    again.send(hello("pressé", token=w["token"]))
    err = again.expect(ERROR)
    assert err["code"] == 8 and err["text"] == "jeton de reprise inconnu ou expiré"
    again.join("pressé")  # and may simply come in anew


def test_a_late_binary_hello_still_makes_a_binary_peer(server):
    """A peer silent past the sniff delay is served as a listening text peer;
    when its first bytes turn out to be the binary hello it becomes binary."""
    late = socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT)
    time.sleep(0.4)
    a = server.peer()
    a.join("premier")
    a.send("tu es là ?\n")
    heard = b""
    while b"premier a dit : tu es l\xc3\xa0 ?\n" not in heard:
        chunk = late.recv(4096)
        assert chunk, heard
        heard += chunk
    assert heard.endswith(b"\n")
    late.sendall(MAGIC + hello("tardif"))
    peer = BinaryPeer.__new__(BinaryPeer)
    peer.sock, peer.timeout, peer.buf = late, TIMEOUT, b""
    assert peer.expect(WELCOME)["pseudo"] == "tardif"
    peer.until(NOTICE, kind=NOTICE_JOIN, pseudo="tardif")
    a.expect("Annonce : tardif a rejoint la chatroom")
    a.send("bienvenue\n")
    peer.until(MESSAGE, pseudo="premier", text="bienvenue")
    late.close()


def test_binary_peer_connected_early_gets_the_full_history(server):
    early = BinaryPeer(server.port)  # connected, not yet introduced
    a = server.peer()
    a.join("premier")
    a.send("pendant qu'il choisit\n")
    time.sleep(0.3)
    early.join("tardif")
    events = json.loads(early.history["json"])
    assert [e["kind"] for e in events] == ["join", "message"]
    assert events[1]["text"] == "pendant qu'il choisit"


def test_a_nul_that_opens_no_binary_hello_is_refused_in_text(server):
    """No text line starts with NUL, and this is no binary hello: the
    sniffer refuses it, worded by the text protocol it was taken for."""
    p = socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT)
    p.sendall(b"\0XYZ bonjour\n")
    got = b""
    while chunk := p.recv(4096):
        got += chunk
    assert got == "Erreur : protocole inconnu\n".encode()
    a = server.peer()  # nothing else disturbed
    a.join("après")


def test_a_hello_split_byte_by_byte_still_makes_a_binary_peer(server):
    """The sniffer holds a start a longer rule could still match."""
    late = socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT)
    late.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    for byte in MAGIC + hello("morceaux"):
        late.sendall(bytes([byte]))
        time.sleep(0.01)
    peer = BinaryPeer.__new__(BinaryPeer)
    peer.sock, peer.timeout, peer.buf = late, TIMEOUT, b""
    assert peer.expect(WELCOME)["pseudo"] == "morceaux"
    late.close()
