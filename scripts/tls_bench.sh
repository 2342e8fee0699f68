#!/usr/bin/env bash
# The cost of TLS (issue 20) for docs/benchmarks.md: one chatroom-server with
# a plain and a TLS port (a self-signed P-256 certificate from
# scripts/tls-selfsigned.sh), and chatroom-bench throughput on each port in
# turn under the same load, --tls verifying against that certificate.
#   N S W SECS   subscribers, senders, messages in flight each, seconds
#                (default 100 10 16 5: many lines a flush), run again with
#                W=1 (one line at a time: a record per line)
# Server on core 0, generator on core 1 when there are two, as make bench.
set -euo pipefail
BUILD=${BUILD:-build}
N=${N:-100} S=${S:-10} W=${W:-16} SECS=${SECS:-5}
OUT=$(mktemp -d)
trap 'kill "${PID:-}" 2>/dev/null || true; rm -rf "$OUT"' EXIT
bash scripts/tls-selfsigned.sh "$OUT" 127.0.0.1 >/dev/null
ON_SERVER=() ON_GEN=()
if [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null; then
  ON_SERVER=(taskset -c 0) ON_GEN=(taskset -c 1)
fi
"${ON_SERVER[@]}" "$BUILD/chatroom-server" -p 0 --tls-port 0 --tls-cert "$OUT/cert.pem" \
  --tls-key "$OUT/key.pem" -q --log none --flood-rate 0 >"$OUT/server.log" 2>&1 &
PID=$!
for _ in $(seq 50); do
  grep -q "listening for TLS" "$OUT/server.log" && break
  sleep 0.1
done
PLAIN=$(grep -oP 'listening on 127\.0\.0\.1:\K\d+' "$OUT/server.log")
TLS=$(grep -oP 'listening for TLS on 127\.0\.0\.1:\K\d+' "$OUT/server.log")
for w in "$W" 1; do
  "${ON_GEN[@]}" "$BUILD/chatroom-bench" throughput -p "$PLAIN" -n "$N" -s "$S" -w "$w" \
    -d "$SECS" -P "$PID" | grep RESULT | sed 's/^RESULT/plain/'
  "${ON_GEN[@]}" "$BUILD/chatroom-bench" throughput -p "$TLS" --tls --ca "$OUT/cert.pem" \
    -n "$N" -s "$S" -w "$w" -d "$SECS" -P "$PID" | grep RESULT | sed 's/^RESULT/tls/'
done
echo "server RSS: $(grep VmRSS /proc/$PID/status)"
