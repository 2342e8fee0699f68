"""A catalogue of bad inputs and behaviours, each thrown at one server while
a normal conversation goes on; after each, the conversation must be
undisturbed and the server still up. Every case is listed in CASES with the
outcome it expects."""

import itertools
import os
import random
import socket
import time

import pytest

from conftest import TIMEOUT, Server

HANDSHAKE_SECONDS = 2


@pytest.fixture(scope="module")
def shared_server(tmp_path_factory):
    srv = Server(tmp_path_factory.mktemp("abuse"), "--handshake-timeout",
                 str(HANDSHAKE_SECONDS), "--max-per-address", "5000",
                 "--soft-queue", "65536", "--soft-queue-seconds", "2")
    yield srv
    assert srv.stop() == 0, srv.log()[-3000:]


names = (f"u{i}" for i in itertools.count())


class Conversation:
    """Two well-behaved users who keep talking."""

    def __init__(self, srv):
        self.alice, self.bob = srv.peer(), srv.peer()
        self.a_name, self.b_name = next(names), next(names)
        self.alice.join(self.a_name)
        self.bob.join(self.b_name)
        self.alice.skip_until(f"Annonce : {self.b_name} a rejoint la chatroom")
        self.count = 0

    def check(self):
        """Both ways, in order, nothing else in between."""
        for _ in range(3):
            self.count += 1
            self.alice.send(f"ping {self.count}\n")
            self.bob.send(f"pong {self.count}\n")
            self.expect_said(self.bob, f"{self.a_name} a dit : ping {self.count}")
            self.expect_said(self.alice, f"{self.b_name} a dit : pong {self.count}")

    @staticmethod
    def expect_said(peer, wanted):
        """The partner's next line is `wanted`. What the bad peer says in
        the same room may come in between, but never a raw control byte."""
        partner = wanted.split(" a dit : ")[0] + " a dit : "
        while True:
            got = peer.line()
            assert not any(ord(ch) < 0x20 or 0x7f <= ord(ch) < 0xa0 or
                           0x202a <= ord(ch) <= 0x202e for ch in got), repr(got)
            if got.startswith(partner):
                assert got == wanted
                return

    def close(self):
        self.alice.close()
        self.bob.close()


def raw(srv, source="127.0.0.1"):
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=TIMEOUT,
                                 source_address=(source, 0))
    return s


def read_until_closed(s, limit=1 << 20):
    data = b""
    s.settimeout(TIMEOUT)
    try:
        while len(data) < limit:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    except (ConnectionResetError, socket.timeout):
        pass
    return data


def joined(srv, pseudo=None):
    p = srv.peer()
    p.join(pseudo or next(names))
    return p


# Each case returns nothing; it asserts what the bad peer itself sees.

def garbage_bytes(srv):
    p = raw(srv)
    p.sendall(bytes(random.Random(1).randrange(256) for _ in range(3000)) + b"\n")
    p.close()

def nul_bytes(srv):
    p = joined(srv)
    p.send(b"a\x00b\x00c\n")
    p.close()

def invalid_utf8(srv):
    p = joined(srv)
    p.send(b"\xff\xfe\xc3\x28\xa0\xa1\xe2\x28\xa1\n")
    p.close()

def overlong_utf8(srv):
    p = joined(srv)
    p.send(b"\xc0\xaf\xe0\x80\xaf\xf0\x80\x80\xaf\n")
    p.close()

def surrogates_in_utf8(srv):
    p = joined(srv)
    p.send(b"\xed\xa0\x80\xed\xbf\xbf\n")
    p.close()

def escape_clear_screen(srv):
    p = joined(srv)
    p.send(b"\x1b[2J\x1b[H\x1b[31mrouge\n")
    p.close()

def escape_set_title(srv):
    p = joined(srv)
    p.send(b"\x1b]0;pwned\x07\x1b]2;pwned\x1b\\\n")
    p.close()

def c1_controls(srv):
    p = joined(srv)
    p.send("\u009b31m\u009d0;x\u0007\n".encode())
    p.close()

def bidi_override(srv):
    p = joined(srv)
    p.send("\u202etxt.exe\u202c\n".encode())
    p.close()

def line_too_long(srv):
    p = raw(srv)
    p.sendall(b"x" * 5000 + b"\n")
    assert b"Erreur : ligne trop longue" in read_until_closed(p)

def megabyte_without_newline(srv):
    p = raw(srv)
    try:
        p.sendall(b"y" * (1 << 20))
    except (BrokenPipeError, ConnectionResetError):
        pass
    assert b"Erreur : ligne trop longue" in read_until_closed(p)

def line_of_exactly_max_length(srv):
    p = joined(srv)
    p.send(b"z" * 4096 + b"\n")
    p.close()

def many_empty_lines(srv):
    p = joined(srv)
    p.send(b"\n" * 50 + b"\r\n" * 40)
    p.close()

def lone_carriage_returns(srv):
    p = joined(srv)
    p.send(b"a\rb\rc\n")
    p.close()

def empty_pseudo(srv):
    p = srv.peer()
    p.send("Hello|\n")
    assert p.line() == "Erreur : le pseudo est vide"
    p.close()

def pseudo_with_control(srv):
    p = srv.peer()
    p.send(b"Hello|a\x07b\n")
    assert p.line() == "Erreur : le pseudo contient un caractère interdit"
    p.close()

def pseudo_too_long(srv):
    p = srv.peer()
    p.send("Hello|" + "p" * 40 + "\n")
    assert p.line() == "Erreur : le pseudo dépasse 32 octets"
    p.close()

def pseudo_with_bidi(srv):
    p = srv.peer()
    p.send("Hello|\u202eevil\n")
    assert p.line() == "Erreur : le pseudo contient un caractère interdit"
    p.close()

def pseudo_with_invisible(srv):
    p = srv.peer()
    p.send("Hello|bo\u200bb\n")
    assert p.line() == "Erreur : le pseudo contient un caractère invisible"
    p.close()

def impersonation_by_case(srv):
    owner = joined(srv, "Victime")
    p = srv.peer()
    p.send("Hello|victime\n")
    assert p.skip_until("Erreur : le pseudo victime est déjà pris") is not None
    p.send("Hello|ＶＩＣＴＩＭＥ\n")
    assert p.line() == "Erreur : le pseudo ＶＩＣＴＩＭＥ est déjà pris"
    p.close()
    owner.close()

def impersonation_by_accent(srv):
    owner = joined(srv, "zoe")
    p = srv.peer()
    p.send("Hello|zoé\n")
    assert p.skip_until("Erreur : le pseudo zoé est déjà pris") is not None
    p.close()
    owner.close()

def pseudo_with_separator(srv):
    p = srv.peer()
    p.send("Hello|a:b\nHello|a|b\n")
    assert p.line() == "Erreur : le pseudo contient un caractère interdit"
    assert p.line() == "Erreur : le pseudo contient un caractère interdit"
    p.close()

def bad_room_names(srv):
    p = joined(srv)
    for name in ("a b", "x" * 40, "../etc", "\u202e", "a\x1bb"):
        p.send(f"/join {name}\n")
        assert p.line().startswith("Erreur : le nom du salon")
    p.close()

def join_leave_cycling(srv):
    p = joined(srv)
    p.send("".join(f"/join salle{i % 3}\n" for i in range(300)))
    p.close()

def unknown_command_spam(srv):
    p = joined(srv)
    p.send("/nope\n" * 30)
    p.close()

def handshake_never_sent(srv):
    p = raw(srv)
    data = read_until_closed(p)
    assert b"Erreur : d\xc3\xa9lai d\xc3\xa9pass\xc3\xa9" in data

def half_line_then_silence(srv):
    p = joined(srv)
    p.send(b"moitie de ligne")
    time.sleep(0.3)
    p.close()

def reset_right_after_connect(srv):
    for _ in range(20):
        s = raw(srv)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        s.close()

def connect_close_burst(srv):
    for _ in range(300):
        raw(srv).close()

def connection_burst(srv):
    socks = [raw(srv, f"127.0.{1 + i // 250}.{1 + i % 250}") for i in range(2000)]
    for s in socks:
        s.close()

def half_close_after_hello(srv):
    p = raw(srv)
    p.sendall("Hello|{}\nau revoir\n".format(next(names)).encode())
    p.shutdown(socket.SHUT_WR)
    read_until_closed(p)

def repeated_hello(srv):
    p = srv.peer()
    p.send("Hello\n" * 20)
    for _ in range(20):
        assert p.line().startswith("Hello 127.0.0.1:")
    p.close()

def spaces_only(srv):
    p = joined(srv)
    p.send("     \n\t\t\n")
    p.close()

def byte_by_byte(srv):
    p = joined(srv)
    for b in "lettre par lettre\n".encode():
        p.send(bytes([b]))
        time.sleep(0.005)
    p.close()

def telnet_negotiation(srv):
    p = raw(srv)
    p.sendall(b"\xff\xfb\x01\xff\xfb\x03\xff\xfd\x18Hello\n")
    p.close()

def http_request(srv):
    p = raw(srv)
    p.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    p.close()

def tls_client_hello(srv):
    p = raw(srv)
    p.sendall(bytes.fromhex("160301020001000200030300") + os.urandom(500))
    p.close()

def multibyte_at_the_limit(srv):
    p = joined(srv)
    p.send(("é" * 2048).encode() + b"\n")  # exactly 4096 bytes
    p.close()

def message_flood(srv):
    p = joined(srv)
    try:
        p.send("".join(f"flood {i}\n" for i in range(10000)))
    except OSError:
        pass
    assert p.closed()

def reads_one_byte_a_second(srv):
    p = raw(srv)
    p.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)
    p.sendall(f"Hello|{next(names)}\n".encode())
    talker = joined(srv)
    # Within the flood limits: 200 KB in 4 s, read here a byte a second.
    for _ in range(4):
        talker.send(("x" * 1000 + "\n") * 50)
        p.recv(1)
        time.sleep(1)
    talker.close()
    p.close()

def never_reads(srv):
    p = raw(srv)
    p.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)
    p.sendall(f"Hello|{next(names)}\n".encode())
    talker = joined(srv)
    for _ in range(4):  # within the flood limits
        talker.send(("x" * 1000 + "\n") * 50)
        time.sleep(0.05)
    talker.close()
    p.close()

def hello_only_then_gone(srv):
    p = raw(srv)
    p.sendall(b"Hello\n")
    p.close()

def pipelined_everything(srv):
    p = raw(srv)
    p.sendall(f"Hello|{next(names)}\n/join x\n/who\n/rooms\nsalut\n/join general\n".encode())
    time.sleep(0.2)
    p.close()


CASES = [
    garbage_bytes, nul_bytes, invalid_utf8, overlong_utf8, surrogates_in_utf8,
    escape_clear_screen, escape_set_title, c1_controls, bidi_override,
    line_too_long, megabyte_without_newline, line_of_exactly_max_length,
    many_empty_lines, lone_carriage_returns, empty_pseudo, pseudo_with_control,
    pseudo_too_long, pseudo_with_bidi, pseudo_with_invisible,
    impersonation_by_case, impersonation_by_accent, pseudo_with_separator,
    bad_room_names, join_leave_cycling, unknown_command_spam,
    handshake_never_sent, half_line_then_silence, reset_right_after_connect,
    connect_close_burst, connection_burst, half_close_after_hello,
    repeated_hello, spaces_only, byte_by_byte, telnet_negotiation,
    http_request, tls_client_hello, multibyte_at_the_limit, message_flood,
    reads_one_byte_a_second, never_reads, hello_only_then_gone,
    pipelined_everything,
]


def test_the_catalogue_is_long_enough():
    assert len(CASES) >= 40


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.__name__)
def test_conversation_survives(shared_server, case):
    talk = Conversation(shared_server)
    talk.check()
    case(shared_server)
    talk.check()
    assert shared_server.proc.poll() is None, "the server died"
    # Nothing raw reached the console either.
    log = shared_server.log()
    assert "\x1b" not in log and "\x07" not in log and "\u202e" not in log
    talk.close()
