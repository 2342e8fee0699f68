"""The server's logs: the conversation file, the console and its levels,
SIGHUP for logrotate, the per-user fallback, no raw control bytes."""

import os
import pwd
import re
import shutil
import signal
import subprocess
import tempfile
import time

import pytest
from pathlib import Path

from conftest import SERVER_BIN, TIMEOUT, Client, child_env

ISO = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"


def wait_file(path, pattern, timeout=TIMEOUT):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists():
            text = path.read_text(errors="replace")
            if re.search(pattern, text):
                return text
        time.sleep(0.05)
    raise AssertionError(f"{pattern!r} not in {path}:\n{path.read_text() if path.exists() else '(none)'}")


def test_conversation_and_arrivals_in_the_log_file(server):
    a, b = server.peer(), server.peer()
    a.join("alice")
    b.join("bob")
    a.send("bonjour \x1b[31mrouge\n")
    b.expect("alice a dit : bonjour ^[[31mrouge")
    b.close()
    a.skip_until("Annonce : bob a quitté la chatroom")
    text = wait_file(server.chatlog_path, r"bob a quitté")
    assert re.search(rf"^{ISO} \[general\] Annonce : alice a rejoint la chatroom$", text, re.M)
    assert re.search(rf"^{ISO} \[general\] Annonce : bob a rejoint la chatroom$", text, re.M)
    assert re.search(rf"^{ISO} \[general\] alice a dit : bonjour \^\[\[31mrouge$", text, re.M)
    assert re.search(rf"^{ISO} \[general\] Annonce : bob a quitté la chatroom$", text, re.M)
    assert "\x1b" not in text and "\x1b" not in server.log()
    assert re.search(rf"^{ISO} INFO   Message received from 127\.0\.0\.1:\d+ : bonjour \^\[\[31mrouge$",
                     server.log(), re.M)


def test_sighup_reopens_the_log_for_logrotate(server):
    a = server.peer()
    a.join("a")
    a.send("avant rotation\n")
    wait_file(server.chatlog_path, "avant rotation")
    rotated = server.chatlog_path.with_suffix(".log.1")
    os.rename(server.chatlog_path, rotated)
    server.proc.send_signal(signal.SIGHUP)
    server.wait_log(r"reopened")
    a.send("après rotation\n")
    text = wait_file(server.chatlog_path, "après rotation")
    assert "avant rotation" not in text
    assert "après rotation" not in rotated.read_text()


def test_console_levels(start_server):
    quiet = start_server("-q")
    p = quiet.peer()
    p.join("q")
    p.send("chut\n")
    time.sleep(0.3)
    assert "Message received" not in quiet.log()

    verbose = start_server("-v")
    a, b = verbose.peer(), verbose.peer()
    a.join("a")
    b.join("b")
    a.send("bavard\n")
    b.skip_until("a a dit : bavard")
    verbose.wait_log(r"DEBUG +message sent to 127\.0\.0\.1:\d+ \(\d+ bytes\)")

    normal = start_server()
    a = normal.peer()
    a.join("a")
    time.sleep(0.2)
    assert "DEBUG" not in normal.log()


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("setpriv") is None,
                    reason="needs root to run the server as an unprivileged user")
def test_falls_back_to_the_user_state_directory():
    # pytest's own temporary directories are private to root: use one
    # that the unprivileged user can reach.
    home = tempfile.mkdtemp(prefix="chatroom-fallback-")
    os.chmod(home, 0o755)
    state = tempfile.mkdtemp(dir=home)
    nobody = pwd.getpwnam("nobody")
    os.chown(state, nobody.pw_uid, nobody.pw_gid)
    try:
        run_as_nobody(home, state)
    finally:
        shutil.rmtree(home)


def run_as_nobody(home, state):
    state = Path(state)
    env = child_env()
    env.pop("CHATROOM_LOG")
    env["XDG_STATE_HOME"] = str(state)
    env["HOME"] = home
    proc = subprocess.Popen(
        ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--",
         str(SERVER_BIN), "-p", "0", "-c", "/dev/null"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines = []
    try:
        for _ in range(10):
            line = proc.stdout.readline()
            lines.append(line)
            if "listening on" in line:
                break
    finally:
        proc.send_signal(signal.SIGTERM)
        rest = proc.communicate(timeout=TIMEOUT)[0]
    console = "".join(lines) + rest
    assert proc.returncode == 0, console
    assert console.count("/var/log/chat_room/server.log is not writable; "
                         f"the conversation log goes to {state}/chatroom/server.log") == 1
    assert f"the history goes to {state}/chatroom/history.jsonl" in console
    assert (state / "chatroom" / "server.log").exists()


def test_client_logs_the_whole_conversation(server, tmp_path):
    log = tmp_path / "client.log"
    watcher = server.peer()
    watcher.join("w")
    client = Client(server.port, "-n", "moi", "--log", str(log))
    client.skip_until("Annonce : moi a rejoint la chatroom")
    watcher.skip_until("Annonce : moi a rejoint la chatroom")
    watcher.send("pour le journal \x07\n")
    client.expect("w a dit : pour le journal ^G")
    client.proc.stdin.close()
    assert client.wait()[0] == 0
    text = log.read_text()
    assert re.search(rf"^{ISO}  \[\d\d:\d\d\] Annonce : moi a rejoint la chatroom$", text, re.M)
    assert re.search(rf"^{ISO}  \[\d\d:\d\d\] w a dit : pour le journal \^G$", text, re.M)
    assert "\x07" not in text
