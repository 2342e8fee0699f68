"""chatroom-bench's tools for reading a latency tail (issue 22): --ack all
(a message leaves its sender's window once every receiver has it, so no
server's order of writes decides how much is in flight) and --samples (the
raw samples, each with its receiver, sender and send time)."""

import subprocess

from conftest import BUILD, SANITIZER_ENV, VALGRIND_PREFIX, assert_no_sanitizer_report

BENCH_BIN = BUILD / "chatroom-bench"


def bench(*args):
    proc = subprocess.run([*VALGRIND_PREFIX, str(BENCH_BIN), *map(str, args)],
                          capture_output=True, text=True, timeout=120, env={**SANITIZER_ENV})
    out = proc.stdout + proc.stderr
    assert_no_sanitizer_report(out, "chatroom-bench")
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    fields = dict(kv.split("=", 1) for kv in lines[-1].split()[1:]) if lines else {}
    return proc.returncode, fields, out


def test_ack_all_loses_nothing_and_samples_name_their_receiver_and_sender(start_server,
                                                                          tmp_path):
    srv = start_server("--flood-rate", "0")
    n, s, window = 30, 3, 4
    publishers = {i * (n // s) for i in range(s)}  # the binary target's: subscribers too
    for target in ("chatroom", "chatroom-text"):
        path = tmp_path / f"{target}.samples"
        code, r, out = bench("throughput", "-t", target, "-p", srv.port, "-n", n, "-s", s,
                             "-w", window, "-d", 1, "--ack", "all", "--samples", path)
        assert code == 0, out
        assert int(r["received"]) == int(r["expected"]) > 0 and r["lost"] == "0", out
        rows = [list(map(int, line.split())) for line in path.read_text().splitlines()]
        # One delivery in eight is sampled, while the clock runs.
        assert 0 < len(rows) <= int(r["received"]) // 8, (len(rows), out)
        latencies = sorted(row[3] for row in rows)
        p99 = latencies[int(0.99 * (len(latencies) - 1))] / 1e6
        assert abs(p99 - float(r["p99_ms"])) < 0.001, out
        for receiver, sender, sent_ns, latency_ns in rows:
            assert 0 <= receiver < n and sender in publishers and receiver != sender, rows[:3]
            assert sent_ns >= 0 and latency_ns > 0


def overtaken(rows):
    """Messages sent before an earlier message of the same sender had
    reached one of its sampled receivers."""
    count = 0
    for sender in {row[1] for row in rows}:
        mine = sorted((sent, sent + latency) for _, s, sent, latency in rows if s == sender)
        reached = 0  # the latest arrival among its earlier messages
        for i, (sent, arrival) in enumerate(mine):
            if i > 0 and sent > mine[i - 1][0] and sent < reached:
                count += 1
            reached = max(reached, arrival)
    return count


def test_with_ack_all_a_sender_waits_until_every_receiver_has_heard(start_server, tmp_path):
    srv = start_server("--flood-rate", "0")
    path = tmp_path / "w1.samples"
    code, r, out = bench("throughput", "-p", srv.port, "-n", 30, "-s", 3, "-w", 1, "-d", 1,
                         "--ack", "all", "--samples", path)
    assert code == 0 and r["lost"] == "0", out
    rows = [list(map(int, line.split())) for line in path.read_text().splitlines()]
    assert len(rows) > 100, out
    assert overtaken(rows) == 0


def test_a_bad_ack_is_refused():
    code, _, out = bench("throughput", "--ack", "some")
    assert code == 2 and "--ack is probe or all" in out, out
