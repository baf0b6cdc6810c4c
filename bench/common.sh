# Shared by compare.sh and compare-ensemble.sh (sourced): the options both take, the tools both need, and
# reading the JSON line `rzk bench` ends with.

ROUNDS=3 DURATION=5 WARMUP=1 SESSIONS=16 DEPTH=32 KEEP=0
BASE_DIR="${TMPDIR:-/var/tmp}"

# Takes the option at "$@" if it is a common one: sets its variable and COMMON_USED (arguments consumed);
# fails for any other option.
common_option() {
  COMMON_USED=2
  case "$1" in
    --quick) ROUNDS=1 DURATION=2 WARMUP=0.5 COMMON_USED=1 ;;
    --rounds) ROUNDS="$2" ;;
    --duration) DURATION="$2" ;;
    --warmup) WARMUP="$2" ;;
    --sessions) SESSIONS="$2" ;;
    --depth) DEPTH="$2" ;;
    --workloads) WORKLOADS="$2" ;;
    --dir) BASE_DIR="$2" ;;
    --keep) KEEP=1 COMMON_USED=1 ;;
    *) return 1 ;;
  esac
}

# Installs Debian's ZooKeeper 3.8 if missing and builds rzk (release); sets ROOT and RZK.
prepare_tools() {
  ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  if ! [ -f /usr/share/java/zookeeper.jar ]; then
    echo "installing ZooKeeper 3.8 (apt-get install zookeeper zookeeper-bin)..." >&2
    apt-get update -qq && apt-get install -y -qq zookeeper zookeeper-bin >/dev/null
  fi
  echo "building rzk (release)..." >&2
  (cd "$ROOT" && CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-1}" cargo build --release -q -p rzk)
  RZK="${CARGO_TARGET_DIR:-$ROOT/target}/release/rzk"
}

# One field of the last JSON line on stdin.
json_field() { python3 -c 'import json,sys; print(json.loads(sys.stdin.read().strip().splitlines()[-1])[sys.argv[1]])' "$1"; }

# A free loopback port.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# The zoo.cfg of a standalone benchmark server (ZooKeeper's and rzk's alike): $1 dataDir, $2 client port.
common_cfg() { # $1 data dir, $2 port
  cat <<CFG
tickTime=2000
initLimit=10
syncLimit=5
dataDir=$1
clientPort=$2
clientPortAddress=127.0.0.1
maxClientCnxns=0
forceSync=yes
4lw.commands.whitelist=*
admin.enableServer=false
CFG
}
