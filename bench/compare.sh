#!/usr/bin/env bash
# Side-by-side benchmark: Apache ZooKeeper 3.8 (Debian package) and rzk, standalone, on loopback, with the same
# settings (same disk, forceSync=yes, tickTime 2000, no connection limit, 4lw whitelist *). Each workload runs
# against each server in alternation, --rounds times; the table shows medians and rzk/ZooKeeper ratios. Each
# run deletes the nodes it created afterwards (outside its measurement), so all runs start from the same tree.
# With --ensemble it compares two 3-server ensembles instead: bench/compare-ensemble.sh, which takes the same
# options but --znodes, plus --targets "leader follower all"; its workloads default to "create set get mixed".
# With --tls every client speaks TLS to the servers' secureClientPort (certificates made by openssl for the
# run, the same for both; clientAuth=need, so each connection is a mutual handshake; ZooKeeper runs its Netty
# connection factory, which TLS needs); churn then counts TLS handshakes + sessions per second.
#
# usage: bench/compare.sh [--ensemble] [--tls] [--quick] [--rounds N] [--duration S] [--warmup S] [--sessions N]
#                         [--depth N] [--workloads "create set ..."] [--znodes N] [--dir DIR] [--keep]
set -euo pipefail

for arg in "$@"; do
  if [ "$arg" = --ensemble ]; then
    rest=()
    for a in "$@"; do [ "$a" = --ensemble ] || rest+=("$a"); done
    exec "$(dirname "$0")/compare-ensemble.sh" ${rest[@]+"${rest[@]}"}
  fi
done

source "$(dirname "$0")/common.sh"
ZNODES=100000
WORKLOADS="create set get children mixed watch churn get1 set1"
TLS=0
while [ $# -gt 0 ]; do
  case "$1" in
    --znodes) ZNODES="$2"; shift ;;
    --tls) TLS=1 ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) common_option "$@" || { echo "unknown option $1" >&2; exit 2; }; shift $((COMMON_USED - 1)) ;;
  esac
  shift
done
prepare_tools

WORK="$(mktemp -d "$BASE_DIR/rzk-compare.XXXXXX")"
ZK_PORT="$(free_port)"; RZK_PORT="$(free_port)"
ZK_TLS_PORT="$(free_port)"; RZK_TLS_PORT="$(free_port)"
ZK_PID="" RZK_PID=""
cleanup() {
  for pid in $ZK_PID $RZK_PID; do kill "$pid" 2>/dev/null || true; done
  for pid in $ZK_PID $RZK_PID; do wait "$pid" 2>/dev/null || true; done
  if [ "$KEEP" = 1 ]; then echo "kept $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

# Both servers read the same settings (common_cfg); ZooKeeper ignores nothing here, rzk understands all of it.
mkdir -p "$WORK/zk/data" "$WORK/zk/conf" "$WORK/rzk/data"
common_cfg "$WORK/zk/data" "$ZK_PORT" > "$WORK/zk/zoo.cfg"
common_cfg "$WORK/rzk/data" "$RZK_PORT" > "$WORK/rzk/zoo.cfg"
BENCH_TLS=()
if [ "$TLS" = 1 ]; then
  PKI="$WORK/pki"
  python3 -c "import sys; from pathlib import Path; sys.path.insert(0, sys.argv[1]); import tls_certs; tls_certs.make_pki(Path(sys.argv[2]))" \
    "$ROOT/tests/python" "$PKI"
  tls_cfg() { # $1 secure port
    cat <<CFG
secureClientPort=$1
secureClientPortAddress=127.0.0.1
serverCnxnFactory=org.apache.zookeeper.server.NettyServerCnxnFactory
ssl.keyStore.location=$PKI/server.pem
ssl.trustStore.location=$PKI/ca.pem
ssl.clientAuth=need
authProvider.x509=org.apache.zookeeper.server.auth.X509AuthenticationProvider
CFG
  }
  tls_cfg "$ZK_TLS_PORT" >> "$WORK/zk/zoo.cfg"
  tls_cfg "$RZK_TLS_PORT" >> "$WORK/rzk/zoo.cfg"
  BENCH_TLS=(--tls --tls-ca "$PKI/ca.pem" --tls-cert "$PKI/client.pem")
  # Workloads and the RSS load go to the TLS ports; readiness is still asked on the plaintext ones.
  ZK_BENCH_PORT="$ZK_TLS_PORT"; RZK_BENCH_PORT="$RZK_TLS_PORT"
else
  ZK_BENCH_PORT="$ZK_PORT"; RZK_BENCH_PORT="$RZK_PORT"
fi
# ZooKeeper logs at WARN to its console (a file here), so logging costs it no more than rzk's.
cp /etc/zookeeper/conf/log4j.properties "$WORK/zk/conf/"


echo "starting ZooKeeper on 127.0.0.1:$ZK_PORT and rzk on 127.0.0.1:$RZK_PORT in $WORK" >&2
ZK_READY_JSON="$("$RZK" bench ready --server "127.0.0.1:$ZK_PORT" --log "$WORK/zk/server.log" -- \
  java -Dzookeeper.log.dir="$WORK/zk" -Dzookeeper.root.logger=WARN,CONSOLE -cp "$WORK/zk/conf:/usr/share/java/*" \
  org.apache.zookeeper.server.quorum.QuorumPeerMain "$WORK/zk/zoo.cfg" | tail -1)"
ZK_PID="$(echo "$ZK_READY_JSON" | json_field pid)"
RZK_READY_JSON="$(RUST_LOG=warn "$RZK" bench ready --server "127.0.0.1:$RZK_PORT" --log "$WORK/rzk/server.log" -- \
  "$RZK" server "$WORK/rzk/zoo.cfg" | tail -1)"
RZK_PID="$(echo "$RZK_READY_JSON" | json_field pid)"

RESULTS="$WORK/results.jsonl"
: > "$RESULTS"
record() { # server workload round json
  printf '{"server":"%s","workload":"%s","round":%s,"r":%s}\n' "$1" "$2" "$3" "$4" >> "$RESULTS"
}
record zookeeper ready 0 "$ZK_READY_JSON"
record rzk ready 0 "$RZK_READY_JSON"

# RSS with $ZNODES znodes of 100 bytes, loaded right after start.
for s in zookeeper rzk; do
  if [ $s = zookeeper ]; then port=$ZK_BENCH_PORT pid=$ZK_PID; else port=$RZK_BENCH_PORT pid=$RZK_PID; fi
  out="$("$RZK" bench create --server "127.0.0.1:$port" --count "$ZNODES" --sessions "$SESSIONS" --depth "$DEPTH" ${BENCH_TLS[@]+"${BENCH_TLS[@]}"} | tail -1)"
  sleep 2
  rss="$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")"
  record "$s" rss 0 "{\"rss_kb\":$rss,\"load\":$out}"
  echo "$s: RSS ${rss} kB after $ZNODES znodes" >&2
done

run_one() { # server port workload round
  # --cleanup: each run deletes what it created, so every run starts from the same tree on both servers
  # (otherwise the faster one would carry a larger tree, and larger snapshots, into every later run).
  local args=(--server "127.0.0.1:$2" --duration "$DURATION" --warmup "$WARMUP" --seed "$4" --cleanup
    ${BENCH_TLS[@]+"${BENCH_TLS[@]}"})
  case "$3" in
    get1) args+=(get --sessions 1 --depth 1) ;;
    set1) args+=(set --sessions 1 --depth 1) ;;
    *) args+=("$3" --sessions "$SESSIONS" --depth "$DEPTH") ;;
  esac
  local out
  out="$("$RZK" bench "${args[@]}" | tail -1)"
  record "$1" "$3" "$4" "$out"
  echo "round $4 $3 $1: $(echo "$out" | json_field ops_per_sec) ops/s, p99 $(echo "$out" | json_field p99_ms) ms, errors $(echo "$out" | json_field errors)" >&2
}

for round in $(seq 1 "$ROUNDS"); do
  for w in $WORKLOADS; do
    # Alternate who goes first, so neither always runs on a machine warmed (or dirtied) by the other.
    if [ $((round % 2)) = 1 ]; then order="zookeeper rzk"; else order="rzk zookeeper"; fi
    for s in $order; do
      if [ $s = zookeeper ]; then run_one zookeeper "$ZK_BENCH_PORT" "$w" "$round"; else run_one rzk "$RZK_BENCH_PORT" "$w" "$round"; fi
    done
  done
done

python3 - "$RESULTS" "$ROUNDS" "$SESSIONS" "$DEPTH" "$ZNODES" "$TLS" <<'PY'
import json, statistics, sys
path, rounds, sessions, depth, znodes, tls = sys.argv[1:]
rows = [json.loads(l) for l in open(path)]
def med(server, workload, key):
    xs = [r["r"][key] for r in rows if r["server"] == server and r["workload"] == workload]
    return statistics.median(xs) if xs else None
def errs(server, workload):
    return sum(r["r"].get("errors", 0) for r in rows if r["server"] == server and r["workload"] == workload)
over = " over TLS (mutual, TLS 1.2)" if tls == "1" else ""
print(f"\nmedians of {rounds} round(s){over}; {sessions} sessions x {depth} in flight unless noted; ratio = rzk / ZooKeeper")
print(f"| workload | ZK ops/s | rzk ops/s | ratio | ZK p99 ms | rzk p99 ms | ratio | ZK p50 ms | rzk p50 ms | errors ZK/rzk |")
print(f"|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
names = {"get1": "get (1 in flight)", "set1": "set (1 in flight)",
         "watch": "watch (notifications/s)",
         "churn": "churn: TLS handshakes + sessions/s" if tls == "1" else "churn (cycles/s)"}
order = [w for w in ["create", "set", "get", "children", "mixed", "watch", "churn", "get1", "set1"]
         if any(r["workload"] == w for r in rows)]
for w in order:
    zt, rt = med("zookeeper", w, "ops_per_sec"), med("rzk", w, "ops_per_sec")
    z99, r99 = med("zookeeper", w, "p99_ms"), med("rzk", w, "p99_ms")
    z50, r50 = med("zookeeper", w, "p50_ms"), med("rzk", w, "p50_ms")
    ratio = lambda a, b: f"{a / b:.2f}" if a and b else "-"
    print(f"| {names.get(w, w)} | {zt:,.0f} | {rt:,.0f} | {ratio(rt, zt)} | {z99:.2f} | {r99:.2f} | {ratio(r99, z99)} "
          f"| {z50:.3f} | {r50:.3f} | {errs('zookeeper', w)}/{errs('rzk', w)} |")
zr, rr = med("zookeeper", "rss", "rss_kb"), med("rzk", "rss", "rss_kb")
print(f"| RSS with {int(znodes):,} znodes (MB) | {zr/1024:.0f} | {rr/1024:.0f} | {rr/zr:.2f} | | | | | | |")
zs, rs = med("zookeeper", "ready", "ready_ms"), med("rzk", "ready", "ready_ms")
print(f"| start to imok (ms) | {zs:.0f} | {rs:.1f} | {rs/zs:.3f} | | | | | | |")
PY
