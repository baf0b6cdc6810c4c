#!/usr/bin/env bash
# Side-by-side benchmark of two 3-server ensembles on loopback: Apache ZooKeeper 3.8 (Debian package) and rzk,
# with the same settings (tickTime 2000, initLimit 10, syncLimit 5, forceSync=yes, 4lw whitelist *, every data
# directory on the same disk). Once each ensemble has one leader and two followers, each workload runs against
# each ensemble in alternation (after 50,000 unmeasured creates through each leader), --rounds times, through
# each target:
#   leader    all sessions connected to the leader
#   follower  all sessions connected to one follower (writes are forwarded to the leader)
#   all       the sessions spread over the three members (three `rzk bench` processes at once, one per member,
#             one load thread each; `rzk bench --server` takes one address): throughputs add up, p50 and p99
#             are the slowest member's
# The table shows medians over rounds and rzk/ZooKeeper ratios. Normally run as `bench/compare.sh --ensemble`.
#
# usage: bench/compare-ensemble.sh [--quick] [--rounds N] [--duration S] [--warmup S] [--sessions N]
#                                  [--depth N] [--workloads "create set get mixed"]
#                                  [--targets "leader follower all"] [--dir DIR] [--keep]
set -euo pipefail

source "$(dirname "$0")/common.sh"
WORKLOADS="create set get mixed"
TARGETS="leader follower all"
while [ $# -gt 0 ]; do
  case "$1" in
    --targets) TARGETS="$2"; shift ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) common_option "$@" || { echo "unknown option $1" >&2; exit 2; }; shift $((COMMON_USED - 1)) ;;
  esac
  shift
done
for w in $WORKLOADS; do
  case "$w" in create|set|get|children|mixed) ;; *) echo "workload $w is not supported here" >&2; exit 2 ;; esac
done
for t in $TARGETS; do
  case "$t" in leader|follower|all) ;; *) echo "unknown target $t" >&2; exit 2 ;; esac
done
if [ "$SESSIONS" -lt 3 ]; then echo "--sessions must be at least 3 (the 'all' target splits them)" >&2; exit 2; fi

prepare_tools

# 18 distinct free loopback ports: client, quorum and election port of 3 servers, for each of the 2 ensembles.
# All sockets stay bound until every port is chosen, so no two are the same.
read -r -a PORTS <<<"$(python3 -c '
import socket
ss = [socket.socket() for _ in range(18)]
for s in ss: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in ss))')"

WORK="$(mktemp -d "$BASE_DIR/rzk-compare-ensemble.XXXXXX")"
PIDS=""
cleanup() {
  for pid in $PIDS; do kill "$pid" 2>/dev/null || true; done
  for pid in $PIDS; do wait "$pid" 2>/dev/null || true; done
  if [ "$KEEP" = 1 ]; then echo "kept $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

# Ports of ensemble $1 (0 = ZooKeeper, 1 = rzk), server $2 (1-3): client, quorum, election.
client_port() { echo "${PORTS[$(( $1 * 9 + ($2 - 1) * 3 ))]}"; }
quorum_port() { echo "${PORTS[$(( $1 * 9 + ($2 - 1) * 3 + 1 ))]}"; }
election_port() { echo "${PORTS[$(( $1 * 9 + ($2 - 1) * 3 + 2 ))]}"; }

# One server's zoo.cfg; both ensembles read the same settings, and rzk understands all of them.
server_cfg() { # ensemble server dataDir
  cat <<CFG
tickTime=2000
initLimit=10
syncLimit=5
dataDir=$3
clientPort=$(client_port "$1" "$2")
clientPortAddress=127.0.0.1
maxClientCnxns=0
forceSync=yes
4lw.commands.whitelist=*
admin.enableServer=false
CFG
  for n in 1 2 3; do echo "server.$n=127.0.0.1:$(quorum_port "$1" "$n"):$(election_port "$1" "$n")"; done
}

start_ensemble() { # ensemble name; sets START_NS
  local e=$1 name=$2 i dir
  for i in 1 2 3; do
    dir="$WORK/$name$i"
    mkdir -p "$dir/data" "$dir/conf"
    echo "$i" > "$dir/data/myid"
    server_cfg "$e" "$i" "$dir/data" > "$dir/zoo.cfg"
  done
  START_NS=$(date +%s%N)
  for i in 1 2 3; do
    dir="$WORK/$name$i"
    if [ "$name" = zookeeper ]; then
      # log4j at WARN to its console (a file here), so logging costs ZooKeeper no more than rzk's.
      cp /etc/zookeeper/conf/log4j.properties "$dir/conf/"
      java -Dzookeeper.log.dir="$dir" -Dzookeeper.root.logger=WARN,CONSOLE -cp "$dir/conf:/usr/share/java/*" \
        org.apache.zookeeper.server.quorum.QuorumPeerMain "$dir/zoo.cfg" > "$dir/server.log" 2>&1 &
    else
      RUST_LOG=warn "$RZK" server "$dir/zoo.cfg" > "$dir/server.log" 2>&1 &
    fi
    PIDS="$PIDS $!"
  done
}

# Polls `srvr` on the three members until one says "Mode: leader" and the other two "Mode: follower"; then
# prints the leader's client port, the first follower's, and the milliseconds since START_NS.
wait_for_quorum() { # ensemble name
  local e=$1 name=$2 deadline=$((SECONDS + 120)) i port mode leader followers leaders follower_list
  while [ $SECONDS -lt $deadline ]; do
    leader="" followers=""
    for i in 1 2 3; do
      port=$(client_port "$e" "$i")
      mode=$("$RZK" 4lw srvr "127.0.0.1:$port" --timeout-secs 1 2>/dev/null | sed -n 's/^Mode: //p' || true)
      case "$mode" in
        leader) leader="$leader $port" ;;
        follower) followers="$followers $port" ;;
      esac
    done
    read -r -a leaders <<<"$leader"; read -r -a follower_list <<<"$followers"
    if [ "${#leaders[@]}" = 1 ] && [ "${#follower_list[@]}" = 2 ]; then
      echo "${leaders[0]} ${follower_list[0]} $(( ($(date +%s%N) - START_NS) / 1000000 ))"
      return 0
    fi
    sleep 0.05
  done
  echo "$name: no leader with two followers after 120 s; logs:" >&2
  for i in 1 2 3; do tail -5 "$WORK/$name$i/server.log" >&2; done
  return 1
}

start_ensemble 0 zookeeper
read -r ZK_LEADER ZK_FOLLOWER ZK_READY_MS <<<"$(wait_for_quorum 0 zookeeper)"
start_ensemble 1 rzk
read -r RZK_LEADER RZK_FOLLOWER RZK_READY_MS <<<"$(wait_for_quorum 1 rzk)"
echo "ZooKeeper: leader 127.0.0.1:$ZK_LEADER, follower 127.0.0.1:$ZK_FOLLOWER, quorum after $ZK_READY_MS ms" >&2
echo "rzk:       leader 127.0.0.1:$RZK_LEADER, follower 127.0.0.1:$RZK_FOLLOWER, quorum after $RZK_READY_MS ms" >&2
# An unmeasured warm-up through each leader, as the standalone comparison's 100,000-znode load is: the JVM
# compiles its hot paths, and both ensembles start the rounds with a log and a tree of the same size.
for port in "$ZK_LEADER" "$RZK_LEADER"; do
  "$RZK" bench create --server "127.0.0.1:$port" --count 50000 --sessions "$SESSIONS" --depth "$DEPTH" > /dev/null
done
echo "load average before the runs: $(cut -d' ' -f1-3 /proc/loadavg)" >&2

RESULTS="$WORK/results.jsonl"
: > "$RESULTS"
record() { # server workload target round json
  printf '{"server":"%s","workload":"%s","target":"%s","round":%s,"r":%s}\n' "$1" "$2" "$3" "$4" "$5" >> "$RESULTS"
}
record zookeeper ready quorum 0 "{\"ready_ms\":$ZK_READY_MS}"
record rzk ready quorum 0 "{\"ready_ms\":$RZK_READY_MS}"

run_one() { # server(ensemble name) e workload target round
  local name=$1 e=$2 w=$3 t=$4 round=$5 out port i n
  # --cleanup: each run deletes what it created, so every run starts from the same tree on both ensembles
  # (otherwise the faster one would carry a larger tree, and larger snapshots, into every later run).
  local common=(--duration "$DURATION" --warmup "$WARMUP" --depth "$DEPTH" --cleanup)
  if [ "$t" = all ]; then
    # One process per member, started together; the sessions split as evenly as they go (16 = 6 + 5 + 5).
    local outs=() pids=()
    for i in 1 2 3; do
      n=$(( SESSIONS / 3 + (i <= SESSIONS % 3 ? 1 : 0) ))
      port=$(client_port "$e" "$i")
      "$RZK" bench "$w" --server "127.0.0.1:$port" --sessions "$n" --threads 1 --seed "$((round * 10 + i))" \
        "${common[@]}" > "$WORK/bench-$i.out" &
      pids+=("$!")
    done
    for i in 0 1 2; do wait "${pids[$i]}"; done
    for i in 1 2 3; do outs+=("$(tail -1 "$WORK/bench-$i.out")"); done
    out="$(python3 -c '
import json, sys
rs = [json.loads(a) for a in sys.argv[1:]]
print(json.dumps({"ops_per_sec": sum(r["ops_per_sec"] for r in rs), "errors": sum(r["errors"] for r in rs),
                  "p50_ms": max(r["p50_ms"] for r in rs), "p99_ms": max(r["p99_ms"] for r in rs),
                  "members": rs}))' "${outs[@]}")"
  else
    if [ "$name" = zookeeper ]; then
      if [ "$t" = leader ]; then port=$ZK_LEADER; else port=$ZK_FOLLOWER; fi
    else
      if [ "$t" = leader ]; then port=$RZK_LEADER; else port=$RZK_FOLLOWER; fi
    fi
    out="$("$RZK" bench "$w" --server "127.0.0.1:$port" --sessions "$SESSIONS" --seed "$round" "${common[@]}" | tail -1)"
  fi
  record "$name" "$w" "$t" "$round" "$out"
  echo "round $round $w via $t, $name: $(echo "$out" | json_field ops_per_sec | cut -d. -f1) ops/s," \
    "p99 $(echo "$out" | json_field p99_ms) ms, errors $(echo "$out" | json_field errors)" >&2
}

for round in $(seq 1 "$ROUNDS"); do
  for w in $WORKLOADS; do
    for t in $TARGETS; do
      # Alternate who goes first, so neither always runs on a machine warmed (or dirtied) by the other.
      if [ $((round % 2)) = 1 ]; then order="zookeeper rzk"; else order="rzk zookeeper"; fi
      for s in $order; do
        if [ $s = zookeeper ]; then run_one zookeeper 0 "$w" "$t" "$round"; else run_one rzk 1 "$w" "$t" "$round"; fi
      done
    done
  done
done
echo "load average after the runs: $(cut -d' ' -f1-3 /proc/loadavg)" >&2

python3 - "$RESULTS" "$ROUNDS" "$SESSIONS" "$DEPTH" <<'PY'
import json, statistics, sys
path, rounds, sessions, depth = sys.argv[1:]
rows = [json.loads(l) for l in open(path)]
def pick(server, workload, target):
    return [r for r in rows if r["server"] == server and r["workload"] == workload and r["target"] == target]
def med(server, workload, target, key):
    xs = [r["r"][key] for r in pick(server, workload, target)]
    return statistics.median(xs) if xs else None
def errs(server, workload, target):
    return sum(r["r"].get("errors", 0) for r in pick(server, workload, target))
print(f"\n3-server ensembles; medians of {rounds} round(s); {sessions} sessions x {depth} in flight; "
      f"ratio = rzk / ZooKeeper")
print("| workload | via | ZK ops/s | rzk ops/s | ratio | ZK p99 ms | rzk p99 ms | ratio | ZK p50 ms | rzk p50 ms "
      "| errors ZK/rzk |")
print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
via = {"leader": "leader", "follower": "a follower", "all": "all 3 members"}
ratio = lambda a, b: f"{a / b:.2f}" if a and b else "-"
for w in ["create", "set", "get", "children", "mixed"]:
    for t in ["leader", "follower", "all"]:
        if not pick("zookeeper", w, t) or not pick("rzk", w, t):
            continue
        zt, rt = med("zookeeper", w, t, "ops_per_sec"), med("rzk", w, t, "ops_per_sec")
        z99, r99 = med("zookeeper", w, t, "p99_ms"), med("rzk", w, t, "p99_ms")
        z50, r50 = med("zookeeper", w, t, "p50_ms"), med("rzk", w, t, "p50_ms")
        print(f"| {w} | {via[t]} | {zt:,.0f} | {rt:,.0f} | {ratio(rt, zt)} | {z99:.2f} | {r99:.2f} "
              f"| {ratio(r99, z99)} | {z50:.3f} | {r50:.3f} | {errs('zookeeper', w, t)}/{errs('rzk', w, t)} |")
zs, rs = med("zookeeper", "ready", "quorum", "ready_ms"), med("rzk", "ready", "quorum", "ready_ms")
print(f"| start to leader + 2 followers (ms) | | {zs:.0f} | {rs:.0f} | {ratio(rs, zs)} | | | | | | |")
PY
