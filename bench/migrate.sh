#!/usr/bin/env bash
# Startup on a large Apache ZooKeeper data directory: ZooKeeper 3.8 and rzk side by side (issue 17).
#
# Builds a ZooKeeper 3.8 data directory of --nodes znodes (default 1,000,000, 100-byte values) in one snapshot
# plus --txns logged setData txns after it (default 500,000): rzk creates the znodes and `rzk export`s them
# as a ZooKeeper snapshot, ZooKeeper 3.8 starts on it (and writes its own snapshot of it, as it does at
# every start), the txns are run against ZooKeeper with `snapCount` too large for another snapshot, and
# ZooKeeper is killed (kill -9). Then, --rounds times, each server starts on a fresh copy of that directory:
# the time from launch until it grants a client session (`rzk bench ready --session`; ZooKeeper answers ruok
# while still loading). rzk's time includes reading ZooKeeper's files, replaying the log and writing its own
# first snapshot; its restart on its own files afterwards is timed too.
#
#   bench/migrate.sh [--nodes N] [--txns N] [--rounds N] [--keep]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

NODES=1000000 TXNS=500000 ROUNDS=3
while [ $# -gt 0 ]; do
  case "$1" in
    --nodes) NODES="$2"; shift 2 ;;
    --txns) TXNS="$2"; shift 2 ;;
    --rounds) ROUNDS="$2"; shift 2 ;;
    --keep) KEEP=1; shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
prepare_tools
command -v java >/dev/null || { echo "needs java (Debian's zookeeper package)" >&2; exit 1; }

WORK="$(mktemp -d "$BASE_DIR/rzk-migrate.XXXXXX")"
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  if [ "$KEEP" = 1 ]; then echo "kept $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

cfg() { # dataDir port
  printf 'tickTime=2000\ndataDir=%s\nclientPort=%s\nclientPortAddress=127.0.0.1\nmaxClientCnxns=0\n' "$1" "$2"
  printf '4lw.commands.whitelist=*\nadmin.enableServer=false\nsnapCount=100000000\nforceSync=no\n'
}
zk_ready() { # port dir: starts ZooKeeper on dir/zoo.cfg, timed
  ready "$1" "$2/server.log" -- java -Dzookeeper.log.dir="$2" -Dzookeeper.root.logger=WARN,CONSOLE \
    -cp "/usr/share/java/*" org.apache.zookeeper.server.quorum.QuorumPeerMain "$2/zoo.cfg"
}
ready() { # port log -- command...
  local port="$1" log="$2"; shift 3
  "$RZK" bench ready --session --timeout 1800 --server "127.0.0.1:$port" --log "$log" -- "$@" | tail -1
}
field() { json_field "$1"; }
stop() { kill "-$1" "$2" 2>/dev/null || true; while kill -0 "$2" 2>/dev/null; do sleep 0.1; done; }

echo "building the ZooKeeper directory: $NODES znodes, then $TXNS logged txns..." >&2
PORT="$(free_port)"
mkdir -p "$WORK/seed/data"
cfg "$WORK/seed/data" "$PORT" > "$WORK/seed/zoo.cfg"
J="$(RUST_LOG=warn ready "$PORT" "$WORK/seed/server.log" -- "$RZK" server "$WORK/seed/zoo.cfg")"
PID="$(field pid <<<"$J")"; PIDS+=("$PID")
"$RZK" bench create --server "127.0.0.1:$PORT" --count "$NODES" --value-size 100 >/dev/null
stop TERM "$PID"
"$RZK" export --zookeeper "$WORK/zk/data" "$WORK/seed/zoo.cfg" >&2
PORT="$(free_port)"
cfg "$WORK/zk/data" "$PORT" > "$WORK/zk/zoo.cfg"
J="$(zk_ready "$PORT" "$WORK/zk")"
PID="$(field pid <<<"$J")"; PIDS+=("$PID")
"$RZK" bench set --server "127.0.0.1:$PORT" --keys 1000 --count "$TXNS" >/dev/null
stop 9 "$PID"
ls -l "$WORK/zk/data/version-2" >&2
du -sh --apparent-size "$WORK/zk/data/version-2" >&2

printf '| round | ZooKeeper 3.8 start (s) | rzk start on ZooKeeper files (s) | rzk restart on its own files (s) | ratio |\n'
printf '|---:|---:|---:|---:|---:|\n'
for round in $(seq 1 "$ROUNDS"); do
  for who in zk rzk; do
    rm -rf "$WORK/run-$who"
    mkdir -p "$WORK/run-$who"
    cp -a --sparse=always "$WORK/zk/data" "$WORK/run-$who/data"
    PORT="$(free_port)"
    cfg "$WORK/run-$who/data" "$PORT" > "$WORK/run-$who/zoo.cfg"
    sync
    if [ "$who" = zk ]; then
      J="$(zk_ready "$PORT" "$WORK/run-zk")"
      ZK_MS="$(field ready_ms <<<"$J")"
    else
      J="$(RUST_LOG=info ready "$PORT" "$WORK/run-rzk/server.log" -- "$RZK" server "$WORK/run-rzk/zoo.cfg")"
      RZK_MS="$(field ready_ms <<<"$J")"
    fi
    PID="$(field pid <<<"$J")"; PIDS+=("$PID")
    stop TERM "$PID"
  done
  J="$(RUST_LOG=warn ready "$PORT" "$WORK/run-rzk/restart.log" -- "$RZK" server "$WORK/run-rzk/zoo.cfg")"
  AGAIN_MS="$(field ready_ms <<<"$J")"
  PID="$(field pid <<<"$J")"; PIDS+=("$PID")
  stop TERM "$PID"
  python3 -c 'import sys; z,r,a=map(float,sys.argv[2:]); print(f"| {sys.argv[1]} | {z/1000:.2f} | {r/1000:.2f} | {a/1000:.2f} | {r/z:.2f} |")' \
    "$round" "$ZK_MS" "$RZK_MS" "$AGAIN_MS"
done
grep -h "started from Apache ZooKeeper" "$WORK/run-rzk/server.log" | tail -1 >&2 || true
