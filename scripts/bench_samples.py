#!/usr/bin/env python3
"""Where a latency tail comes from, from `chatroom-bench throughput
--samples FILE` (a line per sample: receiver, sender, send time in ns since
the start, latency in ns).

Each sample's latency is split into its message's part (the mean over the
receivers that sampled that message: when it was read and how long the
server's turn was) and the receiver's steady offset (its mean remainder
over the run: its place in the server's order of writes). Printed: the
share of the variance each explains, the offset by tenth of the receivers
(by index, the order they joined), whether the offsets hold from the first
half of the run to the second, the mean latency per 10 ms of send time (a
stall shows as one slice far above the rest) and the mean latency of each
sender's messages (with the default --ack probe, a sender whose probe the
server writes to early has more in flight and waits longer).

usage: scripts/bench_samples.py FILE...
"""
import collections
import statistics
import sys


def pct(values, q):
    return values[int(q * (len(values) - 1))]


def mean(values):
    return sum(values) / len(values)


def analyse(path):
    rec, snd, sent, lat = [], [], [], []
    with open(path) as f:
        for line in f:
            r, s, t, ns = line.split()
            rec.append(int(r))
            snd.append(int(s))
            sent.append(int(t))
            lat.append(int(ns) / 1e6)
    n = len(lat)
    if n < 2:
        print(f"== {path}: too few samples")
        return
    ordered = sorted(lat)
    print(f"== {path}: {n} samples, p50 {pct(ordered, .5):.1f} p95 {pct(ordered, .95):.1f} "
          f"p99 {pct(ordered, .99):.1f} ms")
    by_msg = collections.defaultdict(list)
    for i in range(n):
        by_msg[(snd[i], sent[i])].append(lat[i])
    msg_mean = {k: mean(v) for k, v in by_msg.items()}
    rest = [lat[i] - msg_mean[(snd[i], sent[i])] for i in range(n)]
    by_rec = collections.defaultdict(list)
    for i in range(n):
        by_rec[rec[i]].append(rest[i])
    offset = {k: mean(v) for k, v in by_rec.items()}
    total = statistics.pvariance(lat)
    v_msg = statistics.pvariance([msg_mean[(snd[i], sent[i])] for i in range(n)])
    v_rec = statistics.pvariance([offset[rec[i]] for i in range(n)])
    print(f"variance {total:.1f} ms²: between messages {100 * v_msg / total:.0f} %, "
          f"receiver's steady offset {100 * v_rec / total:.0f} %, "
          f"rest {100 * (total - v_msg - v_rec) / total:.0f} %")
    top = max(offset) + 1
    tenths = []
    for d in range(10):
        v = [offset[k] for k in offset if d * top // 10 <= k < (d + 1) * top // 10]
        tenths.append(f"{mean(v):+.1f}" if v else "-")
    print("receiver offset by tenth of the receivers (ms):", " ".join(tenths))
    half = sorted(sent)[n // 2]
    halves = (collections.defaultdict(list), collections.defaultdict(list))
    for i in range(n):
        halves[sent[i] >= half][rec[i]].append(rest[i])
    both = [k for k in halves[0] if k in halves[1]]
    if len(both) > 2:
        first = [mean(halves[0][k]) for k in both]
        second = [mean(halves[1][k]) for k in both]
        print(f"receiver offsets, first half against second: correlation "
              f"{statistics.correlation(first, second):.2f}")
    slices = collections.defaultdict(list)
    for i in range(n):
        slices[sent[i] // 10_000_000].append(lat[i])
    means = sorted(mean(v) for v in slices.values())
    print(f"mean latency per 10 ms of send time: min {means[0]:.1f} p50 {pct(means, .5):.1f} "
          f"p99 {pct(means, .99):.1f} max {means[-1]:.1f} ms")
    by_sender = collections.defaultdict(list)
    for (s, _), v in msg_mean.items():
        by_sender[s].append(v)
    print("mean latency by sender (ms):",
          " ".join(f"{s}:{mean(v):.1f}" for s, v in sorted(by_sender.items())))


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    for path in sys.argv[1:]:
        analyse(path)


if __name__ == "__main__":
    main()
