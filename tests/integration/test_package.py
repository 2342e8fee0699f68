"""The Debian packages: built from a copy of the working tree (make deb),
lintian silent, installed with dpkg -i, the server started as its unit's
ExecStart says in a sandbox like the unit's for a chat with the installed
client and a text peer, then purged, leaving the machine as it was.

One test, a full package build: about a minute and a half. It runs once,
on the normal build, as root (it installs system-wide), one at a time on
a machine."""

import fcntl
import glob
import os
import pwd
import re
import shlex
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
import warnings
import zlib
from pathlib import Path

import pytest

from conftest import ROOT, TIMEOUT, Peer, child_env
from test_install import ONCE, PROGRAMS, files_under, make


def dpkg(*args):
    """dpkg, waiting while something else (apt-get) holds its lock."""
    deadline = time.monotonic() + 300
    while True:
        proc = subprocess.run(["dpkg", *args], capture_output=True, text=True, timeout=300)
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
        argv = shlex.split(unit["ExecStart"][0])
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


def test_build_depends_name_what_deps_sh_installs_for_the_build():
    deps = (ROOT / "scripts/deps.sh").read_text()
    main_list = re.search(r"^packages=\((.*?)^\)", deps, re.S | re.M).group(1)
    words = set(re.sub(r"#.*", "", main_list).split())
    # Fuzzing (clang) is not part of a package build.
    wanted = {w for w in words if w.endswith("-dev") and not w.startswith("libclang")}
    wanted |= {"cmake", "pkg-config", "gettext", "scdoc"} & words
    control = (ROOT / "debian/control").read_text()
    field = re.search(r"^Build-Depends:(.*?)^\S", control, re.S | re.M).group(1)
    build_depends = {re.split(r"[\s(]", d.strip())[0] for d in field.split(",") if d.strip()}
    assert wanted - build_depends == set(), "in scripts/deps.sh, not in Build-Depends"


@ONCE
@pytest.mark.skipif(os.geteuid() != 0, reason="installs packages system-wide: needs root (CI is)")
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
