#!/usr/bin/env bash
# The cost of the Redis bus (issue 19): the same fan-out load from
# chatroom-bench against one node standalone, one node with --redis, and
# three nodes with --redis (the connections spread over them). Prints one
# line per case: deliveries/s, p99, and the CPU time of every server
# process (the nodes, and redis-server) per delivery.
#
# Everything listens on 127.0.0.1 on free ports; what is started here is
# stopped by PID on exit. Servers share core 0 and the generator has core 1
# when there are two cores: three nodes then show the cost of the bus, not
# a speed-up.
#   N, S, SECS   subscribers (300), senders (10), measured seconds (5)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
N=${N:-300}
S=${S:-10}
SECS=${SECS:-5}
TMP=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$TMP"
}
trap cleanup EXIT
if [ "$(nproc)" -ge 2 ]; then SRV=(taskset -c 0); GEN=(taskset -c 1); else SRV=(); GEN=(); fi

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
ticks() { # utime+stime of the PIDs, in clock ticks
  local t=0
  for pid in "$@"; do
    t=$((t + $(awk '{print $14 + $15}' "/proc/$pid/stat")))
  done
  echo "$t"
}

RPORT=$(free_port)
"${SRV[@]}" redis-server --port "$RPORT" --bind 127.0.0.1 --save "" --appendonly no \
  --dir "$TMP" >"$TMP/redis.log" 2>&1 &
RPID=$!
pids+=("$RPID")
for _ in $(seq 100); do redis-cli -p "$RPORT" ping >/dev/null 2>&1 && break; sleep 0.05; done

node() { # starts a node (extra args), sets NODE_PID and NODE_PORT
  local log="$TMP/node-$RANDOM.log"
  "${SRV[@]}" "$BUILD/chatroom-server" -a 127.0.0.1 -p 0 --history none --log none -q \
    --flood-rate 0 "$@" >"$log" 2>&1 &
  NODE_PID=$!
  pids+=("$NODE_PID")
  for _ in $(seq 200); do
    NODE_PORT=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$log" | head -1)
    [ -n "$NODE_PORT" ] && break
    sleep 0.05
  done
}

run() { # case name, bench args, then the PIDs to charge
  local name=$1 args=$2
  shift 2
  local before after
  before=$(ticks "$@")
  local out
  out=$("${GEN[@]}" "$BUILD/chatroom-bench" throughput $args -n "$N" -s "$S" -d "$SECS" | grep '^RESULT')
  after=$(ticks "$@")
  local deliv p99 received
  deliv=$(sed -n 's/.*deliveries_per_s=\([0-9.]*\).*/\1/p' <<<"$out")
  p99=$(sed -n 's/.*p99_ms=\([0-9.]*\).*/\1/p' <<<"$out")
  received=$(sed -n 's/.*received=\([0-9]*\).*/\1/p' <<<"$out")
  local hz
  hz=$(getconf CLK_TCK)
  # The CPU counted covers connecting too: a little more than the measured seconds.
  python3 -c "import sys; t=($after-$before)/$hz; print(f'| $name | {float(\"$deliv\"):.0f} | {float(\"$p99\"):.2f} | {t*1e9/max(1,int(\"$received\")):.0f} |')"
}

echo "| case | deliveries/s | p99 ms | server CPU ns/delivery (nodes + redis) |"
echo "|---|---|---|---|"
node
run "one node, standalone" "-p $NODE_PORT" "$NODE_PID"
kill "$NODE_PID"
node --redis "redis://127.0.0.1:$RPORT"
run "one node, with Redis" "-p $NODE_PORT" "$NODE_PID" "$RPID"
kill "$NODE_PID"
node --redis "redis://127.0.0.1:$RPORT"; A=$NODE_PID; AP=$NODE_PORT
node --redis "redis://127.0.0.1:$RPORT"; B=$NODE_PID; BP=$NODE_PORT
node --redis "redis://127.0.0.1:$RPORT"; C=$NODE_PID; CP=$NODE_PORT
run "three nodes, with Redis" "-p $AP -N $AP,$BP,$CP" "$A" "$B" "$C" "$RPID"
