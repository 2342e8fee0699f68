"""Part II of the course, step by step, against the real server on loopback:
every wire string byte for byte, with raw sockets and the real client."""

import signal
import subprocess
import threading
import time

import pytest

from conftest import CLIENT_BIN, SERVER_BIN, TIMEOUT, Client, child_env


# Step 2: first contact.
def test_bare_hello_gets_own_address_back(server):
    peer = server.peer()
    peer.send("Hello\n")
    peer.expect(f"Hello {peer.addr}")


# Step 3: the server console.
def test_every_message_is_printed_on_the_console(server):
    peer = server.peer()
    peer.send("Hello\n")
    peer.line()
    peer.send("quelque chose\n")
    server.wait_log(rf"Message received from {peer.addr} : Hello\n")
    server.wait_log(rf"Message received from {peer.addr} : quelque chose\n")


# Step 4: broadcast, anonymous senders labelled by address.
def test_anonymous_message_goes_to_others_labelled_by_address(server):
    a, b, c = server.peer(), server.peer(), server.peer()
    a.send("salut tout le monde\n")
    b.expect(f"{a.addr} a dit : salut tout le monde")
    c.expect(f"{a.addr} a dit : salut tout le monde")
    a.silent()


# Step 5: pseudos.
def test_join_is_announced_to_everyone_and_relays_use_the_pseudo(server):
    a, b = server.peer(), server.peer()
    a.join("it4")
    b.expect("Annonce : it4 a rejoint la chatroom")
    b.join("zoé")
    a.expect("Annonce : zoé a rejoint la chatroom")
    a.send("coucou\n")
    b.expect("it4 a dit : coucou")
    b.send("ça va ?\r\n")
    a.expect("zoé a dit : ça va ?")
    a.silent()
    b.silent()


def test_relay_reaches_every_other_client_never_the_sender(server):
    peers = []
    for i in range(5):
        peers.append(server.peer())
        peers[i].join(f"u{i}")
    for i, p in enumerate(peers):  # drain the later joins
        for j in range(i + 1, 5):
            p.expect(f"Annonce : u{j} a rejoint la chatroom")
    peers[2].send("un pour tous\n")
    for i, p in enumerate(peers):
        if i != 2:
            p.expect("u2 a dit : un pour tous")
    for p in peers:
        p.silent(0.2)


def test_message_without_newline_is_still_delivered(server):
    """The course's clients write without a trailing newline."""
    b = server.peer()
    b.join("b")
    a = server.peer()
    a.send("Hello|it4")
    b.expect("Annonce : it4 a rejoint la chatroom")
    a.skip_until("Annonce : it4 a rejoint la chatroom")
    a.send("bonjour sans fin de ligne")
    b.expect("it4 a dit : bonjour sans fin de ligne")


def test_last_message_without_newline_before_close_is_delivered(server):
    a, b = server.peer(), server.peer()
    b.join("b")
    a.join("a")
    b.line()
    a.send("dernier mot")
    a.close()
    b.expect("a a dit : dernier mot")
    b.expect("Annonce : a a quitté la chatroom")


def test_line_split_across_writes_is_one_message(server):
    a, b = server.peer(), server.peer()
    b.join("b")
    a.join("a")
    b.line()
    a.send("moitié ")
    time.sleep(0.02)
    a.send("et fin\n")
    b.expect("a a dit : moitié et fin")


def test_a_line_whose_end_already_arrived_is_not_cut_by_a_busy_server(start_server):
    """The quiet spell that ends a newline-less message is a quiet socket,
    not a late timer: a server that was busy (here, stopped while it works
    for a flood in another room) finds the rest of the line waiting and
    must read it before it decides the peer went quiet."""
    srv = start_server("--flood-rate", "0", "--max-queue", str(64 << 20))
    listeners = [srv.peer() for _ in range(20)]
    for i, p in enumerate(listeners):
        p.join(f"l{i}", room="bruit")
    flooder = srv.peer()
    flooder.join("flooder", room="bruit")
    stop = threading.Event()

    def drain():
        for p in listeners:
            p.sock.setblocking(False)
        while not stop.is_set():
            for p in listeners:
                try:
                    p.sock.recv(1 << 20)
                except (BlockingIOError, OSError):
                    pass

    def flood():
        chunk = "".join(f"{k} {'y' * 200}\n" for k in range(300)).encode()
        while not stop.is_set():
            try:
                flooder.sock.sendall(chunk)
            except OSError:
                return

    b, a = srv.peer(), srv.peer()
    b.join("b")
    a.join("a")
    b.line()
    threads = [threading.Thread(target=drain), threading.Thread(target=flood)]
    for t in threads:
        t.start()
    try:
        for attempt in range(5):
            a.send(f"début {attempt} ")
            time.sleep(0.05)  # read, and the quiet-spell timer armed
            srv.proc.send_signal(signal.SIGSTOP)
            try:
                a.send("et fin\n")
                time.sleep(0.4)  # the timer is long due when it wakes
            finally:
                srv.proc.send_signal(signal.SIGCONT)
            b.expect(f"a a dit : début {attempt} et fin", timeout=6 * TIMEOUT)
    finally:
        stop.set()
        for t in threads:
            t.join()


# Step 6: departures.
def test_clean_close_is_announced_to_the_others(server):
    a, b = server.peer(), server.peer()
    a.join("a")
    b.join("b")
    a.line()
    b.close()
    a.expect("Annonce : b a quitté la chatroom")
    server.wait_log(r"disconnected \(closed the connection\)")


def test_connection_reset_counts_as_leaving(server):
    a, b = server.peer(), server.peer()
    a.join("a")
    b.join("b")
    a.line()
    b.reset()
    a.expect("Annonce : b a quitté la chatroom")
    server.wait_log(r"disconnected \(connection reset by peer\)")


def test_departure_of_a_peer_that_never_joined_is_not_announced(server):
    a, b = server.peer(), server.peer()
    a.join("a")
    b.line()
    b.send("Hello\n")
    b.line()
    b.close()
    a.silent(0.4)


def test_duplicate_and_invalid_pseudos_are_refused(server):
    a, b = server.peer(), server.peer()
    a.join("alice")
    b.line()
    b.send("Hello|alice\n")
    b.expect("Erreur : le pseudo alice est déjà pris")
    b.send("Hello|a:b\n")
    b.expect("Erreur : le pseudo contient un caractère interdit")
    b.send("Hello|" + "x" * 33 + "\n")
    b.expect("Erreur : le pseudo dépasse 32 octets")
    b.join("bob")
    a.expect("Annonce : bob a rejoint la chatroom")


def test_escape_sequences_never_reach_other_terminals(server):
    a, b = server.peer(), server.peer()
    a.join("a")
    b.join("b")
    a.line()
    a.send(b"\x1b[2J\x1b]0;pwned\x07 \xff\xfe fin\n")
    b.expect("a a dit : ^[[2J^[]0;pwned^G \ufffd\ufffd fin")
    assert "\x1b" not in server.log()


def test_overlong_line_gets_an_error_and_others_carry_on(server):
    a, b, c = server.peer(), server.peer(), server.peer()
    a.join("a")
    b.join("b")
    c.join("c")
    a.line(); a.line(); b.line()
    b.send("x" * 5000)
    b.expect("Erreur : ligne trop longue (plus de 4096 octets)")
    assert b.closed()
    a.expect("Annonce : b a quitté la chatroom")
    c.expect("Annonce : b a quitté la chatroom")
    c.send("toujours là\n")
    a.expect("c a dit : toujours là")


def test_sigterm_tells_clients_and_exits_zero(tmp_path, start_server):
    srv = start_server()
    a = srv.peer()
    a.join("a")
    srv.proc.send_signal(signal.SIGTERM)
    a.expect("Annonce : le serveur s'arrête")
    assert a.closed()
    assert srv.proc.wait(timeout=TIMEOUT) == 0
    # The listener is closed too.
    with pytest.raises(ConnectionRefusedError):
        srv.peer()


def test_sigint_exits_zero(start_server):
    srv = start_server()
    srv.peer().join("a")
    assert srv.stop(signal.SIGINT) == 0


# The real client, in plain mode (stdin and stdout are pipes).
def test_client_pseudo_from_first_line_and_messages_per_line(server):
    watcher = server.peer()
    watcher.join("w")
    client = Client(server.port)
    client.type("cli\n")
    watcher.expect("Annonce : cli a rejoint la chatroom")
    # The history first (JSON on the wire), then live lines.
    before = client.skip_until("Annonce : cli a rejoint la chatroom")
    assert before == ["── historique du salon general ──",
                      "Annonce : w a rejoint la chatroom",
                      "── fin de l'historique ──"]
    client.type("premier\ndeuxième\n")
    watcher.expect("cli a dit : premier")
    watcher.expect("cli a dit : deuxième")
    client.expect("Vous avez dit : premier")  # its own lines, as on a terminal
    client.expect("Vous avez dit : deuxième")
    watcher.send("réponse\n")
    client.expect("w a dit : réponse")
    client.proc.stdin.close()  # Ctrl+D
    code, err = client.wait()
    assert code == 0, err
    watcher.expect("Annonce : cli a quitté la chatroom")


def test_client_with_nick_option_and_quit_command(server):
    watcher = server.peer()
    watcher.join("w")
    client = Client(server.port, "--nick", "nick")
    watcher.expect("Annonce : nick a rejoint la chatroom")
    client.type("/quit\n")
    code, _ = client.wait()
    assert code == 0
    watcher.expect("Annonce : nick a quitté la chatroom")


def test_two_clients_chat_through_the_server(server):
    one = Client(server.port, "-n", "one")
    one.expect("Annonce : one a rejoint la chatroom")
    two = Client(server.port, "-n", "two")
    two.skip_until("Annonce : two a rejoint la chatroom")
    one.expect("Annonce : two a rejoint la chatroom")
    two.type("hello one\n")
    one.expect("two a dit : hello one")
    two.expect("Vous avez dit : hello one")
    one.type("hello two\n")
    two.expect("one a dit : hello two")
    for c in (one, two):
        c.proc.stdin.close()
        assert c.wait()[0] == 0


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
def test_client_exits_nonzero_when_the_server_goes_away(start_server, sig):
    srv = start_server()
    client = Client(srv.port, "-n", "c")
    client.expect("Annonce : c a rejoint la chatroom")
    srv.proc.send_signal(sig)
    code, err = client.wait()
    assert code == 1
    closed = f"le serveur 127.0.0.1:{srv.port} a fermé la connexion"
    reset = f"connexion au serveur 127.0.0.1:{srv.port} perdue : "
    if sig == signal.SIGTERM:
        assert closed in err
    else:
        # A killed process's kernel answers RST instead of FIN when bytes the
        # client sent were still unread (a ping, say): both are clear.
        assert closed in err or reset in err


def test_client_sigint_leaves_cleanly(server):
    client = Client(server.port, "-n", "c")
    client.expect("Annonce : c a rejoint la chatroom")
    client.proc.send_signal(signal.SIGINT)
    assert client.wait()[0] == 0


def test_client_reports_refused_connection(start_server):
    srv = start_server()
    port = srv.port
    srv.stop()
    proc = subprocess.run([str(CLIENT_BIN), "-p", str(port), "-n", "x"],
                          capture_output=True, text=True, timeout=TIMEOUT,
                          stdin=subprocess.DEVNULL, env=child_env())
    assert proc.returncode == 1
    assert f"impossible de joindre 127.0.0.1:{port} : Connexion refusée" in proc.stderr


def test_client_rejects_a_bad_pseudo_in_plain_mode(server):
    proc = subprocess.run([str(CLIENT_BIN), "-p", str(server.port)],
                          input="bad|pseudo\n", capture_output=True, text=True,
                          timeout=TIMEOUT, env=child_env())
    assert proc.returncode == 2
    assert "chatroom: pseudo refusé : le pseudo contient un caractère interdit" in proc.stderr


@pytest.mark.parametrize("args, message", [
    (["-p", "70000"], "--port '70000' : port invalide (1-65535)"),
    (["-p", "abc"], "--port 'abc' : port invalide (1-65535)"),
    (["extra"], "argument inattendu 'extra'"),
])
def test_client_refuses_bad_arguments(args, message):
    proc = subprocess.run([str(CLIENT_BIN), *args], capture_output=True, text=True,
                          timeout=TIMEOUT, stdin=subprocess.DEVNULL, env=child_env())
    assert proc.returncode == 2
    assert message in proc.stderr


# nc: the text protocol needs nothing but a TCP pipe.
def test_nc_user_chats_with_a_raw_peer(server):
    nc = subprocess.Popen(["nc", "-N", "127.0.0.1", str(server.port)],
                          stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        other = server.peer()
        other.join("raw")
        nc.stdin.write("Hello|netcat\n")
        nc.stdin.flush()
        other.expect("Annonce : netcat a rejoint la chatroom")
        other.send("tu m'entends ?\n")
        nc.stdin.write("oui\n")
        nc.stdin.close()
        other.expect("netcat a dit : oui")
        other.expect("Annonce : netcat a quitté la chatroom")
        nc.stdin = None
        out = nc.communicate(timeout=TIMEOUT)[0]
        assert "Annonce : netcat a rejoint la chatroom\n" in out
    finally:
        if nc.poll() is None:
            nc.kill()


# Bonus 2: a text peer back under the same pseudo from the same address.
def test_text_peer_coming_back_is_welcomed_back(server):
    a, b = server.peer(), server.peer()
    a.join("fidèle", room="coin")
    b.join("b", room="coin")
    a.skip_until("Annonce : b a rejoint le salon coin")
    a.close()
    b.expect("Annonce : fidèle a quitté le salon coin")
    again = server.peer()
    again.send("Hello|fidèle\n")
    history = []
    while True:
        line = again.line()
        if line == "Welcome back fidèle !":
            break
        history.append(line)
    assert history[0] == "Annonce : historique du salon coin (3)"
    b.expect("fidèle est de retour !")
    again.send("me revoilà\n")
    b.expect("fidèle a dit : me revoilà")  # back in the room it left


def test_no_welcome_back_after_the_grace_period(start_server):
    srv = start_server("--return-grace", "0")
    a, b = srv.peer(), srv.peer()
    a.join("passant")
    b.join("b")
    a.close()
    b.expect("Annonce : passant a quitté la chatroom")
    srv.peer().join("passant")
    b.expect("Annonce : passant a rejoint la chatroom")


@pytest.mark.parametrize("how, english", [
    ({"args": ["--lang", "en"]}, True),
    ({"env": {"CHATROOM_LANG": "en"}}, True),
    ({"env": {"CHATROOM_LANG": "", "LANGUAGE": "", "LC_ALL": "", "LANG": "en_GB.UTF-8"}}, True),
    ({"env": {"CHATROOM_LANG": "", "LANGUAGE": "", "LC_ALL": "", "LANG": "de_DE.UTF-8"}}, False),
    ({"env": {"CHATROOM_LANG": "", "LANGUAGE": "", "LC_ALL": "", "LANG": "C"}}, False),
])
def test_client_speaks_french_by_default_and_english_on_request(server, how, english):
    import conftest
    other = server.peer()
    other.join("autre")
    saved = conftest.child_env
    conftest.child_env = lambda: {**saved(), **how.get("env", {})}
    try:
        client = Client(server.port, "-n", "polyglotte", *how.get("args", []))
    finally:
        conftest.child_env = saved
    joined = ("Notice: polyglotte joined the chat room" if english
              else "Annonce : polyglotte a rejoint la chatroom")
    client.skip_until(joined)
    other.send("hello\n")
    client.expect("autre said: hello" if english else "autre a dit : hello")
    client.proc.stdin.close()
    assert client.wait()[0] == 0


@pytest.mark.parametrize("hold_us", ["0", "2000"])
def test_coalesced_flushes_keep_every_message_in_order(start_server, hold_us):
    """Held (the default holds 1000 µs) or flushed every turn, a busy
    room's messages all arrive, in order."""
    srv = start_server("--coalesce-us", hold_us)
    a, b = srv.peer(), srv.peer()
    a.join("a")
    b.join("b")
    a.expect("Annonce : b a rejoint la chatroom")
    for i in range(50):
        a.send(f"m{i}\n")
    for i in range(50):
        b.expect(f"a a dit : m{i}")
    b.send("fin\n")
    a.expect("b a dit : fin")


def test_coalescing_past_a_tenth_of_a_second_is_refused():
    proc = subprocess.run([str(SERVER_BIN), "-p", "0", "--coalesce-us", "200000"],
                          capture_output=True, text=True, timeout=TIMEOUT,
                          stdin=subprocess.DEVNULL, env=child_env())
    assert proc.returncode == 2
    assert "--coalesce-us '200000': at most 100000 microseconds" in proc.stderr, proc.stderr


def test_client_commands_in_any_case_help_from_the_table(server):
    """The client's commands come from one table: any case, the /exit alias,
    /help listing every row, a missing argument told with the usage."""
    other = server.peer()
    other.join("autre")
    client = Client(server.port, "-n", "casse")
    client.skip_until("Annonce : casse a rejoint la chatroom")
    client.type("/HELP\n")
    help_line = client.line()
    assert help_line == (
        "Commandes : /rooms (les salons), /join SALON (y aller ou le créer), "
        "/who (qui est là), /part [SALON] (quitter ce salon ou celui nommé), "
        "/search [from:PSEUDO] [in:SALON] MOTS (chercher dans l'historique de vos salons), "
        "/image FICHIER (envoyer une image PNG ou JPEG), "
        "/help (cette liste), /quit (partir ; aussi Ctrl+C, Ctrl+D)."), help_line
    # The server's commands (issue 16), which the client passes on.
    assert client.line().startswith("Au serveur : /msg PSEUDO TEXTE (en privé), /reply TEXTE")
    client.type("/Who\n")
    who = client.line()
    assert who.startswith("Présents dans general : ")
    assert sorted(who.split(" : ", 1)[1].split(", ")) == ["autre", "casse"], who
    client.type("/join\n")
    client.expect("Usage : /join SALON")
    client.type("/danse\n")
    client.expect("Commande inconnue /danse. /help les liste.")
    client.type("/JOIN jeux\n")
    other.skip_until("Annonce : casse a quitté la chatroom")
    client.type("/EXIT\n")
    assert client.wait()[0] == 0
