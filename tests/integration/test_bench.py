"""chatroom-bench: honest about what it measures, and working against the
real server on every mode. The speed figures themselves come from
`make bench` (docs/benchmarks.md), never from a timed test."""

import asyncio
import re
import subprocess
import threading

from conftest import BUILD, SANITIZER_ENV, TIMEOUT, VALGRIND_PREFIX, assert_no_sanitizer_report

BENCH_BIN = BUILD / "chatroom-bench"


def bench(*args):
    """Runs the generator; returns (exit code, RESULT fields, whole output)."""
    proc = subprocess.run([*VALGRIND_PREFIX, str(BENCH_BIN), *map(str, args)],
                          capture_output=True, text=True, timeout=120,
                          env={**SANITIZER_ENV})
    out = proc.stdout + proc.stderr
    assert_no_sanitizer_report(out, "chatroom-bench")
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    fields = dict(kv.split("=", 1) for kv in lines[-1].split()[1:]) if lines else {}
    return proc.returncode, fields, out


class DroppingServer:
    """A text-protocol relay that loses every 100th delivery on purpose."""

    def __init__(self):
        self.deliveries = 0
        self.dropped = 0
        self.writers = {}
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        assert self.ready.wait(TIMEOUT)

    def _run(self):
        asyncio.set_event_loop(self.loop)
        self.server = self.loop.run_until_complete(
            asyncio.start_server(self._peer, "127.0.0.1", 0))
        self.port = self.server.sockets[0].getsockname()[1]
        self.ready.set()
        self.loop.run_forever()

    async def _peer(self, reader, writer):
        pseudo = None
        try:
            while line := await reader.readline():
                text = line.decode().rstrip("\n")
                if pseudo is None and text.startswith("Hello|"):
                    pseudo = text[6:]
                    self.writers[writer] = pseudo
                    continue
                for other in list(self.writers):
                    if other is writer:
                        continue
                    self.deliveries += 1
                    if self.deliveries % 100 == 0:
                        self.dropped += 1
                        continue
                    other.write(f"{pseudo} a dit : {text}\n".encode())
        finally:
            self.writers.pop(writer, None)
            writer.close()

    def stop(self):
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(TIMEOUT)


def test_a_server_that_loses_deliveries_is_reported_with_the_right_count():
    srv = DroppingServer()
    try:
        code, r, out = bench("throughput", "-t", "chatroom-text", "-p", srv.port,
                             "-n", 20, "-s", 2, "-w", 4, "-d", 1)
    finally:
        srv.stop()
    assert srv.dropped > 10, out
    assert int(r["lost"]) == srv.dropped, out
    assert int(r["expected"]) - int(r["received"]) == srv.dropped
    assert code == 3, out  # lost deliveries fail the run


def test_throughput_against_the_server_loses_nothing(start_server):
    srv = start_server("--flood-rate", "0")
    for target in ("chatroom", "chatroom-text"):
        code, r, out = bench("throughput", "-t", target, "-p", srv.port, "-n", 30, "-s", 3,
                             "-d", 1, "-P", srv.proc.pid)
        assert code == 0, out
        assert int(r["received"]) == int(r["expected"]) > 0 and r["lost"] == "0", out
        assert float(r["p50_ms"]) <= float(r["p99_ms"]) <= float(r["max_ms"]), out
        # The server did the work: its CPU time is seen per delivery.
        assert float(r["cpu_ns_per_delivery"]) > 0, out
        assert re.search(rf"^throughput +{target} +30 +3 ", out, re.M), out


def test_rtt_times_broadcasts_and_steps_up_the_room(start_server):
    srv = start_server("--flood-rate", "0")
    code, r, out = bench("rtt", "-p", srv.port, "-n", 20, "-s", 2, "-d", 1)
    assert code == 0, out
    assert int(r["broadcasts"]) > 0, out
    assert 0 < float(r["min_ms"]) <= float(r["p95_ms"]) <= float(r["max_ms"]), out
    code, r, out = bench("rtt", "--step", "-p", srv.port, "-n", 10, "-s", 2, "-d", 0.5,
                         "--max-clients", 40)
    assert code == 0, out
    steps = re.findall(r"^RESULT mode=rtt target=chatroom n=(\d+) ", out, re.M)
    assert steps == ["10", "20", "40"], out
    assert r["mode"] == "rtt-step" and r["largest_n"] == "40", out


def test_idle_reports_the_server_memory_per_connection(start_server):
    srv = start_server("--flood-rate", "0")
    code, r, out = bench("idle", "-p", srv.port, "-n", 200, "-d", 1, "-P", srv.proc.pid)
    assert code == 0, out
    assert r["n"] == "200" and float(r["rss_bytes_per_conn"]) > 0, out
    srv.wait_log(r"b199")  # they did join, each under its own pseudo


def test_bad_arguments_are_refused_with_usage():
    for args in (["throughput", "-t", "nosuch"], ["fly"], ["idle", "--step"], []):
        code, _, out = bench(*args)
        assert code == 2 and "usage: chatroom-bench" in out, (args, out)
