"""The server's own files (security review H5, L1, L2, L3, L8; issue 14
items 5 and 6): the history's compaction never loops, files are private,
root drops to --user, a tampered history is read as carefully as a peer,
the compaction's temporary file follows no symlink, and a restart replays
the default room whole, in its own words."""

import json
import os
import pwd
import re
import shutil
import signal
import stat
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from conftest import (SERVER_BIN, TIMEOUT, VALGRIND_PREFIX, Peer,
                      assert_no_sanitizer_report, child_env)
from wire import HISTORY, WELCOME, BinaryPeer, hello, say

STAMP = re.compile(r"^\[\d\d:\d\d\] ")
ROOT_ONLY = pytest.mark.skipif(os.geteuid() != 0, reason="needs root")


def unstamped(lines):
    return [STAMP.sub("", line) for line in lines]


def mode(path):
    return stat.S_IMODE(os.lstat(path).st_mode)


def wait_for(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"not within {timeout} s: {what}")


# ---- H5: the compaction loop ------------------------------------------------

@pytest.mark.parametrize("policy", ["everysec", "always"])
def test_compaction_does_not_loop_and_new_messages_reach_the_disk(tmp_path, start_server,
                                                                  policy):
    # The review's t_compaction_loop: the rooms remember ~1.8 MB, more than
    # the 1 MiB limit, so a rewritten file is still "too big".
    path = tmp_path / "loop.jsonl"
    srv = start_server("--history", str(path), "--history-max-bytes", "1048576",
                       "--fsync", policy)
    alice = srv.peer()
    alice.join("alice")
    started = time.monotonic()
    flooders = []
    for i in range(7):
        p = BinaryPeer(srv.port, timeout=TIMEOUT)
        p.send(hello(f"f{i}", f"salle{i}"))
        p.until(WELCOME)
        for _ in range(16):  # 256 000 bytes: within one peer's byte burst
            p.send(say("y" * 16000))
        flooders.append(p)
    srv.wait_log(r"compacted from \d+ to \d+ bytes")
    bob = srv.peer()
    bob.join("bob")
    alice.skip_until("Annonce : bob a rejoint la chatroom")
    bob.send("MARKER-after-the-compaction\n")
    sent = time.monotonic()
    wait_for(lambda: b"MARKER-after-the-compaction" in path.read_bytes(), 2.0,
             "the new message in the history file")
    alice.expect("bob a dit : MARKER-after-the-compaction",
                 timeout=max(0.1, 2.0 - (time.monotonic() - sent)))
    time.sleep(max(0.0, 5.0 - (time.monotonic() - started)))
    compactions = len(re.findall(r"compacted from \d+ to \d+ bytes", srv.log()))
    assert 1 <= compactions < 10, f"{compactions} compactions in 5 s"
    for p in flooders:
        p.close()
    srv.stop()
    records = [json.loads(line) for line in path.read_text().splitlines()]
    assert "MARKER-after-the-compaction" in [r.get("text") for r in records]
    ids = [r["id"] for r in records]
    assert len(ids) == len(set(ids)), "no event twice in the file"


# ---- L8: the compaction's temporary file -------------------------------------

def test_compaction_temp_file_follows_no_symlink(tmp_path, start_server):
    path = tmp_path / "shared.jsonl"
    victim = tmp_path / "victim.conf"
    victim.write_text("precious\n")
    os.symlink(victim, tmp_path / "shared.jsonl.tmp")
    srv = start_server("--history", str(path), "--history-max-bytes", "4096",
                       "--history-size", "5", "--flood-rate", "0")
    a = srv.peer()
    a.join("a")
    for i in range(100):
        a.send(f"message {i} {'x' * 40}\n")
    srv.wait_log(r"compacted from \d+ to \d+ bytes")
    time.sleep(0.3)
    srv.stop()
    assert "compaction failed" not in srv.log()
    assert victim.read_text() == "precious\n", "the symlink's target was overwritten"
    assert (tmp_path / "shared.jsonl.tmp").is_symlink()
    assert not path.is_symlink()
    texts = [json.loads(line).get("text") for line in path.read_text().splitlines()]
    assert texts[-1] == f"message 99 {'x' * 40}"
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith("shared.jsonl.")]
    assert leftovers == ["shared.jsonl.tmp"], leftovers


# ---- L1: file and directory modes -------------------------------------------

def run_until_listening(cmd, env):
    """Starts cmd (a server), waits for "listening on", stops it with
    SIGTERM; returns (status, console)."""
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True)
    lines = []
    try:
        for _ in range(20):
            line = proc.stdout.readline()
            lines.append(line)
            if "listening on" in line or not line:
                break
    finally:
        proc.send_signal(signal.SIGTERM)
        rest = proc.communicate(timeout=TIMEOUT)[0]
    console = "".join(lines) + rest
    assert_no_sanitizer_report(console, "server")
    return proc.returncode, console


@ROOT_ONLY
@pytest.mark.skipif(shutil.which("unshare") is None, reason="needs unshare")
def test_default_places_are_made_private(tmp_path):
    # The real defaults, /var/lib/chatroom and /var/log/chat_room, made in
    # empty directories mounted over /var/lib and /var/log for this
    # server only (a private mount namespace).
    lib, logs = tmp_path / "lib", tmp_path / "log"
    lib.mkdir()
    logs.mkdir()
    server = " ".join([*VALGRIND_PREFIX, str(SERVER_BIN), "-p", "0", "-c", "/dev/null"])
    script = f"mount --bind {lib} /var/lib && mount --bind {logs} /var/log && exec {server}"
    env = child_env()
    env.pop("CHATROOM_LOG")
    probe = subprocess.run(["unshare", "--mount", "true"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip("no mount namespaces here")
    status, console = run_until_listening(["unshare", "--mount", "sh", "-c", script], env)
    assert status == 0, console
    assert "history in /var/lib/chatroom/history.jsonl" in console
    assert mode(lib / "chatroom") == 0o750
    assert mode(lib / "chatroom" / "history.jsonl") == 0o640
    assert mode(logs / "chat_room") == 0o750
    assert mode(logs / "chat_room" / "server.log") == 0o640


def test_wider_files_are_tightened(tmp_path, start_server):
    history, log = tmp_path / "wide.jsonl", tmp_path / "wide.log"
    history.write_text("")
    log.write_text("")
    os.chmod(history, 0o666)
    os.chmod(log, 0o644)
    fresh_history, fresh_log = tmp_path / "fresh.jsonl", tmp_path / "fresh.log"
    old = os.umask(0)  # the server's own mode must be private, whatever the umask
    try:
        srv = start_server("--history", str(history), "--log", str(log))
        fresh = start_server("--history", str(fresh_history), "--log", str(fresh_log))
    finally:
        os.umask(old)
    a = srv.peer()
    a.join("a")
    a.send("bonjour\n")
    time.sleep(0.3)
    assert mode(history) == 0o640
    assert mode(log) == 0o640
    assert mode(fresh_history) == 0o640
    assert mode(fresh_log) == 0o640
    srv.stop()
    fresh.stop()


@ROOT_ONLY
@pytest.mark.skipif(shutil.which("setpriv") is None, reason="needs setpriv")
def test_user_state_directory_is_private():
    # As an ordinary user the defaults are out of reach: the XDG fallback,
    # made 0700 as the XDG spec wants.
    home = tempfile.mkdtemp(prefix="chatroom-private-")
    os.chmod(home, 0o755)
    state = Path(tempfile.mkdtemp(dir=home))
    nobody = pwd.getpwnam("nobody")
    os.chown(state, nobody.pw_uid, nobody.pw_gid)
    env = child_env()
    env.pop("CHATROOM_LOG")
    env["XDG_STATE_HOME"] = str(state)
    env["HOME"] = home
    try:
        status, console = run_until_listening(
            ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--",
             *VALGRIND_PREFIX, str(SERVER_BIN), "-p", "0", "-c", "/dev/null"], env)
        assert status == 0, console
        assert mode(state / "chatroom") == 0o700
        assert mode(state / "chatroom" / "history.jsonl") == 0o640
        assert mode(state / "chatroom" / "server.log") == 0o640
    finally:
        shutil.rmtree(home)


# ---- L2: root and --user ----------------------------------------------------

@ROOT_ONLY
def test_running_as_root_is_warned(start_server):
    srv = start_server()
    srv.wait_log(r"WARN.*running as root.*--user")


def status_ids(pid):
    text = Path(f"/proc/{pid}/status").read_text()
    uid = text.split("\nUid:")[1].split("\n")[0].split()
    gid = text.split("\nGid:")[1].split("\n")[0].split()
    groups = text.split("\nGroups:")[1].split("\n")[0].split()
    return [int(x) for x in uid], [int(x) for x in gid], [int(x) for x in groups]


@pytest.fixture
def nobody_dir():
    """A directory the user nobody owns and can reach (pytest's own
    temporary directories are private to root)."""
    top = tempfile.mkdtemp(prefix="chatroom-user-")
    os.chmod(top, 0o755)
    inside = Path(top) / "state"
    inside.mkdir()
    nobody = pwd.getpwnam("nobody")
    os.chown(inside, nobody.pw_uid, nobody.pw_gid)
    yield inside
    shutil.rmtree(top)


@ROOT_ONLY
@pytest.mark.parametrize("source", ["option", "env", "file"])
def test_root_drops_to_the_given_user(nobody_dir, start_server, monkeypatch, tmp_path, source):
    nobody = pwd.getpwnam("nobody")
    history, log = nobody_dir / "history.jsonl", nobody_dir / "server.log"
    args = ["--history", str(history), "--log", str(log),
            "--history-max-bytes", "4096", "--history-size", "5", "--flood-rate", "0"]
    if source == "option":
        args += ["--user", "nobody"]
    elif source == "env":
        monkeypatch.setenv("CHATROOM_USER", "nobody")
    else:
        conf = tmp_path / "server.conf"
        conf.write_text("USER=nobody\n")
        args += ["-c", str(conf)]
    srv = start_server(*args)
    srv.wait_log(r"running as nobody")
    assert "running as root" not in srv.log()
    uid, gid, groups = status_ids(srv.proc.pid)
    assert uid == [nobody.pw_uid] * 4
    assert gid == [nobody.pw_gid] * 4
    assert groups in ([], [nobody.pw_gid])
    a, b = srv.peer(), srv.peer()
    a.join("a")
    b.join("b")
    a.skip_until("Annonce : b a rejoint la chatroom")
    for i in range(80):
        a.send(f"message {i} {'x' * 40}\n")
    for i in range(80):
        b.expect(f"a a dit : message {i} {'x' * 40}")
    srv.wait_log(r"compacted from \d+ to \d+ bytes")
    assert "compaction failed" not in srv.log()
    assert srv.stop() == 0
    # The files it keeps are the user's, so the next rewrite or a logrotate
    # reopen works as that user too.
    assert history.stat().st_uid == nobody.pw_uid
    assert log.stat().st_uid == nobody.pw_uid
    texts = [json.loads(line).get("text") for line in history.read_text().splitlines()]
    assert f"message 79 {'x' * 40}" in texts


def test_unknown_user_is_a_clear_error(tmp_path):
    proc = subprocess.run([str(SERVER_BIN), "-p", "0", "-c", "/dev/null",
                           "--history", "none", "--log", "none",
                           "--user", "no-such-user-here"],
                          capture_output=True, text=True, timeout=TIMEOUT,
                          stdin=subprocess.DEVNULL, env=child_env())
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "--user 'no-such-user-here': no such user" in proc.stderr


@ROOT_ONLY
@pytest.mark.skipif(shutil.which("setpriv") is None, reason="needs setpriv")
def test_failed_drop_is_a_clear_error():
    # Only root may become someone else: the server says so and stops.
    proc = subprocess.run(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
                           "--", str(SERVER_BIN), "-p", "0", "-c", "/dev/null",
                           "--history", "none", "--log", "none", "--user", "root"],
                          capture_output=True, text=True, timeout=TIMEOUT,
                          stdin=subprocess.DEVNULL, env=child_env())
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "cannot run as root: only root may become another user" in proc.stderr


# ---- L3: a tampered history file --------------------------------------------

def record(id, kind="message", pseudo="old", text="texte", room="general", **more):
    r = {"id": id, "time": 1700000000000, "room": room, "kind": kind, "user": 7,
         "pseudo": pseudo, "colour": 28}
    if kind in ("message", "image"):
        r["text"] = text
    r.update(more)
    return json.dumps(r)


def image(id, **more):
    fields = {"mime": "image/png", "width": 8, "height": 8}
    fields.update(more)
    return record(id, kind="image", text="##\n##", **fields)


def read_history_block(sock):
    """The raw bytes a text peer gets up to the end of the history."""
    data = b""
    sock.settimeout(TIMEOUT)
    while b"Annonce : fin de l'historique\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"closed (have {data!r})"
        data += chunk
    return data


def test_tampered_history_is_read_as_carefully_as_a_peer(tmp_path, start_server):
    path = tmp_path / "tampered.jsonl"
    bad = {
        2: image(2, pseudo="P" * 400),
        3: record(3, pseudo="evil\x1b]0;owned\x07", text="hi"),
        5: record(1e300, text="id 1e300"),
        6: record(-5, text="id -5"),
        7: record(7, time=-5, text="time -5"),
        8: record(8, time=1e300, text="time 1e300"),
        9: image(9, width=1e300),
        10: image(10, width=-5),
        11: image(11, height=100000),
        12: record(12, user=1e300, text="user 1e300"),
        13: record(13, user=-5, text="user -5"),
        14: record(14, room="salle\x1b[2J", text="room"),
        15: record(15, pseudo="", text="empty pseudo"),
        16: record(16, pseudo="999.1.2.3:80", text="not an address"),
        17: record(17, colour=1e300, text="colour 1e300"),
    }
    good = {
        1: record(1, text="intact"),
        4: record(4, pseudo="ok", text="\x1b]0;owned\x07\x1b[2J efface"),
        18: record(18, pseudo="127.0.0.1:5000", text="anonyme"),
        19: record(19, pseudo="::1:5001", text="anonyme en IPv6"),
        20: image(20, pseudo="pic"),
        21: record(21, pseudo="ok", text="deux\nlignes\x07"),
    }
    lines = {**bad, **good}
    path.write_text("".join(lines[k] + "\n" for k in sorted(lines)))
    srv = start_server("--history", str(path))
    srv.wait_log(r"history in .* \(last event 21\)")

    peer = Peer(srv.port)
    peer.send("Hello|lecteur\n")
    raw = read_history_block(peer.sock)
    assert b"\x1b" not in raw and b"\x07" not in raw, raw
    block = raw.decode("utf-8")  # strict: no stray bytes
    history = unstamped(block.split("\n"))
    start = history.index(f"Annonce : historique du salon general ({len(good)})")
    end = history.index("Annonce : fin de l'historique")
    assert history[start + 1:end + 1] == [
        "old a dit : intact",
        "ok a dit : ^[]0;owned^G^[[2J efface",
        "127.0.0.1:5000 a dit : anonyme",
        "::1:5001 a dit : anonyme en IPv6",
        "pic a envoyé une image (8×8) :",
        "    ##",
        "    ##",
        "ok a dit : deux",
        "    lignes^G",
        "Annonce : fin de l'historique",
    ]

    binary = BinaryPeer(srv.port, timeout=TIMEOUT)
    binary.send(hello("binaire"))
    binary.until(WELCOME)
    h = binary.until(HISTORY)
    assert "\x1b" not in h["json"] and "\x07" not in h["json"]
    texts = [e.get("text") for e in json.loads(h["json"])]
    assert "^[]0;owned^G^[[2J efface" in texts
    binary.close()
    peer.close()
    assert srv.stop() == 0
    for lineno in sorted(bad):
        assert re.search(rf"WARN .* line {lineno} .*skipped", srv.log()), lineno
    for lineno in sorted(good):
        assert not re.search(rf" line {lineno} .*skipped", srv.log()), lineno


# ---- issue 14, items 5 and 6: a restart replays the default room ------------

@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "sigkill"])
@pytest.mark.parametrize("policy", ["always", "everysec"])
def test_restart_replays_the_default_room_in_its_own_words(tmp_path, start_server, policy, sig):
    path = tmp_path / "restart.jsonl"
    srv = start_server("--history", str(path), "--fsync", policy)
    a, late = srv.peer(), srv.peer()
    a.join("a")
    late.join("late")
    a.skip_until("Annonce : late a rejoint la chatroom")
    a.send("avant\n")
    late.expect("a a dit : avant")
    late.send("moi aussi\n")
    a.expect("late a dit : moi aussi")
    late.close()
    a.expect("Annonce : late a quitté la chatroom")
    # A kill keeps what reached the file (written, not yet synced).
    wait_for(lambda: path.read_text().count("\n") == 5, TIMEOUT, "five events on file")
    srv.proc.send_signal(sig)
    srv.proc.wait(timeout=TIMEOUT)
    a.close()

    again = start_server("--history", str(path), "--fsync", policy)
    again.wait_log(r"history in .* \(last event 5\)")
    newcomer = again.peer()
    history = unstamped(newcomer.join("newcomer"))
    assert history == [
        "Annonce : a a rejoint la chatroom",
        "Annonce : late a rejoint la chatroom",
        "a a dit : avant",
        "late a dit : moi aussi",
        "Annonce : late a quitté la chatroom",
    ]
