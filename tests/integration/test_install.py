"""Installed like a Debian program: the manual pages against what each
program says of itself, `make install` into a DESTDIR and a prefix and
`make uninstall`, socket activation, and the two .deb packages built,
linted, installed, run the way their systemd unit says and purged.

Installing is checked once, on the normal build (not again under the
sanitizers or valgrind); the pages and socket activation on every build."""

import fcntl
import os
import pwd
import re
import shlex
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

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
        proc = subprocess.run([*VALGRIND_PREFIX, str(binary), "-c", str(probe)],
                              capture_output=True, text=True, env=child_env(),
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
    probe = tmp_path / example
    probe.write_text("\n".join(lines) + "\nNOT_A_KEY_AT_ALL=1\n")
    proc = subprocess.run([*VALGRIND_PREFIX, str(binary), "-c", str(probe)], capture_output=True,
                          text=True, env=child_env(), stdin=subprocess.DEVNULL, timeout=TIMEOUT)
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


# ---- the Debian packages ------------------------------------------------------

def as_root(cmd):
    return cmd if os.geteuid() == 0 else ["sudo", "-n", *cmd]


def dpkg(*args):
    """dpkg, waiting while something else (apt-get) holds its lock."""
    deadline = time.monotonic() + 300
    while True:
        proc = subprocess.run(as_root(["dpkg", *args]), capture_output=True, text=True,
                              timeout=300)
        if proc.returncode == 0 or "lock" not in proc.stderr or time.monotonic() > deadline:
            return proc
        time.sleep(2)


def unit_settings(path):
    """{key: [values]} of a unit file (sections merged)."""
    settings = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and line[0] not in "#;[":
            key, _, value = line.partition("=")
            settings.setdefault(key.strip(), []).append(value.strip())
    return settings


def syscall_group(name, seen=None):
    """The system calls a systemd name stands for (@group, nested), as
    systemd-analyze lists them."""
    if not name.startswith("@"):
        return {name}
    seen = set() if seen is None else seen
    if name in seen:
        return set()
    seen.add(name)
    listing = subprocess.run(["systemd-analyze", "syscall-filter", name], capture_output=True,
                             text=True, check=True, timeout=60).stdout
    calls = set()
    for word in (line.strip() for line in listing.splitlines()[1:]):
        if word and not word.startswith("#"):
            calls |= syscall_group(word, seen)
    return calls


def allowed_syscalls(filters):
    """What SystemCallFilter= lines allow: the lists minus the ~lists."""
    allow, deny = set(), set()
    for value in filters:
        target = deny if value.startswith("~") else allow
        for name in value.lstrip("~").split():
            target |= syscall_group(name)
    return allow - deny


# MemoryDenyWriteExecute=yes is prctl(PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN)
# (65, 1) since Linux 6.3; on an older kernel this says so and goes on.
MDWE = """
import ctypes, os, sys
if ctypes.CDLL(None, use_errno=True).prctl(65, 1, 0, 0, 0) != 0:
    print("no PR_SET_MDWE:", os.strerror(ctypes.get_errno()), flush=True)
os.execvp(sys.argv[1], sys.argv[1:])
"""

# The unit's sandbox, near enough, in a mount namespace of its own: the
# state and log directories systemd would make (StateDirectory=,
# LogsDirectory=) bound at their places, a private /tmp, no /home or
# /root (PrivateTmp, ProtectHome), everything else read-only
# (ProtectSystem=strict); then an unprivileged user with no capabilities
# and no new privileges (DynamicUser, CapabilityBoundingSet=,
# NoNewPrivileges), MemoryDenyWriteExecute, and strace to see the system
# calls the server makes.
SANDBOX = """
set -e
mount --bind "$1/lib" /var/lib
mount --bind "$1/log" /var/log
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /home
mount -t tmpfs tmpfs /root
mount -o remount,bind,ro /
shift
exec "$@"
"""


def png(width, height):
    """A small RGB PNG made here."""
    rows = b"".join(b"\x00" + b"".join(bytes((x * 255 // width, y * 255 // height, 96))
                                      for x in range(width)) for y in range(height))

    def chunk(tag, data):
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def read_until(peer, wanted):
    """Reads the peer's lines (pictures drawn, notices) up to `wanted`."""
    while peer.line() != wanted:
        pass


def wait_for(path, text):
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        if path.exists() and text in path.read_text(errors="replace"):
            return path.read_text(errors="replace")
        time.sleep(0.05)
    raise AssertionError(f"{text!r} not in {path}")


def run_the_installed_service(tmp_path):
    """chatroom-server started as its installed unit says, and a chat
    through it with the installed client and a text peer."""
    unit_path = Path("/lib/systemd/system/chatroom-server.service")
    unit = unit_settings(unit_path)
    for key, value in {"DynamicUser": "yes", "ProtectSystem": "strict", "NoNewPrivileges": "yes",
                       "MemoryDenyWriteExecute": "yes", "SystemCallArchitectures": "native",
                       "CapabilityBoundingSet": "", "PrivateTmp": "yes", "ProtectHome": "yes",
                       "PrivateDevices": "yes", "RestrictNamespaces": "yes"}.items():
        assert unit.get(key) == [value], (key, unit.get(key))
    # Its history and log are where the unit gives it room to write.
    state, logs = unit["StateDirectory"][0], unit["LogsDirectory"][0]
    server_help = subprocess.run(["/usr/bin/chatroom-server", "--help"], capture_output=True,
                                 text=True, timeout=TIMEOUT).stdout
    assert f"/var/lib/{state}/history.jsonl" in server_help
    assert f"/var/log/{logs}/server.log" in server_help
    verify = subprocess.run(["systemd-analyze", "verify", str(unit_path),
                             "/lib/systemd/system/chatroom-server.socket"],
                            capture_output=True, text=True, timeout=60)
    assert "chatroom" not in verify.stdout + verify.stderr, verify.stdout + verify.stderr

    nobody = pwd.getpwnam("nobody")
    scratch = Path(tempfile.mkdtemp(prefix="chatroom-unit-"))
    try:
        os.chmod(scratch, 0o755)
        for d in ("lib", "log", f"lib/{state}", f"log/{logs}", "log/strace"):
            (scratch / d).mkdir(exist_ok=True)
            if d != "lib" and d != "log":
                os.chown(scratch / d, nobody.pw_uid, nobody.pw_gid)
        console = tmp_path / "service-console.log"
        argv = [a for a in shlex.split(unit["ExecStart"][0])]
        command = ["unshare", "--mount", "sh", "-c", SANDBOX, "sandbox", str(scratch),
                   "setpriv", f"--reuid={nobody.pw_uid}", f"--regid={nobody.pw_gid}",
                   "--clear-groups", "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs",
                   sys.executable, "-c", MDWE,
                   "strace", "-f", "-qq", "-o", "/var/log/strace/trace", *argv]
        # Environment= in a drop-in: a free port for the test.
        env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8", "CHATROOM_PORT": "0"}
        with open(console, "wb") as out:
            service = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT,
                                       stdin=subprocess.DEVNULL, env=env,
                                       umask=int(unit["UMask"][0], 8))
        try:
            chat_through(service, console, scratch, state, logs, tmp_path)
        finally:
            if service.poll() is None:
                service.kill()
                service.wait()
        text = console.read_text()
        assert service.returncode == 0, text
        if "no PR_SET_MDWE" in text:
            import warnings
            warnings.warn("this kernel has no PR_SET_MDWE: MemoryDenyWriteExecute unchecked")

        history = scratch / "lib" / state / "history.jsonl"
        assert "bonjour de nc" in history.read_text() and '"kind":"image"' in history.read_text()
        for f in (history, scratch / "log" / logs / "server.log"):
            st = f.stat()
            assert st.st_uid == nobody.pw_uid and st.st_mode & 0o027 == 0, (f, oct(st.st_mode))
        trace = (scratch / "log/strace/trace").read_text()
        calls = set(re.findall(r"^\d+ +([a-z0-9_]+)\(", trace, re.M))
        assert "accept4" in calls or "accept" in calls
        outside = calls - allowed_syscalls(unit["SystemCallFilter"])
        assert outside == set(), f"system calls SystemCallFilter= would refuse: {sorted(outside)}"
        families = set(re.findall(r"^\d+ +socket\((AF_\w+)", trace, re.M))
        assert families <= set(unit["RestrictAddressFamilies"][0].split()), families
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def chat_through(service, console, scratch, state, logs, tmp_path):
    deadline = time.monotonic() + TIMEOUT
    while not (m := re.search(r"listening on 127\.0\.0\.1:(\d+)", console.read_text())):
        assert service.poll() is None and time.monotonic() < deadline, console.read_text()
        time.sleep(0.05)
    port = int(m.group(1))
    text = console.read_text()
    # Its own defaults, no fallback: the sandbox lets it write there.
    assert f"history in /var/lib/{state}/history.jsonl" in text, text
    assert f"conversation log in /var/log/{logs}/server.log" in text, text
    children = Path(f"/proc/{service.pid}/task/{service.pid}/children").read_text().split()
    server_pid = int(children[0])
    assert Path(f"/proc/{server_pid}/exe").resolve() == Path("/usr/bin/chatroom-server")

    peer = Peer(port)
    peer.join("texte")
    env = child_env()
    del env["CHATROOM_LANG"]
    client = subprocess.Popen(["/usr/bin/chatroom", "--plain", "-p", str(port), "-n", "alice",
                               "--lang", "en", "--log", "none"],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
    try:
        peer.skip_until("Annonce : alice a rejoint la chatroom")
        peer.send("bonjour de nc\n")
        line = ""
        while "bonjour de nc" not in line:
            line = client.stdout.readline().decode()
            assert line, "the client's output ended"
        # English, from the catalogue in /usr/share/locale.
        assert line.split("] ", 1)[1] == "texte said: bonjour de nc\n"
        client.stdin.write(b"salut\n")
        client.stdin.flush()
        peer.expect("alice a dit : salut")
        picture = tmp_path / "picture.png"
        picture.write_bytes(png(64, 48))
        client.stdin.write(f"/image {picture}\n".encode())
        client.stdin.flush()
        # Checked and drawn by the server off its loop, on libuv's threads.
        read_until(peer, "alice a envoyé une image (64×48) :")

        # logrotate with the installed snippet, its postrotate aimed at
        # this server (systemctl does not run here).
        log = scratch / "log" / logs / "server.log"
        wait_for(log, "bonjour de nc")
        snippet = Path("/etc/logrotate.d/chatroom-server").read_text()
        assert subprocess.run(["logrotate", "-d", "/etc/logrotate.d/chatroom-server"],
                              capture_output=True, timeout=60).returncode == 0
        snippet = snippet.replace(f"/var/log/{logs}/server.log", str(log))
        snippet, aimed = re.subn(r"^\s+postrotate\n.*?^\s+endscript",
                                 f"\tpostrotate\n\t\tkill -HUP {server_pid}\n\tendscript",
                                 snippet, flags=re.S | re.M)
        assert aimed == 1, snippet
        conf = tmp_path / "logrotate.conf"
        conf.write_text(snippet)
        rotate = subprocess.run(["logrotate", "-f", "-s", str(tmp_path / "logrotate.state"), str(conf)],
                                capture_output=True, text=True, timeout=60)
        assert rotate.returncode == 0, rotate.stderr
        wait_for(console, "reopened")
        peer.send("après rotation\n")
        wait_for(log, "après rotation")
        assert "bonjour de nc" not in log.read_text()
        assert "bonjour de nc" in (log.parent / "server.log.1").read_text()
        client.stdin.close()
        assert client.wait(timeout=TIMEOUT) == 0
    finally:
        if client.poll() is None:
            client.kill()
            client.wait()
        peer.close()
        os.kill(server_pid, signal.SIGTERM)
        service.wait(timeout=TIMEOUT)


PACKAGES = ("chatroom", "chatroom-server")
SYSTEMD_TRACES = ("/etc/systemd/system/*/chatroom-server.*",
                  "/var/lib/systemd/deb-systemd-helper-enabled/**/chatroom-server.*",
                  "/var/lib/systemd/deb-systemd-helper-masked/chatroom-server.*")


def systemd_traces():
    import glob
    return sorted(p for pattern in SYSTEMD_TRACES for p in glob.glob(pattern, recursive=True))


def check_purge_of_service_data(deb, tmp_path):
    """The package's postrm, in a mount namespace whose /var/lib and
    /var/log are scratch: purge removes the directories systemd made for
    the dynamic user (links into private/), and nothing else."""
    control = tmp_path / "control"
    subprocess.run(["dpkg-deb", "-e", str(deb), str(control)], check=True, timeout=60)
    fake = tmp_path / "fake"
    for d in ("lib/private/chatroom", "log/private/chat_room", "log/kept"):
        (fake / d).mkdir(parents=True)
        (fake / d / "file").write_text("x")
    os.symlink("private/chatroom", fake / "lib/chatroom")
    os.symlink("private/chat_room", fake / "log/chat_room")
    subprocess.run(["unshare", "--mount", "sh", "-c",
                    'mount --bind "$1/lib" /var/lib && mount --bind "$1/log" /var/log && '
                    'sh "$2" purge', "purge", str(fake), str(control / "postrm")],
                   check=True, capture_output=True, timeout=60)
    assert files_under(fake) == ["log/kept/file"]
    # A plain directory of that name (a server run by hand) is not the
    # package's to remove.
    (fake / "lib/chatroom").mkdir()
    (fake / "lib/chatroom/history.jsonl").write_text("x")
    subprocess.run(["unshare", "--mount", "sh", "-c",
                    'mount --bind "$1/lib" /var/lib && sh "$2" purge', "purge", str(fake),
                    str(control / "postrm")], check=True, capture_output=True, timeout=60)
    assert (fake / "lib/chatroom/history.jsonl").exists()


@ONCE
def test_debian_packages_build_pass_lintian_install_run_and_purge(tmp_path):
    # One package test at a time on this machine: it installs system-wide.
    with open(Path(tempfile.gettempdir()) / "chatroom-package-test.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        for package in PACKAGES:
            status = subprocess.run(["dpkg-query", "-W", "-f=${db:Status-Status}", package],
                                    capture_output=True, text=True).stdout
            assert status in ("", "not-installed"), (
                f"{package} is {status} on this machine: this test installs and purges it; "
                f"dpkg --purge {package} first")
        assert systemd_traces() == []

        # Built as `make deb` does, from a copy of the working tree.
        debs = tmp_path / "deb"
        make("deb", f"DEB_BUILD={debs}", "LINTIAN=:")
        changes = list(debs.glob("*.changes"))
        assert len(changes) == 1
        lint = subprocess.run(["lintian", str(changes[0])], capture_output=True, text=True,
                              timeout=600)
        said = [line for line in (lint.stdout + lint.stderr).splitlines()
                if line != "running with root privileges is not recommended!"]
        assert lint.returncode == 0 and said == [], "\n".join(said)
        packages = {p.name.split("_")[0]: p for p in debs.glob("*.deb")}
        assert sorted(packages) == sorted(PACKAGES)
        check_purge_of_service_data(packages["chatroom-server"], tmp_path)

        contents = []
        for deb in packages.values():
            listing = subprocess.run(["dpkg-deb", "-c", str(deb)], capture_output=True, text=True,
                                     check=True).stdout
            contents += [line.split(None, 5)[5].lstrip(".") for line in listing.splitlines()
                         if not line.startswith("d")]
        try:
            installed = dpkg("-i", *map(str, packages.values()))
            assert installed.returncode == 0, installed.stdout + installed.stderr
            for program, page in PROGRAMS.items():
                out = subprocess.run([f"/usr/bin/{program}", "--version"], capture_output=True,
                                     text=True, timeout=TIMEOUT).stdout
                assert out.startswith(f"{program} "), out
                found = subprocess.run(["man", "-w", program], capture_output=True, text=True,
                                       timeout=TIMEOUT).stdout.strip()
                assert found == f"/usr/share/man/man{page[-1]}/{page}.gz"
            for demo in ("web_sync", "web_async", "web_sync_multiple", "web_async_multiple", "mesure"):
                usage = subprocess.run([f"/usr/libexec/chatroom/demos/{demo}"], capture_output=True,
                                       text=True, timeout=TIMEOUT)
                assert usage.returncode == 2 and usage.stderr.startswith(f"usage: {demo}")
            run_the_installed_service(tmp_path)
        finally:
            purged = dpkg("--purge", *PACKAGES)
        assert purged.returncode == 0, purged.stdout + purged.stderr
        left = [path for path in contents if os.path.lexists(path)]
        assert left == [], f"left after purge: {left}"
        assert systemd_traces() == []
