"""`--reconnect` across a server restart (client-ux review #1, issue 17 §1).

Before: the restarted server refused the resume token, the client said
`connecté` while in no room, and what was typed showed as `Vous avez dit :`
and was dropped (`dites d'abord bonjour`). Now a refused token gets a fresh
hello with the same pseudo and room (as irssi and weechat rejoin), and a
line typed while not in a room waits, said so, until it is sent.

And the server side of the same story: a binary peer that is never
welcomed (the old client's zombie after its token was refused) is closed
after --handshake-timeout."""

import re
import shutil
import signal
import socket
import time

import pytest

from conftest import TIMEOUT, Server, client_command
from wire import ERROR, BinaryPeer, hello

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux missing")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def line_starting(peer, prefix):
    while True:
        line = peer.line()
        if line.startswith(prefix):
            return line


class ClosingProxy:
    """A TCP relay that, while paused, takes connections and closes them at
    once (a server that is back on the network only later)."""

    def __init__(self, target_port):
        import threading
        self.target = target_port
        self.paused = False
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.pairs = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        import threading
        while True:
            try:
                down, _ = self.listener.accept()
            except OSError:
                return
            if self.paused:
                down.close()
                continue
            up = socket.create_connection(("127.0.0.1", self.target))
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
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def cut_and_pause(self):
        self.paused = True
        pairs, self.pairs = self.pairs, []
        for pair in pairs:
            for s in pair:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self):
        self.listener.close()


def status_line(tmux, name):
    return next((l for l in tmux.screen(name).splitlines() if " | #" in l), "")


def wait_status(tmux, name, pattern, timeout=TIMEOUT):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = status_line(tmux, name)
        if re.search(pattern, line):
            return line
        time.sleep(0.05)
    raise AssertionError(f"{pattern!r} not in the status line:\n{tmux.screen(name)}")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "sigkill"])
def test_a_reconnecting_client_rejoins_a_restarted_server_and_chats_both_ways(tmp_path, tmux,
                                                                             sig):
    port = free_port()
    first = Server(tmp_path, "-p", str(port))
    tmux.start("c", client_command(port) + " -n resumer -r general --reconnect")
    tmux.wait_for("c", "Annonce : resumer a rejoint la chatroom")
    wait_status(tmux, "c", r"\| #general \| resumer \| 1 présents? \| connecté")

    first.proc.send_signal(sig)
    first.proc.wait(timeout=TIMEOUT)
    first.log_file.close()
    # Not in a room: never "connecté" (this client says "reconnexion…").
    wait_status(tmux, "c", r"\| (reconnexion…|déconnecté)")
    tmux.keys("c", "-l", "écrit pendant la coupure")
    tmux.keys("c", "Enter")
    tmux.wait_for("c", "En attente de la reconnexion, pas encore envoyé : écrit pendant la coupure")
    assert "Vous avez dit : écrit pendant la coupure" not in tmux.screen("c")

    second = Server(tmp_path, "-p", str(port))
    try:
        screen = tmux.wait_for("c", "*** reconnecté")
        assert "le serveur ne reprend pas la session (redémarré ?) : retour sous le pseudo " \
               "resumer dans #general" in " ".join(screen.split())  # as wrapped
        # Sent once back in, and only then shown as said.
        tmux.wait_for("c", "Vous avez dit : écrit pendant la coupure")
        assert "reconnexion…" in " ".join(screen.split())
        wait_status(tmux, "c", r"\| #general \| resumer \| \d+ présents? \| connecté")
        peer = second.peer()
        history = peer.join("veilleur")
        assert any("resumer a dit : écrit pendant la coupure" in l for l in history), history
        peer.send("/who\n")
        who = line_starting(peer, "Présents dans general : ")
        assert sorted(who.split(": ", 1)[1].split(", ")) == ["resumer", "veilleur"], who
        # Both ways.
        peer.send("tu es revenu ?\n")
        tmux.wait_for("c", "veilleur a dit : tu es revenu ?")
        tmux.keys("c", "-l", "oui, dans general")
        tmux.keys("c", "Enter")
        peer.skip_until("resumer a dit : oui, dans general")
        tmux.keys("c", "C-c")
        tmux.wait_for("c", "[exit 0]")
    finally:
        assert second.stop() == 0


def test_a_refused_token_before_any_restart_still_rejoins(start_server, tmux):
    """The token refused after a drop for another reason (it expired: a
    grace period of 1 s) is handled the same way."""
    srv = start_server("--return-grace", "1")
    proxy = ClosingProxy(srv.port)
    try:
        tmux.start("c", client_command(proxy.port) + " -n patient -r general --reconnect")
        tmux.wait_for("c", "Annonce : patient a rejoint la chatroom")
        watcher = srv.peer()
        watcher.join("guet")
        proxy.cut_and_pause()
        watcher.skip_until("Annonce : patient a quitté la chatroom")
        time.sleep(2.5)  # the server forgets sessions once a second
        proxy.paused = False
        tmux.wait_for("c", "retour sous le pseudo patient")
        watcher.skip_until("Annonce : patient a rejoint la chatroom")
        watcher.send("re\n")
        tmux.wait_for("c", "guet a dit : re")
    finally:
        proxy.close()


def test_a_binary_peer_never_welcomed_is_closed_after_the_handshake_timeout(start_server):
    """The zombie of review #1: a binary peer whose token was refused and
    that says nothing more. The server closes it once --handshake-timeout
    has passed (ERROR 12), while a conversation goes on."""
    srv = start_server("--handshake-timeout", "1")
    a, b = srv.peer(), srv.peer()
    a.join("a")
    b.join("b")
    zombie = BinaryPeer(srv.port)
    zombie.send(hello("fantome", token=bytes(32)))
    refused = zombie.expect(ERROR)
    assert refused["code"] == 8, refused
    started = time.monotonic()
    for i in range(5):
        a.send(f"toujours là {i}\n")
        b.skip_until(f"a a dit : toujours là {i}")
    timeout = zombie.next(timeout=TIMEOUT)
    assert timeout["type"] == ERROR and timeout["code"] == 12, timeout
    assert zombie.closed(timeout=TIMEOUT)
    # 1 s, checked once a second: well within 4 s on a loaded machine.
    assert time.monotonic() - started < 4, time.monotonic() - started
    srv.wait_log(r"disconnected \(handshake timeout\)")
