"""Settings: option > environment > file > default, for both programs, and
clear errors (naming the file and line) with exit status 2."""

import itertools
import re
import signal
import socket
import subprocess

import pytest

from conftest import CLIENT_BIN, SERVER_BIN, TIMEOUT, child_env

SOURCES = ("option", "env", "file")
# Every subset of the three sources, the empty one meaning "default only".
COMBINATIONS = [c for n in range(4) for c in itertools.combinations(SOURCES, n)]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def arrange(tmp_path, host_sources, port_sources, values, option_flags=("-a", "-p")):
    """Puts each value where the combination says; returns (args, env)."""
    args, env_vars, lines = [], {}, []
    for key, sources, flag in (("HOST", host_sources, option_flags[0]),
                               ("PORT", port_sources, option_flags[1])):
        for source in sources:
            value = values[key][source]
            if source == "option":
                args += [flag, value]
            elif source == "env":
                env_vars[f"CHATROOM_{key}"] = value
            else:
                lines.append(f"{key}={value}")
    conf = tmp_path / "settings.conf"
    conf.write_text("# written by the test\n" + "\n".join(lines) + "\n")
    env = child_env()
    for k in list(env):
        if k.startswith("CHATROOM_") and k not in ("CHATROOM_BUILD", "CHATROOM_SANITIZED",
                                                   "CHATROOM_LOG"):
            del env[k]
    env.update(env_vars)
    env["XDG_CONFIG_HOME"] = str(tmp_path / "no-such-config")
    return args + ["-c", str(conf)], env


def winner(sources, values, default):
    for source in SOURCES:  # highest precedence first
        if source in sources:
            return values[source]
    return default


def precedence_case(tmp_path, host_sources, port_sources):
    """Arguments and environment for one combination, and the host and port
    that must win."""
    ports = {s: str(free_port()) for s in SOURCES}
    values = {"HOST": {"option": "127.0.0.2", "env": "127.0.0.3", "file": "127.0.0.4"},
              "PORT": ports}
    args, env = arrange(tmp_path, host_sources, port_sources, values)
    host = winner(host_sources, values["HOST"], "127.0.0.1")
    port = winner(port_sources, values["PORT"], "8888")
    return args, env, host, port


@pytest.mark.parametrize("host_sources", COMBINATIONS, ids=lambda c: "+".join(c) or "default")
@pytest.mark.parametrize("port_sources", COMBINATIONS, ids=lambda c: "+".join(c) or "default")
def test_client_precedence(tmp_path, host_sources, port_sources):
    args, env, host, port = precedence_case(tmp_path, host_sources, port_sources)
    proc = subprocess.run([str(CLIENT_BIN), "-n", "x", *args], env=env, capture_output=True,
                          text=True, timeout=TIMEOUT, stdin=subprocess.DEVNULL)
    if port == "8888" and proc.returncode == 2:
        pytest.skip("something listens on the default port 8888 here")
    assert f"impossible de joindre {host}:{port} :" in proc.stderr
    assert proc.returncode == 1


@pytest.mark.parametrize("host_sources", COMBINATIONS, ids=lambda c: "+".join(c) or "default")
@pytest.mark.parametrize("port_sources", COMBINATIONS, ids=lambda c: "+".join(c) or "default")
def test_server_precedence(tmp_path, host_sources, port_sources):
    args, env, host, port = precedence_case(tmp_path, host_sources, port_sources)
    proc = subprocess.Popen([str(SERVER_BIN), "--history", "none", "--log", "none", *args],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, stdin=subprocess.DEVNULL)
    try:
        first = ""
        while "listen" not in first:
            line = proc.stdout.readline()
            if not line:
                break
            first = line
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=TIMEOUT)
    # The default port may be taken on a developer's machine; the address
    # and port the server chose show either way.
    assert (f"listening on {host}:{port}" in first
            or f"cannot listen on {host}:{port}" in first), first


@pytest.mark.parametrize("binary", [SERVER_BIN, CLIENT_BIN], ids=["server", "client"])
@pytest.mark.parametrize("content, message", [
    ("HOST=127.0.0.1\nPORT=70000\n", r"settings\.conf:2: PORT '70000': invalid port"),
    ("# comment\n\nPORTE=9999\n", r"settings\.conf:3: unknown key 'PORTE'"),
    ("just words\n", r"settings\.conf:1: not a KEY=VALUE line"),
    ("[section]\nPORT=1\n", r"settings\.conf:2: sections are not used \(found \[section\]\)"),
])
def test_bad_file_is_a_clear_error(tmp_path, binary, content, message):
    conf = tmp_path / "settings.conf"
    conf.write_text(content)
    # The settings' own words (English; the client's French is test_i18n's).
    proc = subprocess.run([str(binary), "-c", str(conf)], capture_output=True, text=True,
                          timeout=TIMEOUT, stdin=subprocess.DEVNULL, env=child_env("en"))
    assert proc.returncode == 2
    assert re.search(message, proc.stderr), proc.stderr


@pytest.mark.parametrize("binary", [SERVER_BIN, CLIENT_BIN], ids=["server", "client"])
def test_unreadable_file_and_bad_environment(tmp_path, binary):
    proc = subprocess.run([str(binary), "-c", str(tmp_path / "missing.conf")],
                          capture_output=True, text=True, timeout=TIMEOUT,
                          stdin=subprocess.DEVNULL, env=child_env("en"))
    assert proc.returncode == 2
    # (The system's reason comes in the user's language.)
    assert f"cannot read {tmp_path / 'missing.conf'}: " in proc.stderr

    env = child_env("en")
    env["CHATROOM_PORT"] = "soixante"
    proc = subprocess.run([str(binary)], capture_output=True, text=True, timeout=TIMEOUT,
                          stdin=subprocess.DEVNULL, env=env)
    assert proc.returncode == 2
    assert "CHATROOM_PORT 'soixante': invalid port" in proc.stderr


@pytest.mark.parametrize("binary, name", [(SERVER_BIN, "chatroom-server"), (CLIENT_BIN, "chatroom")])
def test_help_and_version(binary, name):
    out = subprocess.run([str(binary), "--help"], capture_output=True, text=True, timeout=TIMEOUT)
    assert out.returncode == 0 and "--config FILE" in out.stdout and "--port PORT" in out.stdout
    out = subprocess.run([str(binary), "--version"], capture_output=True, text=True, timeout=TIMEOUT)
    assert out.returncode == 0 and re.fullmatch(rf"{name} \d+\.\d+\.\d+\n", out.stdout)


def test_client_nick_from_file(tmp_path, server):
    conf = tmp_path / "client.conf"
    conf.write_text(f"HOST=127.0.0.1\nPORT={server.port}\nNICK=depuis_fichier\n")
    watcher = server.peer()
    watcher.join("w")
    env = child_env()
    env.pop("CHATROOM_NICK", None)
    proc = subprocess.Popen([str(CLIENT_BIN), "-c", str(conf)], env=env, stdin=subprocess.PIPE,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    watcher.expect("Annonce : depuis_fichier a rejoint la chatroom")
    proc.stdin.close()
    assert proc.wait(timeout=TIMEOUT) == 0


def test_default_user_config_location(tmp_path, server):
    (tmp_path / "chatroom").mkdir()
    (tmp_path / "chatroom" / "client.conf").write_text(f"PORT={server.port}\nNICK=xdg\n")
    watcher = server.peer()
    watcher.join("w")
    env = child_env()
    env["XDG_CONFIG_HOME"] = str(tmp_path)
    proc = subprocess.Popen([str(CLIENT_BIN)], env=env, stdin=subprocess.PIPE,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    watcher.expect("Annonce : xdg a rejoint la chatroom")
    proc.stdin.close()
    assert proc.wait(timeout=TIMEOUT) == 0


@pytest.mark.parametrize("value", ["inf", "nan", "infinity", "-inf", "1e999"])
@pytest.mark.parametrize("key", ["FLOOD_RATE", "FLOOD_BURST"])
def test_flood_limits_must_be_finite(tmp_path, key, value):
    # strtod reads "inf": a limit of inf would quietly be no limit at all.
    option = "--" + key.lower().replace("_", "-")
    for args, origin in (([option, value], option),
                         (["-c", str(tmp_path / "s.conf")], "s.conf:1: " + key)):
        (tmp_path / "s.conf").write_text(f"{key}={value}\n")
        proc = subprocess.Popen([str(SERVER_BIN), "-p", "0", "--history", "none",
                                 "--log", "none", *args], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True,
                                stdin=subprocess.DEVNULL, env=child_env())
        try:
            out, err = proc.communicate(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGTERM)
            out, err = proc.communicate(timeout=TIMEOUT)
            raise AssertionError(f"{origin} {value} accepted:\n{out}")
        assert proc.returncode == 2, out + err
        assert f"{origin} '{value}': invalid number" in err, err


@pytest.mark.parametrize("option, what", [("--history", "history"), ("--log", "log")])
def test_a_file_that_cannot_be_opened_stops_the_start_and_is_named(tmp_path, option, what):
    """Issue 17 item 8: the history's failure blamed the port, and a bad
    --log went on without a log. Both files are asked for: both stop the
    start, saying which file and why, and nothing is left listening."""
    missing = tmp_path / "no" / "such" / "dir" / "f.jsonl"
    others = {"--history": ["--log", "none"], "--log": ["--history", "none"]}[option]
    proc = subprocess.run([str(SERVER_BIN), "-p", "0", option, str(missing), *others],
                          capture_output=True, text=True, timeout=TIMEOUT,
                          stdin=subprocess.DEVNULL, env=child_env())
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert (f"chatroom-server: cannot open the {what} file {missing}: "
            "no such file or directory") in proc.stderr, proc.stderr
    assert "listen" not in proc.stderr + proc.stdout
