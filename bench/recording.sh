#!/usr/bin/env bash
# The flight recorder's cost (issue 18): two rzk servers side by side, standalone on loopback with the same
# settings as bench/compare.sh, one with rzk.recordDir set (its recording on the same disk as its data,
# unless --record-dir) and one without. Each workload runs against each in alternation, --rounds times; the table shows medians, the
# on/off ratios, the server's CPU time per op (all its threads, from /proc: the cost that does not depend on
# what else the machine is doing), and the bytes the recorder wrote per op (the recording directory's growth
# over the run, divided by the ops the run completed).
#
# usage: bench/recording.sh [--quick] [--rounds N] [--duration S] [--warmup S] [--sessions N] [--depth N]
#                           [--workloads "create set ..."] [--dir DIR] [--keep] [--redact] [--control]
#                           [--record-dir DIR]
# --redact: the recording server also sets rzk.recordRedact=true.
# --control: neither server records (an A/A run: the ratios then show the harness's own noise).
# --record-dir DIR: the recording goes under DIR (another disk, or tmpfs to leave the disk out) instead of
#   beside the data.
set -euo pipefail
source "$(dirname "$0")/common.sh"
WORKLOADS="create set get children mixed watch churn get1 set1"
REDACT=false
CONTROL=false
REC_PARENT=""
while [ $# -gt 0 ]; do
  case "$1" in
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    --redact) REDACT=true ;;
    --control) CONTROL=true ;;
    --record-dir) REC_PARENT="$2"; shift ;;
    *) common_option "$@" || { echo "unknown option $1" >&2; exit 2; }; shift $((COMMON_USED - 1)) ;;
  esac
  shift
done
prepare_tools

WORK="" REC=""
OFF_PID="" ON_PID=""
stop_servers() {
  for pid in $OFF_PID $ON_PID; do kill "$pid" 2>/dev/null || true; done
  # Not children of this shell (`rzk bench ready` started them): wait for them to be gone.
  for pid in $OFF_PID $ON_PID; do while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done; done
}
cleanup() {
  local status=$?
  stop_servers
  # A failed run keeps its servers' logs and data.
  if [ "$KEEP" = 1 ] || [ "$status" != 0 ]; then echo "kept $WORK $REC" >&2; else rm -rf "$WORK" "$REC"; fi
}
trap cleanup EXIT
WORK="$(mktemp -d "$BASE_DIR/rzk-recording.XXXXXX")"
if [ -n "$REC_PARENT" ]; then REC="$(mktemp -d "$REC_PARENT/rzk-rec.XXXXXX")"; else REC="$WORK/on/rec"; fi
OFF_PORT="$(free_port)"; ON_PORT="$(free_port)"

mkdir -p "$WORK/off/data" "$WORK/on/data"
common_cfg "$WORK/off/data" "$OFF_PORT" > "$WORK/off/zoo.cfg"
common_cfg "$WORK/on/data" "$ON_PORT" > "$WORK/on/zoo.cfg"
# A budget large enough that no segment is deleted during the run (so the directory's growth is what was
# written); segments of the default size.
if [ "$CONTROL" = false ]; then
  printf 'rzk.recordDir=%s\nrzk.recordMaxMB=100000\nrzk.recordRedact=%s\n' "$REC" "$REDACT" >> "$WORK/on/zoo.cfg"
fi

start() { # $1 name $2 port
  RUST_LOG=warn "$RZK" bench ready --server "127.0.0.1:$2" --log "$WORK/$1/server.log" -- \
    "$RZK" server "$WORK/$1/zoo.cfg" | tail -1 | json_field pid
}
# Each round starts both servers on empty data directories: nothing purges them (autopurge's unit is an
# hour), and a few rounds of these workloads write over 10 GB of txn log per server; a full disk stops a
# server, as in ZooKeeper. The runs clean up after themselves, so every round starts from the same tree.
restart_servers() {
  stop_servers
  rm -rf "$WORK/off/data" "$WORK/on/data" "$REC"
  mkdir -p "$WORK/off/data" "$WORK/on/data"
  OFF_PID="$(start off "$OFF_PORT")"
  ON_PID="$(start on "$ON_PORT")"
}
if [ "$CONTROL" = true ]; then what="also without (--control)"; else what="with, into $REC,"; fi
echo "rzk without recording on 127.0.0.1:$OFF_PORT, $what on 127.0.0.1:$ON_PORT, in $WORK" >&2

RESULTS="$WORK/results.jsonl"
: > "$RESULTS"
rec_bytes() { du -sb "$REC" 2>/dev/null | cut -f1 || echo 0; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }  # utime + stime of every thread, in clock ticks

run_one() { # name port workload round
  local args=(--server "127.0.0.1:$2" --duration "$DURATION" --warmup "$WARMUP" --seed "$4" --cleanup)
  case "$3" in
    get1) args+=(get --sessions 1 --depth 1) ;;
    set1) args+=(set --sessions 1 --depth 1) ;;
    *) args+=("$3" --sessions "$SESSIONS" --depth "$DEPTH") ;;
  esac
  local before after out pid cpu0 cpu1
  if [ "$1" = off ]; then pid=$OFF_PID; else pid=$ON_PID; fi
  before="$(rec_bytes)"
  cpu0="$(cpu_ticks "$pid")"
  out="$("$RZK" bench "${args[@]}" | tail -1)"
  # Let the writer catch up (it polls every 5 ms) before measuring the directory and the CPU.
  sleep 0.5
  cpu1="$(cpu_ticks "$pid")"
  after="$(rec_bytes)"
  printf '{"server":"%s","workload":"%s","round":%s,"grew":%s,"cpu_ticks":%s,"r":%s}\n' "$1" "$3" "$4" "$((after - before))" "$((cpu1 - cpu0))" "$out" >> "$RESULTS"
  echo "round $4 $3 $1: $(echo "$out" | json_field ops_per_sec) ops/s, p99 $(echo "$out" | json_field p99_ms) ms" >&2
}

for round in $(seq 1 "$ROUNDS"); do
  restart_servers
  for w in $WORKLOADS; do
    if [ $((round % 2)) = 1 ]; then order="off on"; else order="on off"; fi
    for s in $order; do
      if [ $s = off ]; then run_one off "$OFF_PORT" "$w" "$round"; else run_one on "$ON_PORT" "$w" "$round"; fi
    done
  done
done
grep -h "recorder" "$WORK/on/server.log" | head -5 >&2 || true

python3 - "$RESULTS" "$ROUNDS" "$SESSIONS" "$DEPTH" <<'PY'
import json, statistics, sys
path, rounds, sessions, depth = sys.argv[1:]
rows = [json.loads(l) for l in open(path)]
def med(server, workload, key):
    xs = [r["r"][key] for r in rows if r["server"] == server and r["workload"] == workload]
    return statistics.median(xs) if xs else None
def per_op(workload):
    xs = [r["grew"] / max(1, r["r"]["ops"]) for r in rows if r["server"] == "on" and r["workload"] == workload]
    return statistics.median(xs) if xs else None
def cpu_us(server, workload):
    # Server CPU (all threads; 100 ticks/s) per op, in µs; the cleanup after each run is included for both.
    xs = [r["cpu_ticks"] * 1e4 / max(1, r["r"]["ops"]) for r in rows if r["server"] == server and r["workload"] == workload]
    return statistics.median(xs) if xs else None
print(f"\nmedians of {rounds} round(s); {sessions} sessions x {depth} in flight unless noted; ratio = on / off")
print("| workload | off ops/s | on ops/s | ratio | off p99 ms | on p99 ms | ratio | CPU µs/op off | on | ratio | recorded bytes/op |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
names = {"get1": "get (1 in flight)", "set1": "set (1 in flight)", "watch": "watch (notifications/s)",
         "churn": "churn (cycles/s)"}
order = [w for w in ["create", "set", "get", "children", "mixed", "watch", "churn", "get1", "set1"]
         if any(r["workload"] == w for r in rows)]
for w in order:
    a, b = med("off", w, "ops_per_sec"), med("on", w, "ops_per_sec")
    a99, b99 = med("off", w, "p99_ms"), med("on", w, "p99_ms")
    ca, cb = cpu_us("off", w), cpu_us("on", w)
    print(f"| {names.get(w, w)} | {a:,.0f} | {b:,.0f} | {b / a:.2f} | {a99:.2f} | {b99:.2f} | {b99 / a99:.2f} "
          f"| {ca:.2f} | {cb:.2f} | {cb / ca:.2f} | {per_op(w):,.0f} |")
PY
