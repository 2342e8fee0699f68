"""Part I: the asynchronous warm-up programs, against a local HTTP server
whose pages have known content and a chosen delay."""

import os
import socket
import subprocess
import time

import pytest

from conftest import BUILD, SANITIZER_ENV, VALGRIND_PREFIX
from httpserver import start

DEMOS = BUILD / "demos"


def run(name, *args, timeout=60, env_extra=None):
    env = dict(os.environ)
    env.update(SANITIZER_ENV)
    env.update(env_extra or {})
    start_time = time.monotonic()
    proc = subprocess.run([*VALGRIND_PREFIX, str(DEMOS / name), *map(str, args)],
                          capture_output=True, text=True, timeout=timeout, env=env)
    return proc, time.monotonic() - start_time


@pytest.fixture(scope="module")
def http():
    srv = start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_sleep_and_print_sync_and_async():
    # Both at once: ~10 s in all rather than 15.
    env = dict(os.environ, **SANITIZER_ENV)
    started = time.monotonic()
    sync = subprocess.Popen([str(DEMOS / "sleep_and_print")], stdout=subprocess.PIPE, text=True, env=env)
    asyn = subprocess.Popen([str(DEMOS / "sleep_and_print_async")], stdout=subprocess.PIPE, text=True, env=env)
    async_out, _ = asyn.communicate(timeout=30)
    async_time = time.monotonic() - started
    sync_out, _ = sync.communicate(timeout=30)
    sync_time = time.monotonic() - started
    assert sync.returncode == 0 and asyn.returncode == 0
    numbers = [str(i) for i in range(10)]
    assert sync_out.split() == numbers + numbers
    # The two asynchronous counts interleave: 0 0 1 1 2 2 ...
    assert async_out.split() == [n for n in numbers for _ in range(2)]
    assert 4.0 <= async_time < 7.5, async_time
    assert 9.5 <= sync_time < 13, sync_time


@pytest.mark.parametrize("program", ["web_sync", "web_async"])
def test_single_page_is_written(http, tmp_path, program):
    proc, _ = run(program, "-o", tmp_path, f"{http}/page/accueil")
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "web_page").read_text() == "contenu de accueil\n"
    # The environment variable moves it too.
    other = tmp_path / "env"
    other.mkdir()
    proc, _ = run(program, f"{http}/page/par-env", env_extra={"WEB_OUTPUT_DIR": str(other)})
    assert proc.returncode == 0, proc.stderr
    assert (other / "web_page").read_text() == "contenu de par-env\n"


def write_list(tmp_path, urls):
    f = tmp_path / "urls.txt"
    f.write_text("# une liste\n\n" + "\n".join(urls) + "\n")
    return f


@pytest.mark.parametrize("program", ["web_sync_multiple", "web_async_multiple"])
def test_multiple_pages_with_known_content(http, tmp_path, program):
    urls = [f"{http}/page/p{i}/sub" for i in range(5)]
    proc, _ = run(program, "-o", tmp_path, write_list(tmp_path, urls))
    assert proc.returncode == 0, proc.stderr
    host = http.split("://")[1]
    for i in range(5):
        path = tmp_path / f"web_{host}_page_p{i}_sub"
        assert path.read_text() == f"contenu de p{i}/sub\n"


@pytest.mark.parametrize("program", ["web_sync_multiple", "web_async_multiple"])
def test_bad_urls_each_get_a_line_and_the_others_complete(http, tmp_path, program):
    closed = free_port()
    urls = [f"{http}/page/bon1", "pas une url", f"http://127.0.0.1:{closed}/refuse",
            "http://nom-qui-n-existe-pas.invalid/", f"{http}/status/404",
            f"{http}/status/500", f"{http}/page/bon2"]
    proc, _ = run(program, "-o", tmp_path, write_list(tmp_path, urls))
    assert proc.returncode == 1
    errors = proc.stderr.strip().splitlines()
    assert len(errors) == 5, proc.stderr
    assert any("pas une url" in e for e in errors)
    assert any("/refuse" in e and "onnect" in e for e in errors)
    assert any(".invalid" in e and "resolve" in e.lower() for e in errors)
    assert any("404" in e for e in errors) and any("500" in e for e in errors)
    host = http.split("://")[1]
    assert (tmp_path / f"web_{host}_page_bon1").read_text() == "contenu de bon1\n"
    assert (tmp_path / f"web_{host}_page_bon2").read_text() == "contenu de bon2\n"


@pytest.mark.parametrize("program", ["web_sync_multiple", "web_async_multiple"])
def test_unwritable_output_and_unreadable_list(http, tmp_path, program):
    proc, _ = run(program, "-o", "/proc/nope", write_list(tmp_path, [f"{http}/page/x"]))
    assert proc.returncode == 1 and "cannot write /proc/nope/web_" in proc.stderr
    proc, _ = run(program, tmp_path / "missing.txt")
    assert proc.returncode == 1 and "cannot read" in proc.stderr


@pytest.mark.slow_under_asan
def test_async_is_at_least_four_times_faster(http, tmp_path):
    urls = [f"{http}/page/lent{i}?delay=300" for i in range(10)]
    proc, _ = run("mesure", "-o", tmp_path, write_list(tmp_path, urls))
    assert proc.returncode == 0, proc.stderr
    lines = dict(line.split(" : ") for line in proc.stdout.strip().splitlines())
    sync_s = float(lines["sync "].split()[0])
    async_s = float(lines["async"].split()[0])
    speedup = float(lines["speed-up"].rstrip("x"))
    assert sync_s >= 3.0
    assert async_s < 1.5
    assert speedup >= 4.0, proc.stdout
