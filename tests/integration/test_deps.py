"""scripts/deps.sh by group: `make run` installs what building and running
need and nothing more; the test tools come with `make test` (client-ux
review, section 3: clang, valgrind and the rest made a first `make run`
download about 100 MB)."""

import os
import subprocess

from conftest import ROOT

TEST_TOOLS = {"clang", "libclang-rt-14-dev", "valgrind", "tmux", "python3-pytest",
              "netcat-openbsd"}


def group(name=None):
    proc = subprocess.run(["bash", str(ROOT / "scripts/deps.sh"), *([name] if name else [])],
                          capture_output=True, text=True, timeout=60,
                          env={**os.environ, "DEPS_LIST": "1"})
    assert proc.returncode == 0, proc.stderr
    packages = proc.stdout.split()
    assert packages, "deps.sh printed no package (DEPS_LIST=1)"
    return set(packages)


def make_dry_run(target):
    proc = subprocess.run(["make", "-n", "-C", str(ROOT), target], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return [line.strip() for line in proc.stdout.splitlines() if "deps.sh" in line]


def test_the_run_group_builds_and_runs_without_the_test_tools():
    run = group()
    assert {"libuv1-dev", "libncurses-dev", "cmake", "gettext"} <= run
    assert run & TEST_TOOLS == set(), f"make run would install {sorted(run & TEST_TOOLS)}"


def test_the_test_group_adds_the_test_tools():
    assert group() | TEST_TOOLS <= group("test")
    assert group() <= group("bench") and group("test") <= group("package")


def test_make_run_asks_for_the_run_group_and_make_test_for_the_test_group():
    assert make_dry_run("run") == ["bash scripts/deps.sh"]
    assert "bash scripts/deps.sh test" in make_dry_run("test")


def test_an_unknown_group_is_refused():
    proc = subprocess.run(["bash", str(ROOT / "scripts/deps.sh"), "tset"], capture_output=True,
                          text=True, timeout=60, env={**os.environ, "DEPS_LIST": "1"})
    assert proc.returncode == 2 and "unknown group 'tset'" in proc.stderr
