"""The README's option tables say what each program's --help says: every
long option, short option and settings key in one is in the other. (Both
come from nowhere but the programs' settings tables, so a new setting
without its README row fails here.)"""

import re
import subprocess

import pytest

from conftest import CLIENT_BIN, ROOT, SERVER_BIN, TIMEOUT, VALGRIND_PREFIX, \
    assert_no_sanitizer_report, child_env

LONG = re.compile(r"(?<![\w-])--([a-z][a-z0-9-]*[a-z0-9])")
SHORT = re.compile(r"(?<![\w-])-([A-Za-z])(?![\w-])")
HELP_KEY = re.compile(r"\b([A-Z][A-Z0-9_]*[A-Z0-9])=")
README_KEY = re.compile(r"`([A-Z][A-Z0-9_]*[A-Z0-9])`")

PROGRAMS = {
    "server": (SERVER_BIN, "## chatroom-server"),
    "client": (CLIENT_BIN, "## chatroom (the client)"),
}


def help_options(binary):
    """(long options, short options, keys) of a program's --help. Options
    are read on the option lines only (a dash after the indent); keys are
    every KEY= of the text but the placeholder KEY itself."""
    proc = subprocess.run([*VALGRIND_PREFIX, str(binary), "--help"], capture_output=True,
                          text=True, env=child_env(), timeout=TIMEOUT)
    assert proc.returncode == 0, proc.stderr
    assert_no_sanitizer_report(proc.stderr, binary.name)
    lines = [line for line in proc.stdout.splitlines() if re.match(r"\s+-", line)]
    return ({o for line in lines for o in LONG.findall(line)},
            {o for line in lines for o in SHORT.findall(line)},
            set(HELP_KEY.findall(proc.stdout)) - {"KEY"})


def readme_options(heading):
    """(long options, short options, keys) of the first option table
    under a README heading: the options in its first column, the keys in
    its second."""
    text = (ROOT / "README.md").read_text()
    start = text.index(heading + "\n")
    end = text.find("\n## ", start + 1)
    section = text[start:end if end > 0 else len(text)].splitlines()
    first = next(i for i, line in enumerate(section) if line.startswith("| option | key |"))
    longs, shorts, keys = set(), set(), set()
    for line in section[first + 2:]:
        if not line.startswith("|"):
            break
        cells = re.split(r"(?<!\\)\|", line)[1:-1]
        longs |= set(LONG.findall(cells[0]))
        shorts |= set(SHORT.findall(cells[0]))
        keys |= set(README_KEY.findall(cells[1]))
    return longs, shorts, keys


@pytest.mark.parametrize("program", PROGRAMS)
def test_readme_option_table_matches_help(program):
    binary, heading = PROGRAMS[program]
    h_long, h_short, h_keys = help_options(binary)
    r_long, r_short, r_keys = readme_options(heading)
    assert {"help", "version", "port", "config"} <= h_long
    assert h_long - r_long == set(), f"in {program} --help, not in the README's table"
    assert r_long - h_long == set(), f"in the README's {program} table, not in --help"
    assert h_short == r_short, f"short options: --help {sorted(h_short)}, README {sorted(r_short)}"
    assert h_keys - r_keys == set(), f"{program} keys missing from the README's table"
    assert r_keys - h_keys == set(), f"README {program} keys --help lacks"


def test_every_key_in_help_is_a_key_of_the_program(tmp_path):
    """--help's keys are the file's keys: each is accepted in a settings
    file (the file's last, unknown key is the only one refused)."""
    for binary, _ in PROGRAMS.values():
        keys = help_options(binary)[2]
        assert {"HOST", "PORT", "LOG"} <= keys
        for key in sorted(keys):
            probe = tmp_path / "probe.conf"
            probe.write_text(f"{key}=1\nNOT_A_KEY_AT_ALL=1\n")
            proc = subprocess.run([*VALGRIND_PREFIX, str(binary), "-c", str(probe)],
                                  capture_output=True, text=True, env=child_env("en"),
                                  stdin=subprocess.DEVNULL, timeout=TIMEOUT)
            assert proc.returncode == 2, (key, proc.stderr)
            assert f"unknown key '{key}'" not in proc.stderr, proc.stderr
