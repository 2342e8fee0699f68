"""Resource failures: out of file descriptors, a full disk. The server stays
up, says so, and recovers when the resource comes back."""

import json
import os
import resource
import subprocess
import time

import pytest

from conftest import VALGRIND


@pytest.mark.skipif(VALGRIND, reason="valgrind keeps descriptors of its own")
def test_out_of_file_descriptors_then_recovery(tmp_path, start_server, monkeypatch):
    limit = 48  # open files; the server keeps 20 for itself
    real = subprocess.Popen

    def popen_with_low_limit(*args, **kwargs):
        kwargs["preexec_fn"] = lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))
        return real(*args, **kwargs)

    monkeypatch.setattr(subprocess, "Popen", popen_with_low_limit)
    srv = start_server()
    monkeypatch.setattr(subprocess, "Popen", real)
    srv.wait_log(r"at most 28 connections: the open file limit is 48")

    talker = srv.peer()
    talker.join("talker")
    socks = []
    refused = 0
    for _ in range(40):  # one after the other: a refusal needs a descriptor too
        p = srv.peer()
        socks.append(p)
        p.send("Hello\n")
        line = p.line()
        if line == "Erreur : le serveur est plein":
            refused += 1
            assert p.closed()
        else:
            assert line.startswith("Hello 127.0.0.1:")
    assert refused == 40 + 1 - 28
    talker.send("toujours là\n")
    for p in socks:
        p.close()
    time.sleep(0.5)
    # Descriptors came back: new peers get in and talk.
    again = srv.peer()
    again.join("again")
    talker.skip_until("Annonce : again a rejoint la chatroom")
    again.send("de nouveau là\n")
    talker.expect("again a dit : de nouveau là")
    assert srv.proc.poll() is None


@pytest.fixture
def small_disk(tmp_path):
    mount = tmp_path / "disk"
    mount.mkdir()
    if os.geteuid() != 0 or subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount)]).returncode != 0:
        pytest.skip("needs root and tmpfs to fill a disk")
    yield mount
    subprocess.run(["umount", "-l", str(mount)])


@pytest.mark.skipif(VALGRIND, reason="timing")
def test_disk_full_history_keeps_chatting_and_catches_up(small_disk, start_server):
    history = small_disk / "history.jsonl"
    srv = start_server("--history", str(history), "--log", str(small_disk / "server.log"),
                       "--flood-rate", "0")
    a, b = srv.peer(), srv.peer()
    a.join("a")
    b.join("b")
    a.skip_until("Annonce : b a rejoint la chatroom")
    filler = small_disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
    try:
        while True:
            os.write(fd, b"\0" * 4096)
    except OSError:
        pass
    finally:
        os.close(fd)
    for i in range(50):
        b.send(f"pendant le disque plein {i}\n")
    for i in range(50):
        a.expect(f"b a dit : pendant le disque plein {i}")  # the chat goes on
    srv.wait_log(r"write failed: no space left on device; trying again every second")
    filler.unlink()
    srv.wait_log(r"writing again")
    a.send("après\n")
    b.expect("a a dit : après")
    time.sleep(1.5)
    texts = [json.loads(l).get("text") for l in history.read_text().splitlines()]
    # Nothing said while the disk was full was lost.
    for i in range(50):
        assert f"pendant le disque plein {i}" in texts
    assert "après" in texts
