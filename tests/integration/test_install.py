"""Installed like a Debian program: the manual pages against what each
program says of itself, socket activation, and `make install` into a
DESTDIR and a prefix, then `make uninstall` (the .deb packages are in
test_package.py).

Installing is checked once, on the normal build (not again under the
sanitizers or valgrind); the pages and socket activation on every build."""

import os
import pwd
import re
import signal
import socket
import subprocess
import sys
import time

import pytest

from conftest import (BUILD, CLIENT_BIN, ROOT, SANITIZED, SERVER_BIN, TIMEOUT, VALGRIND,
                      VALGRIND_PREFIX, Peer, assert_no_sanitizer_report, child_env)

MAN = BUILD / "man"
PROGRAMS = {"chatroom": "chatroom.1", "chatroom-server": "chatroom-server.8",
            "chatroom-bench": "chatroom-bench.1"}
PAGES = [*PROGRAMS.values(), "chatroom.conf.5", "chatroom-demos.7"]
ONCE = pytest.mark.skipif(SANITIZED or VALGRIND,
                          reason="installing is checked once, on the normal build")
# Room for a full build on a busy two-core machine.
BUILD_TIMEOUT = 900


# ---- the manual pages ---------------------------------------------------------

def render(page, width=80):
    """The page as man shows it (plain text), and what groff warned about."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAN")}
    env.update(MANWIDTH=str(width), LANG="C.UTF-8", LC_ALL="C.UTF-8", MANPAGER="cat", PAGER="cat")
    proc = subprocess.run(["man", "-l", "--warnings", str(page)], capture_output=True,
                          text=True, env=env, timeout=TIMEOUT)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout, proc.stderr


def sections(text):
    """{HEADING: text} of a rendered page, with the words groff broke at the
    end of a line joined again: a hyphenation mark (U+2010) goes, a hyphen
    of the word itself (as in an option) stays."""
    out, current = {}, None
    for line in text.splitlines():
        if re.fullmatch(r"[A-Z][A-Z0-9 ]*", line):
            current = line
            out[current] = ""
        elif current is not None:
            out[current] += line + "\n"
    for heading, body in out.items():
        body = re.sub("\u2010\n *", "", body)
        out[heading] = re.sub(r"(?<=\w-)\n *(?=\w)", "", body)
    return out


LONG = re.compile(r"(?<![\w-])--([a-z][a-z0-9-]*[a-z0-9])")
SHORT = re.compile(r"(?<![\w-])-([A-Za-z])(?![\w-])")
KEY = re.compile(r"\b([A-Z][A-Z0-9_]*[A-Z0-9])=")


def help_text(binary):
    proc = subprocess.run([*VALGRIND_PREFIX, str(binary), "--help"], capture_output=True,
                          text=True, env=child_env(), timeout=TIMEOUT)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def help_options(text):
    """The long and short options on the help's option lines (those that
    start with a dash after the indent)."""
    lines = [line for line in text.splitlines() if re.match(r"\s+-", line)]
    return ({o for line in lines for o in LONG.findall(line)},
            {o for line in lines for o in SHORT.findall(line)})


def terms(body):
    """The items a section lists: its lines at the first indent."""
    return [line[7:] for line in body.splitlines() if re.match(r" {7}\S", line)]


def page_options(page):
    """The options an OPTIONS section lists (long, short), and every long
    option it names anywhere."""
    body = sections(render(MAN / page)[0])["OPTIONS"]
    items = [t for t in terms(body) if t.startswith("-")]
    return ({o for t in items for o in LONG.findall(t)},
            {o for t in items for o in SHORT.findall(t)},
            set(LONG.findall(body)))


@pytest.mark.parametrize("page", PAGES)
def test_every_manual_page_renders_on_80_columns_without_a_warning(page):
    path = MAN / page
    assert path.is_file(), f"{path} was not built: scdoc missing? (scripts/deps.sh)"
    text, warnings = render(path)
    assert warnings == "", f"man -l --warnings {page}:\n{warnings}"
    name, section = page.rsplit(".", 1)
    assert text.startswith(f"{name}({section})")
    assert {"NAME", "DESCRIPTION", "SEE ALSO"} <= set(sections(text))
    wide = [line for line in text.splitlines() if len(line) > 80]
    assert not wide, f"lines wider than 80 columns in {page}: {wide}"


@pytest.mark.parametrize("program", PROGRAMS)
def test_help_and_manual_page_list_the_same_options(program):
    h_long, h_short = help_options(help_text(BUILD / program))
    assert {"help", "version"} <= h_long, "the help lists neither --help nor --version"
    m_long, m_short, named = page_options(PROGRAMS[program])
    assert h_long - m_long == set(), f"in {program} --help, not in {PROGRAMS[program]}"
    assert m_long - h_long == set(), f"in {PROGRAMS[program]}, not in {program} --help"
    assert named - h_long == set(), f"{PROGRAMS[program]} OPTIONS names options {program} lacks"
    assert h_short == m_short, f"short options: --help {sorted(h_short)}, page {sorted(m_short)}"


def refused_keys(binary, keys, tmp_path):
    """Of these keys, those the program calls unknown in a settings file.
    Each file ends with a key nobody has, so the program always stops at
    its settings, whatever the probed key's value does."""
    probe = tmp_path / "probe.conf"
    unknown = []
    for key in sorted(keys):
        probe.write_text(f"{key}=1\nNOT_A_KEY_AT_ALL=1\n")
        # The settings' English words, which the probe reads.
        proc = subprocess.run([*VALGRIND_PREFIX, str(binary), "-c", str(probe)],
                              capture_output=True, text=True, env=child_env("en"),
                              stdin=subprocess.DEVNULL, timeout=TIMEOUT)
        assert proc.returncode == 2, (key, proc.stdout, proc.stderr)
        assert_no_sanitizer_report(proc.stderr, binary.name)
        if f"unknown key '{key}'" in proc.stderr:
            unknown.append(key)
    return unknown


def test_settings_page_lists_every_key_of_both_programs(tmp_path):
    page = sections(render(MAN / "chatroom.conf.5")[0])
    for binary, heading in ((SERVER_BIN, "SERVER KEYS"), (CLIENT_BIN, "CLIENT KEYS")):
        in_help = set(KEY.findall(help_text(binary))) - {"KEY"}
        documented = {m.group(1) for t in terms(page[heading])
                      if (m := re.match(r"([A-Z][A-Z0-9_]*)=", t))}
        assert in_help - documented == set(), f"{binary.name} keys missing from {heading}"
        assert documented - in_help == set(), f"{heading} keys {binary.name} --help lacks"
        assert refused_keys(binary, documented, tmp_path) == []


@pytest.mark.parametrize("example, binary", [("server.conf", SERVER_BIN),
                                             ("client.conf", CLIENT_BIN)])
def test_example_settings_hold_every_key_with_a_valid_value(example, binary, tmp_path):
    lines = [line[1:] for line in (ROOT / "contrib" / example).read_text().splitlines()
             if re.match(r"#[A-Z][A-Z0-9_]*=", line)]
    in_help = set(KEY.findall(help_text(binary))) - {"KEY"}
    assert {line.split("=")[0] for line in lines} == in_help
    # Every line uncommented is accepted: the first error is the last line.
    # (The user an example names need not exist here: one that does.)
    me = pwd.getpwuid(os.getuid()).pw_name
    lines = [f"USER={me}" if line.startswith("USER=") else line for line in lines]
    probe = tmp_path / example
    probe.write_text("\n".join(lines) + "\nNOT_A_KEY_AT_ALL=1\n")
    proc = subprocess.run([*VALGRIND_PREFIX, str(binary), "-c", str(probe)], capture_output=True,
                          text=True, env=child_env("en"), stdin=subprocess.DEVNULL, timeout=TIMEOUT)
    assert proc.returncode == 2
    assert f"{probe}:{len(lines) + 1}: unknown key 'NOT_A_KEY_AT_ALL'" in proc.stderr, proc.stderr


def test_the_demos_page_names_every_demo():
    built = {p.name for p in (BUILD / "demos").iterdir() if p.is_file() and os.access(p, os.X_OK)}
    listed = {t.split()[0] for t in terms(sections(render(MAN / "chatroom-demos.7")[0])["PROGRAMS"])}
    assert built and built == listed


# ---- socket activation --------------------------------------------------------

# What systemd does for a .socket unit: the listening socket as descriptor
# 3, LISTEN_FDS=1, and LISTEN_PID naming the process that runs the server
# (this one, which becomes it by exec), unless argv[2] names another.
ACTIVATE = """
import os, sys
fd = int(sys.argv[1])
if fd != 3:
    os.dup2(fd, 3)
    os.close(fd)
os.environ["LISTEN_FDS"] = "1"
os.environ["LISTEN_PID"] = sys.argv[2] or str(os.getpid())
os.execvp(sys.argv[3], sys.argv[3:])
"""


def start_activated(tmp_path, listen_pid=""):
    """A server given a listening socket of ours; returns (proc, log path,
    the socket's port)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    port = listener.getsockname()[1]
    log_path = tmp_path / f"activated-{port}.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-c", ACTIVATE, str(listener.fileno()), listen_pid,
             *VALGRIND_PREFIX, str(SERVER_BIN), "-a", "127.0.0.1", "-p", "0",
             "--history", str(tmp_path / f"history-{port}.jsonl"), "--log", "none"],
            pass_fds=(listener.fileno(),), stdout=log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, env=child_env())
    listener.close()  # the server's copy is the only one left
    return proc, log_path, port


def listening_port(proc, log_path):
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        m = re.search(r"listening on 127\.0\.0\.1:(\d+)", log_path.read_text())
        if m:
            return int(m.group(1))
        assert proc.poll() is None, f"server exited:\n{log_path.read_text()}"
        time.sleep(0.02)
    raise AssertionError(f"server did not start:\n{log_path.read_text()}")


def stop(proc, log_path):
    proc.send_signal(signal.SIGTERM)
    code = proc.wait(timeout=TIMEOUT)
    assert_no_sanitizer_report(log_path.read_text(), "server")
    return code


def test_the_server_listens_on_the_socket_systemd_passes(tmp_path):
    proc, log_path, port = start_activated(tmp_path)
    try:
        assert listening_port(proc, log_path) == port, log_path.read_text()
        a, b = Peer(port), Peer(port)
        a.join("alice")
        b.join("bob")
        a.send("passé par systemd\n")
        b.expect("alice a dit : passé par systemd")
    finally:
        assert stop(proc, log_path) == 0, log_path.read_text()
    assert "socket activation" in log_path.read_text()


def test_a_socket_meant_for_another_process_is_left_alone(tmp_path):
    # LISTEN_PID names someone else (as after a fork): the server binds
    # its own port, as told, and never touches descriptor 3.
    proc, log_path, port = start_activated(tmp_path, listen_pid="1")
    try:
        own = listening_port(proc, log_path)
        assert own != port
        Peer(own).send("Hello\n")
    finally:
        assert stop(proc, log_path) == 0, log_path.read_text()
    assert "socket activation" not in log_path.read_text()


# ---- make install, make uninstall ---------------------------------------------

def make(*args, timeout=BUILD_TIMEOUT):
    env = {k: v for k, v in os.environ.items() if k not in ("DESTDIR", "MAKEFLAGS", "MFLAGS")}
    proc = subprocess.run(["make", "-C", str(ROOT), "--no-print-directory", *args],
                          capture_output=True, text=True, env=env, timeout=timeout)
    assert proc.returncode == 0, f"make {' '.join(args)}:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc.stdout


DEMOS = ["sleep_and_print", "sleep_and_print_async", "web_sync", "web_async",
         "web_sync_multiple", "web_async_multiple", "mesure"]
INSTALLED = [
    "bin/chatroom", "bin/chatroom-server", "bin/chatroom-bench",
    *(f"libexec/chatroom/demos/{d}" for d in DEMOS),
    "share/locale/fr/LC_MESSAGES/chatroom.mo", "share/locale/en/LC_MESSAGES/chatroom.mo",
    "share/man/man1/chatroom.1", "share/man/man1/chatroom-bench.1",
    "share/man/man5/chatroom.conf.5", "share/man/man7/chatroom-demos.7",
    "share/man/man8/chatroom-server.8",
    "share/doc/chatroom/README.md", "share/doc/chatroom/protocol.md",
    "share/doc/chatroom/examples/server.conf", "share/doc/chatroom/examples/client.conf",
    "share/doc/chatroom/examples/chatroom-server.logrotate",
    "lib/systemd/system/chatroom-server.service", "lib/systemd/system/chatroom-server.socket",
    "share/chatroom/web/index.html", "share/chatroom/web/app.js", "share/chatroom/web/style.css",
]


def files_under(path):
    return sorted(str(p.relative_to(path)) for p in path.rglob("*") if not p.is_dir())


def heard(client_bin, server_bin, tmp_path):
    """How a plain client in English shows a text peer's message, with
    these installed binaries."""
    log_path = tmp_path / "server-console.log"
    with open(log_path, "wb") as log:
        server = subprocess.Popen([str(server_bin), "-p", "0", "--history", "none", "--log", "none"],
                                  stdout=log, stderr=subprocess.STDOUT, env=child_env())
    try:
        port = listening_port(server, log_path)
        peer = Peer(port)
        peer.join("texte")
        env = child_env()
        del env["CHATROOM_LANG"]
        client = subprocess.Popen([str(client_bin), "--plain", "-p", str(port), "-n", "alice",
                                   "--lang", "en", "--log", "none"],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
        peer.skip_until("Annonce : alice a rejoint la chatroom")
        peer.send("bonjour\n")
        line = ""
        while "bonjour" not in line:
            line = client.stdout.readline().decode()
            assert line, "the client's output ended"
        client.stdin.close()
        client.wait(timeout=TIMEOUT)
        return line.split("] ", 1)[-1].strip()
    finally:
        stop(server, log_path)


@ONCE
def test_make_install_honours_destdir_and_prefix_and_uninstall_removes_it(tmp_path):
    build, prefix, root = tmp_path / "build", tmp_path / "prefix", tmp_path / "root"
    make("install", f"BUILD={build}", f"PREFIX={prefix}", f"DESTDIR={root}")
    tree = root / prefix.relative_to("/")
    assert files_under(root) == sorted(str(tree.relative_to(root) / f) for f in INSTALLED)
    assert not prefix.exists(), "DESTDIR ignored: files written into the prefix itself"
    for program in PROGRAMS:
        out = subprocess.run([str(tree / "bin" / program), "--version"], capture_output=True,
                             text=True, timeout=TIMEOUT).stdout
        assert re.fullmatch(rf"{program} \d+\.\d+\.\d+\n", out), out
    unit = (tree / "lib/systemd/system/chatroom-server.service").read_text()
    assert f"\nExecStart={prefix}/bin/chatroom-server\n" in unit
    for program, page in PROGRAMS.items():
        found = subprocess.run(["man", "-M", str(tree / "share/man"), "-w", program],
                               capture_output=True, text=True, timeout=TIMEOUT).stdout.strip()
        assert found == str(tree / "share/man" / f"man{page[-1]}" / page)
    make("uninstall", f"BUILD={build}", f"DESTDIR={root}")
    assert files_under(root) == []
    assert not (tree / "libexec/chatroom").exists() and not (tree / "share/doc/chatroom").exists()

    # Into the prefix itself: the client finds the catalogues there, even
    # beside a program called locale, as /usr/bin/chatroom is beside
    # glibc's (a build tree has a locale/ directory there).
    make("install", f"BUILD={build}", f"PREFIX={prefix}")
    bin_dir = prefix / "bin"
    (bin_dir / "locale").write_text("#!/bin/sh\n")
    assert heard(bin_dir / "chatroom", bin_dir / "chatroom-server", tmp_path) == "texte said: bonjour"
    # Without the English catalogue it falls back to the French strings:
    # the check above does depend on the installed catalogue.
    catalogue = prefix / "share/locale/en/LC_MESSAGES/chatroom.mo"
    catalogue.rename(tmp_path / "en.mo")
    assert heard(bin_dir / "chatroom", bin_dir / "chatroom-server", tmp_path) == "texte a dit : bonjour"
    (tmp_path / "en.mo").rename(catalogue)
    (bin_dir / "locale").unlink()
    make("uninstall", f"BUILD={build}")
    assert files_under(prefix) == []
