#!/usr/bin/env bash
# make bench: chatroom-server and redis-server side by side under the same
# load from chatroom-bench, then docs/benchmarks.md and docs/bench-rtt.png.
#
# Servers run on core 0 and the generator on core 1 when there are two
# cores or more. Everything listens on 127.0.0.1, on free ports; every
# server started here is stopped by PID on exit. The generator and the
# server are separate processes, each holding its own descriptors.
#   BENCH_SECONDS   measured seconds of each throughput and rtt run (5)
#   BENCH_REPEAT    runs of each throughput and rtt scenario, servers taking
#                   turns; the report keeps the median (3)
#   BENCH_IDLE_N    idle connections of the large idle run (19000: one
#                   process may hold 20000 files)
#   BENCH_BEFORE    another chatroom-server (say, main's, built elsewhere):
#                   it takes its turn in the main scenarios, as "before"
#   BENCH_QUICK=1   everything, briefly (1 s runs, once, 4000 idle): to
#                   check the script, not to quote
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD=${BUILD:-build}
SECS=${BENCH_SECONDS:-5}
REPEAT=${BENCH_REPEAT:-3}
IDLE_N=${BENCH_IDLE_N:-19000}
IDLE_SECS=8
STEP_MAX=19000
if [ "${BENCH_QUICK:-0}" = 1 ]; then
  SECS=${BENCH_SECONDS:-1}
  REPEAT=${BENCH_REPEAT:-1}
  IDLE_N=${BENCH_IDLE_N:-4000}
  IDLE_SECS=2
  STEP_MAX=2000
fi
BEFORE=${BENCH_BEFORE:-}
OUT=$BUILD/bench
BENCH=$BUILD/chatroom-bench
SERVER=$BUILD/chatroom-server
mkdir -p "$OUT"
rm -f "$OUT"/results.txt "$OUT"/run.log

if [ "$(nproc)" -ge 2 ]; then
  ON_SERVER_CORE=(taskset -c 0)
  ON_BENCH_CORE=(taskset -c 1)
  PINNING="servers on core 0, generator on core 1 (taskset)"
else
  ON_SERVER_CORE=()
  ON_BENCH_CORE=()
  PINNING="one core: servers and generator share it"
fi

pids=()
cleanup() {
  for pid in "${pids[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${pids[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
}
trap cleanup EXIT

free_port() {
  /usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_for_port() {
  for _ in $(seq 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then
      return 0
    fi
    sleep 0.05
  done
  echo "bench: nothing listens on port $1" >&2
  exit 1
}

stop() {
  kill "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}

# start_chatroom [server options...]: sets CHAT_PID and CHAT_PORT.
start_chatroom() {
  CHAT_PORT=$(free_port)
  "${ON_SERVER_CORE[@]}" "${CHAT_SERVER:-$SERVER}" -p "$CHAT_PORT" -q --log none --flood-rate 0 \
    --max-connections 19900 "$@" >>"$OUT/server.log" 2>&1 &
  CHAT_PID=$!
  pids+=("$CHAT_PID")
  wait_for_port "$CHAT_PORT"
}

start_redis() {
  REDIS_PORT=$(free_port)
  "${ON_SERVER_CORE[@]}" redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' \
    --appendonly no --protected-mode no --maxclients 19900 --loglevel warning \
    >>"$OUT/redis.log" 2>&1 &
  REDIS_PID=$!
  pids+=("$REDIS_PID")
  wait_for_port "$REDIS_PORT"
}

# run LABEL bench-arguments...: one generator run, its RESULT lines kept.
run() {
  local label=$1
  shift
  echo "== $label: chatroom-bench $*" | tee -a "$OUT/run.log"
  "${ON_BENCH_CORE[@]}" "$BENCH" "$@" 2>&1 | tee -a "$OUT/run.log" |
    sed -n "s/^RESULT /RESULT label=$label /p" >>"$OUT/results.txt" || true
}

# paths LABEL MODE PORT PID: one run of scripts/bench_paths.py, its RESULT kept.
paths() {
  local label=$1
  shift
  echo "== $label: bench_paths.py $*" | tee -a "$OUT/run.log"
  "${ON_BENCH_CORE[@]}" /usr/bin/python3 scripts/bench_paths.py "$@" "$SECS" 2>&1 |
    tee -a "$OUT/run.log" | sed -n "s/^RESULT /RESULT label=$label /p" >>"$OUT/results.txt" || true
}

echo "bench: $PINNING; $SECS s a run; results in $OUT"

start_redis
# History on disk (fsync everysec, the default) and no coalescing delay
# (--coalesce-us 0: a flush every loop turn, where the default holds a
# flush 1 ms after the last one) are servers of their own, taking their
# turns with the others so that the machine's drift does not fall on
# them alone.
start_chatroom --history "$OUT/history.jsonl" --fsync everysec
HIST_PID=$CHAT_PID HIST_PORT=$CHAT_PORT
start_chatroom --history none --coalesce-us 0
NOHOLD_PID=$CHAT_PID NOHOLD_PORT=$CHAT_PORT
# One writev per peer instead of a turn's sends in one io_uring submission
# (the default): its turns too.
start_chatroom --history none --no-io-uring
WRITEV_PID=$CHAT_PID WRITEV_PORT=$CHAT_PORT
if [ -n "$BEFORE" ]; then
  CHAT_SERVER=$BEFORE start_chatroom --history none
  BEFORE_PID=$CHAT_PID BEFORE_PORT=$CHAT_PORT
fi
start_chatroom --history none
# W in flight per sender: 16 (saturated), 8 (the issue's figure), 1. A
# message is in flight until every receiver has it (--ack all): acknowledged
# by one receiver, the load would depend on where each server's order of
# writes puts that one (Redis writes to the bench's probes last, chatroom
# anywhere), and so would the latency and the rate (docs/benchmarks.md).
TP=(throughput -n 1000 -s 10 -w 16 -b 64 -d "$SECS" --ack all)
W8=(throughput -n 1000 -s 10 -w 8 -b 64 -d "$SECS" --ack all)
W1=(throughput -n 1000 -s 10 -w 1 -b 64 -d "$SECS" --ack all)
RTT=(rtt -n 1000 -s 4 -d "$SECS")
# each: one scenario against this build, Redis and (given) the one before
each() {
  local name=$1
  shift
  run "$name-chatroom" "$@" -t chatroom -p "$CHAT_PORT" -P "$CHAT_PID"
  run "$name-redis" "$@" -t redis -p "$REDIS_PORT" -P "$REDIS_PID"
  run "$name-text" "$@" -t chatroom-text -p "$CHAT_PORT" -P "$CHAT_PID"
  if [ -n "$BEFORE" ]; then
    run "$name-before" "$@" -t chatroom -p "$BEFORE_PORT" -P "$BEFORE_PID"
    run "$name-before-text" "$@" -t chatroom-text -p "$BEFORE_PORT" -P "$BEFORE_PID"
  fi
}
for _ in $(seq "$REPEAT"); do
  each throughput "${TP[@]}"
  run throughput-history "${TP[@]}" -t chatroom -p "$HIST_PORT" -P "$HIST_PID"
  run throughput-nohold "${TP[@]}" -t chatroom -p "$NOHOLD_PORT" -P "$NOHOLD_PID"
  run throughput-writev "${TP[@]}" -t chatroom -p "$WRITEV_PORT" -P "$WRITEV_PID"
  each window8 "${W8[@]}"
  run window8-nohold "${W8[@]}" -t chatroom -p "$NOHOLD_PORT" -P "$NOHOLD_PID"
  run window8-writev "${W8[@]}" -t chatroom -p "$WRITEV_PORT" -P "$WRITEV_PID"
  each window1 "${W1[@]}"
  run window1-nohold "${W1[@]}" -t chatroom -p "$NOHOLD_PORT" -P "$NOHOLD_PID"
  run window1-writev "${W1[@]}" -t chatroom -p "$WRITEV_PORT" -P "$WRITEV_PID"
  # The browser's path and pictures (scripts/bench_paths.py), on the
  # generator's core; the build before had no browser path.
  paths web-chatroom web "$CHAT_PORT" "$CHAT_PID"
  paths web-nohold web "$NOHOLD_PORT" "$NOHOLD_PID"
  paths pictures-chatroom pictures "$CHAT_PORT" "$CHAT_PID"
  paths pictures-nohold pictures "$NOHOLD_PORT" "$NOHOLD_PID"
  [ -z "$BEFORE" ] || paths pictures-before pictures "$BEFORE_PORT" "$BEFORE_PID"
  run rtt-chatroom "${RTT[@]}" -t chatroom -p "$CHAT_PORT" -P "$CHAT_PID"
  run rtt-redis "${RTT[@]}" -t redis -p "$REDIS_PORT" -P "$REDIS_PID"
done
STEP=(rtt --step -n 250 -s 4 -d 3 --bound 250 --max-clients "$STEP_MAX")
run step-chatroom "${STEP[@]}" -t chatroom -p "$CHAT_PORT" -P "$CHAT_PID"
run step-redis "${STEP[@]}" -t redis -p "$REDIS_PORT" -P "$REDIS_PID"
stop "$CHAT_PID"
stop "$REDIS_PID"
[ -z "$BEFORE" ] || stop "$BEFORE_PID"

stop "$HIST_PID"
stop "$NOHOLD_PID"
stop "$WRITEV_PID"
rm -f "$OUT/history.jsonl"

# Idle connections, each run on a fresh server: 2000 users in one room
# (its join notices are 2 million deliveries), then IDLE_N in rooms of 100.
# idle LABEL N ROOM_SIZE TARGET [SERVER]
idle() {
  local label=$1 n=$2 size=$3 target=$4
  if [ "$target" = redis ]; then
    start_redis
    run "$label" idle -n "$n" -r "$size" -d "$IDLE_SECS" -t redis -p "$REDIS_PORT" -P "$REDIS_PID"
    stop "$REDIS_PID"
    return
  fi
  CHAT_SERVER=${5:-$SERVER} start_chatroom --history none
  run "$label" idle -n "$n" -r "$size" -d "$IDLE_SECS" -t "$target" -p "$CHAT_PORT" -P "$CHAT_PID"
  stop "$CHAT_PID"
}
for scale in "2000 0 idle2k" "$IDLE_N 100 idle"; do
  read -r n size name <<<"$scale"
  idle "$name-text" "$n" "$size" chatroom-text
  idle "$name-chatroom" "$n" "$size" chatroom
  idle "$name-redis" "$n" "$size" redis
  if [ -n "$BEFORE" ]; then
    idle "$name-before-text" "$n" "$size" chatroom-text "$BEFORE"
    idle "$name-before" "$n" "$size" chatroom "$BEFORE"
  fi
done

/usr/bin/python3 scripts/bench_report.py "$OUT/results.txt" docs/benchmarks.md \
  docs/bench-rtt.png "$PINNING" "$SECS" "$REPEAT" "${BEFORE:+main before this work}"
echo "bench: wrote docs/benchmarks.md and docs/bench-rtt.png"
