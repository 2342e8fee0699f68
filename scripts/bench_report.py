#!/usr/bin/python3
"""Turns the RESULT lines of a `make bench` run into docs/benchmarks.md and
the chart of broadcast p95 against client count (gnuplot).

usage: bench_report.py RESULTS MARKDOWN PNG PINNING SECONDS REPEAT
"""

import datetime
import os
import platform
import subprocess
import sys
import tempfile


def parse(path):
    """{label: [ {key: value}, ... ]} in the order of the file."""
    runs = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            fields = dict(kv.split("=", 1) for kv in line.split()[1:] if "=" in kv)
            runs.setdefault(fields.pop("label"), []).append(fields)
    return runs


def last(runs, label, mode=None):
    for r in reversed(runs.get(label, [])):
        if mode is None or r.get("mode") == mode:
            return r
    return None


def median(runs, label, key):
    """The run whose `key` is the median of the scenario's repeated runs."""
    rs = sorted((r for r in runs.get(label, []) if num(r, key) is not None),
                key=lambda r: num(r, key))
    return rs[(len(rs) - 1) // 2] if rs else None


def num(r, key):
    try:
        return float(r[key]) if r is not None else None
    except (KeyError, ValueError):
        return None


def fmt(v, digits=0, unit=""):
    if v is None:
        return "n/a"
    if digits == 0:
        return f"{v:,.0f}{unit}".replace(",", " ")
    return f"{v:.{digits}f}{unit}"


def ratio(a, b):
    return a / b if a is not None and b else None


def command_output(*cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, check=False).stdout.strip()
    except OSError:
        return "unknown"


def machine():
    model = "unknown"
    for line in command_output("lscpu").splitlines():
        if line.startswith("Model name:"):
            model = line.split(":", 1)[1].strip()
    redis = command_output("redis-server", "--version").split(" sha=")[0]
    return model, os.cpu_count(), platform.release(), redis


def chart(runs, png):
    series = {}
    for target in ("chatroom", "redis"):
        series[target] = {int(r["n"]): float(r["p95_ms"])
                          for r in runs.get(f"step-{target}", []) if r.get("mode") == "rtt"}
    ns = sorted(set(series["chatroom"]) | set(series["redis"]))
    if not ns:
        return False
    with tempfile.NamedTemporaryFile("w", suffix=".dat", delete=False) as data:
        for n in ns:
            row = [series[t].get(n) for t in ("chatroom", "redis")]
            data.write(f"{n} " + " ".join("NaN" if v is None else f"{v:.3f}" for v in row) + "\n")
    script = f"""
set terminal pngcairo size 800,480 font ",10"
set output "{png}"
set title "Broadcast round trip, 4 at a time: p95 against clients in the room"
set xlabel "clients (N)"
set ylabel "p95 (ms)"
set logscale x 2
set grid
set key left top
plot "{data.name}" using 1:2 with linespoints title "chatroom (binary)", \\
     "{data.name}" using 1:3 with linespoints title "redis pub/sub"
"""
    done = subprocess.run(["gnuplot"], input=script, text=True, check=False).returncode == 0
    os.unlink(data.name)
    return done


def main():
    results, markdown, png, pinning, seconds, repeat = sys.argv[1:7]
    runs = parse(results)
    model, cores, kernel, redis = machine()

    tp = {k: median(runs, f"throughput-{k}", "deliveries_per_s")
          for k in ("chatroom", "text", "history", "coalesce", "redis")}
    w1 = {k: median(runs, f"window1-{k}", "deliveries_per_s")
          for k in ("chatroom", "coalesce", "redis")}
    rtt = {k: median(runs, f"rtt-{k}", "p95_ms") for k in ("chatroom", "redis")}
    step = {k: last(runs, f"step-{k}", "rtt-step") for k in ("chatroom", "redis")}
    idle = {k: last(runs, f"idle-{k}") for k in ("chatroom", "redis")}
    drawn = chart(runs, png)

    out = []
    w = out.append
    w("# Benchmarks\n")
    w("Made by `make bench` (scripts/bench.sh): chatroom-server and redis-server "
      "under the same load from `chatroom-bench`, in one run. Every figure below "
      "is from that run; rerun it to refresh this page.\n")
    w("## Machine\n")
    w(f"- CPU: {model}, {cores} cores; Linux {kernel}")
    w(f"- {pinning}; {seconds} s measured a run (after every client has joined); "
      f"each throughput and rtt scenario run {repeat} times, the servers taking turns, "
      "and the median run shown (by deliveries/s, or by p95 for rtt)")
    w(f"- {redis}, started with `--save '' --appendonly no`")
    w("- chatroom-server with `--history none --log none --flood-rate 0` "
      "(the history row: `--history FILE --fsync everysec`)")
    w(f"- run on {datetime.date.today().isoformat()}\n")

    w("## Fan-out throughput: N=1000 in one room, S=10 senders, 16 in flight each, 64 B\n")
    w("| server | deliveries/s | vs Redis | expected | received | lost | p50 ms | p95 ms "
      "| p99 ms | max ms | server CPU ns/delivery |")
    w("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    names = {"chatroom": "chatroom (binary)", "text": "chatroom (text)",
             "history": "chatroom (binary, history on disk)",
             "coalesce": "chatroom (binary, `--coalesce-us 500`)", "redis": "redis pub/sub"}
    redis_rate = num(tp["redis"], "deliveries_per_s")
    for k in ("chatroom", "text", "history", "coalesce", "redis"):
        r = tp[k]
        rate = num(r, "deliveries_per_s")
        w(f"| {names[k]} | {fmt(rate)} | {fmt(ratio(rate, redis_rate), 2, '×')} "
          f"| {fmt(num(r, 'expected'))} | {fmt(num(r, 'received'))} | {fmt(num(r, 'lost'))} "
          f"| {fmt(num(r, 'p50_ms'), 1)} | {fmt(num(r, 'p95_ms'), 1)} | {fmt(num(r, 'p99_ms'), 1)} "
          f"| {fmt(num(r, 'max_ms'), 1)} | {fmt(num(r, 'cpu_ns_per_delivery'))} |")
    w("")
    w("## Without pipelining: the same, 1 message in flight per sender\n")
    w("| server | deliveries/s | vs Redis | lost | p50 ms | p99 ms | server CPU ns/delivery |")
    w("|---|---:|---:|---:|---:|---:|---:|")
    for k in ("chatroom", "coalesce", "redis"):
        r = w1[k]
        rate = num(r, "deliveries_per_s")
        w(f"| {names[k]} | {fmt(rate)} "
          f"| {fmt(ratio(rate, num(w1['redis'], 'deliveries_per_s')), 2, '×')} "
          f"| {fmt(num(r, 'lost'))} | {fmt(num(r, 'p50_ms'), 1)} | {fmt(num(r, 'p99_ms'), 1)} "
          f"| {fmt(num(r, 'cpu_ns_per_delivery'))} |")
    w("")
    w("## Broadcast round trip: N=1000, 4 broadcasts at a time, each timed until all "
      "others have it\n")
    w("| server | broadcasts | min ms | p50 ms | p95 ms | p99 ms | max ms |")
    w("|---|---:|---:|---:|---:|---:|---:|")
    for k in ("chatroom", "redis"):
        r = rtt[k]
        w(f"| {names[k]} | {fmt(num(r, 'broadcasts'))} | {fmt(num(r, 'min_ms'), 1)} "
          f"| {fmt(num(r, 'p50_ms'), 1)} | {fmt(num(r, 'p95_ms'), 1)} | {fmt(num(r, 'p99_ms'), 1)} "
          f"| {fmt(num(r, 'max_ms'), 1)} |")
    w("")
    w("Grown by doubling N from 250 (`rtt --step`, 3 s a step) until p95 passes 250 ms "
      "or N reaches 19 000, the most one process here may hold:\n")
    w("| N | " + " | ".join(names[k] + " p95 ms" for k in ("chatroom", "redis")) + " |")
    w("|---:|---:|---:|")
    points = {k: {int(r["n"]): num(r, "p95_ms") for r in runs.get(f"step-{k}", [])
                  if r.get("mode") == "rtt"} for k in ("chatroom", "redis")}
    for n in sorted(set(points["chatroom"]) | set(points["redis"])):
        w(f"| {fmt(n)} | {fmt(points['chatroom'].get(n), 1)} | {fmt(points['redis'].get(n), 1)} |")
    w("")
    for k in ("chatroom", "redis"):
        w(f"- {names[k]}: largest N under 250 ms: {fmt(num(step[k], 'largest_n'))}")
    w("")
    if drawn:
        w(f"![broadcast p95 against N]({os.path.basename(png)})\n")
    w(f"## Idle connections: {fmt(num(idle['chatroom'], 'n'))} users who joined "
      "(rooms of 100) and say nothing, held 8 s\n")
    w("| server | server RSS per connection |")
    w("|---|---:|")
    for k in ("chatroom", "redis"):
        w(f"| {names[k]} | {fmt(num(idle[k], 'rss_bytes_per_conn'), 0, ' B')} |")
    w("")

    # Targets of issue 8, judged on the figures above.
    def judge(ok):
        return "n/a" if ok is None else ("met" if ok else "**not met**")

    def cmp(a, op, b):
        if a is None or b is None:
            return None
        return op(a, b)

    le = lambda a, b: a <= b  # noqa: E731
    ge = lambda a, b: a >= b  # noqa: E731
    rate_c = num(tp["chatroom"], "deliveries_per_s")
    cpu_c, cpu_r = num(tp["chatroom"], "cpu_ns_per_delivery"), num(tp["redis"], "cpu_ns_per_delivery")
    hist_cost = (None if rate_c is None or num(tp["history"], "deliveries_per_s") is None
                 else 1 - num(tp["history"], "deliveries_per_s") / rate_c)
    text_gap = (None if rate_c is None or num(tp["text"], "deliveries_per_s") is None
                else num(tp["text"], "deliveries_per_s") / rate_c - 1)
    lost = [num(r, "lost") for rs in runs.values() for r in rs
            if r.get("mode") == "throughput" and num(r, "lost") is not None]
    targets = [
        ("throughput ≥ 1.25× Redis", f"{fmt(ratio(rate_c, redis_rate), 2, '×')}",
         cmp(ratio(rate_c, redis_rate), ge, 1.25)),
        ("lost = 0 (every throughput run)", f"{len(lost)} runs, {fmt(sum(lost))} lost in all",
         all(v == 0 for v in lost) if lost else None),
        ("p99 latency no worse than Redis's", f"{fmt(num(tp['chatroom'], 'p99_ms'), 1)} vs "
         f"{fmt(num(tp['redis'], 'p99_ms'), 1)} ms",
         cmp(num(tp["chatroom"], "p99_ms"), le, num(tp["redis"], "p99_ms"))),
        ("server CPU per delivery ≤ 0.5× Redis's", f"{fmt(cpu_c)} vs {fmt(cpu_r)} ns "
         f"({fmt(ratio(cpu_c, cpu_r), 2, '×')})", cmp(ratio(cpu_c, cpu_r), le, 0.5)),
        ("window 1: deliveries/s ≥ Redis's",
         f"{fmt(ratio(num(w1['chatroom'], 'deliveries_per_s'), num(w1['redis'], 'deliveries_per_s')), 2, '×')}",
         cmp(num(w1["chatroom"], "deliveries_per_s"), ge, num(w1["redis"], "deliveries_per_s"))),
        ("rtt N=1000 S=4: p95 no worse than Redis's", f"{fmt(num(rtt['chatroom'], 'p95_ms'), 1)} vs "
         f"{fmt(num(rtt['redis'], 'p95_ms'), 1)} ms",
         cmp(num(rtt["chatroom"], "p95_ms"), le, num(rtt["redis"], "p95_ms"))),
        ("rtt --step: largest N under 250 ms ≥ Redis's", f"{fmt(num(step['chatroom'], 'largest_n'))} vs "
         f"{fmt(num(step['redis'], 'largest_n'))}",
         cmp(num(step["chatroom"], "largest_n"), ge, num(step["redis"], "largest_n"))),
        ("idle: ≤ 1 KiB per connection", fmt(num(idle["chatroom"], "rss_bytes_per_conn"), 0, " B"),
         cmp(num(idle["chatroom"], "rss_bytes_per_conn"), le, 1024)),
        ("history on disk costs ≤ 10 % of throughput",
         fmt(None if hist_cost is None else 100 * hist_cost, 1, " %"), cmp(hist_cost, le, 0.10)),
        ("text protocol within 20 % of the binary one (or faster)",
         fmt(None if text_gap is None else 100 * text_gap, 1, " %"), cmp(text_gap, ge, -0.20)),
    ]
    w("## Targets\n")
    w("| target | this run | |")
    w("|---|---|---|")
    for name, value, ok in targets:
        w(f"| {name} | {value} | {judge(ok)} |")
    w("")
    notes = os.path.join(os.path.dirname(os.path.abspath(__file__)), "bench_notes.md")
    with open(notes, encoding="utf-8") as f:
        w(f.read())
    with open(markdown, "w", encoding="utf-8") as f:
        f.write("\n".join(out))


if __name__ == "__main__":
    main()
