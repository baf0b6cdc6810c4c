"""Start and stop the servers under test: rzk (our binary) and Apache ZooKeeper 3.8 (the reference).

Both get the same settings: loopback only, a free port, a fresh dataDir, a short tickTime so session
expiry is quick, every four-letter word enabled, extended types (TTL nodes) on, a known superDigest and a
fast container/TTL reaper.
"""

import base64
import hashlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]

TICK_TIME_MS = 200
MIN_SESSION_TIMEOUT_MS = 2 * TICK_TIME_MS
MAX_SESSION_TIMEOUT_MS = 20_000
# How often containers and expired TTL nodes are reaped (znode.container.checkIntervalMs).
CONTAINER_CHECK_INTERVAL_MS = 100
# How long a connection may stay open without a handshake (nio.sessionlessCnxnTimeout; default 10 s).
SESSIONLESS_CNXN_TIMEOUT_MS = 1000

SUPER_USER = "super"
SUPER_PASSWORD = "superpw"


def digest_id(user, password):
    """ZooKeeper's digest id: "user:" + base64(sha1("user:password"))."""
    raw = hashlib.sha1(f"{user}:{password}".encode()).digest()
    return f"{user}:{base64.b64encode(raw).decode()}"


SUPER_DIGEST = digest_id(SUPER_USER, SUPER_PASSWORD)

ALL_TARGETS = ("zk", "rzk")
STARTUP_TIMEOUT_S = 30


def selected_targets():
    """The targets named by RZK_TEST_TARGETS (comma separated; default: both)."""
    raw = os.environ.get("RZK_TEST_TARGETS", "zk,rzk")
    targets = [t.strip() for t in raw.split(",") if t.strip()]
    unknown = [t for t in targets if t not in ALL_TARGETS]
    if unknown:
        raise ValueError(f"RZK_TEST_TARGETS names unknown targets {unknown}; known: {ALL_TARGETS}")
    return targets


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def four_letter(host, port, cmd, timeout=10.0):
    """Sends a four-letter word and returns the whole reply (the server closes the connection after it)."""
    with socket.create_connection((host, port), timeout=timeout) as s:
        s.sendall(cmd.encode("ascii"))
        chunks = []
        while True:
            try:
                chunk = s.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            chunks.append(chunk)
    return b"".join(chunks).decode("utf-8", "replace")


def rzk_binary():
    env = os.environ.get("RZK_BIN")
    if env:
        return Path(env)
    return REPO_ROOT / "target" / "debug" / "rzk"


def zoo_cfg_text(kind, data_dir, port):
    lines = [
        f"tickTime={TICK_TIME_MS}",
        f"minSessionTimeout={MIN_SESSION_TIMEOUT_MS}",
        f"maxSessionTimeout={MAX_SESSION_TIMEOUT_MS}",
        f"dataDir={data_dir}",
        f"clientPort={port}",
        "clientPortAddress=127.0.0.1",
        "4lw.commands.whitelist=*",
        "admin.enableServer=false",
        "maxClientCnxns=0",
    ]
    if kind == "rzk":
        # rzk reads these from zoo.cfg; ZooKeeper reads them as Java system properties (see start_zk).
        lines += [
            "extendedTypesEnabled=true",
            f"superDigest={SUPER_DIGEST}",
            f"znode.container.checkIntervalMs={CONTAINER_CHECK_INTERVAL_MS}",
            f"nio.sessionlessCnxnTimeout={SESSIONLESS_CNXN_TIMEOUT_MS}",
            "enforceQuota=true",
        ]
    return "\n".join(lines) + "\n"


@dataclass
class Server:
    kind: str  # "zk" or "rzk"
    host: str
    port: int
    workdir: Path
    proc: subprocess.Popen
    log_path: Path
    # Mutable state tests may stash (e.g. the last crst time); not used by the harness.
    extra: dict = field(default_factory=dict)

    @property
    def hosts(self):
        return f"{self.host}:{self.port}"

    @property
    def address(self):
        return (self.host, self.port)

    def alive(self):
        """True if the process runs and answers ruok with imok."""
        if self.proc.poll() is not None:
            return False
        try:
            return four_letter(self.host, self.port, "ruok", timeout=5) == "imok"
        except OSError:
            return False

    def log_tail(self, n=60):
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return "(no log)"

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if os.environ.get("RZK_TEST_KEEP_DIRS") != "1":
            shutil.rmtree(self.workdir, ignore_errors=True)


def _accepts_sessions(server):
    """ZooKeeper answers ruok before it serves sessions; a real handshake is the proof."""
    import rawzk  # here to keep servers.py importable on its own

    try:
        c = rawzk.RawClient(server.address, timeout_ms=MIN_SESSION_TIMEOUT_MS * 10)
        c.close()
        return True
    except (OSError, rawzk.ConnectionClosed, TimeoutError):
        return False


def _wait_until_serving(server):
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            message = f"{server.kind} exited with {server.proc.returncode} during startup:\n{server.log_tail()}"
            server.stop()
            raise RuntimeError(message)
        if server.alive() and _accepts_sessions(server):
            return
        time.sleep(0.1)
    message = f"{server.kind} did not start serving within {STARTUP_TIMEOUT_S}s:\n{server.log_tail()}"
    server.stop()
    raise RuntimeError(message)


def start_zk(extra_cfg="", jvm_flags=()):
    """`extra_cfg`: zoo.cfg lines to add (ZooKeeper turns keys it does not know into `zookeeper.` system
    properties, so `ssl.*` lines work there too)."""
    workdir = Path(tempfile.mkdtemp(prefix="rzk-test-zk-"))
    data_dir = workdir / "data"
    data_dir.mkdir()
    port = free_port()
    conf_dir = workdir / "conf"
    conf_dir.mkdir()
    cfg = conf_dir / "zoo.cfg"
    cfg.write_text(zoo_cfg_text("zk", data_dir, port) + extra_cfg)
    (conf_dir / "log4j.properties").write_text(
        "log4j.rootLogger=INFO, CONSOLE\n"
        "log4j.appender.CONSOLE=org.apache.log4j.ConsoleAppender\n"
        "log4j.appender.CONSOLE.layout=org.apache.log4j.PatternLayout\n"
        "log4j.appender.CONSOLE.layout.ConversionPattern=%d{ISO8601} %-5p [%t:%C{1}@%L] - %m%n\n"
    )
    log_path = workdir / "server.log"
    cmd = [
        "java",
        "-Xmx256m",
        "-XX:+UseSerialGC",
        "-XX:TieredStopAtLevel=1",
        "-Dzookeeper.extendedTypesEnabled=true",
        f"-Dzookeeper.DigestAuthenticationProvider.superDigest={SUPER_DIGEST}",
        f"-Dznode.container.checkIntervalMs={CONTAINER_CHECK_INTERVAL_MS}",
        "-Dzookeeper.admin.enableServer=false",
        f"-Dzookeeper.nio.sessionlessCnxnTimeout={SESSIONLESS_CNXN_TIMEOUT_MS}",
        "-Dzookeeper.enforceQuota=true",
        *jvm_flags,
        f"-Dlog4j.configuration=file:{conf_dir / 'log4j.properties'}",
        "-cp",
        f"{conf_dir}:/usr/share/java/*",
        "org.apache.zookeeper.server.quorum.QuorumPeerMain",
        str(cfg),
    ]
    log = open(log_path, "wb")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=workdir)
    log.close()
    server = Server("zk", "127.0.0.1", port, workdir, proc, log_path)
    _wait_until_serving(server)
    return server


def start_rzk(extra_cfg="", jvm_flags=()):
    """`jvm_flags` go to rzk as ZooKeeper's scripts pass them to java: in $SERVER_JVMFLAGS (rzk reads
    -Djava.security.auth.login.config from it)."""
    binary = rzk_binary()
    if not binary.exists():
        raise RuntimeError(f"rzk binary not found at {binary}: run `cargo build -p rzk` or set RZK_BIN")
    workdir = Path(tempfile.mkdtemp(prefix="rzk-test-rzk-"))
    data_dir = workdir / "data"
    data_dir.mkdir()
    port = free_port()
    cfg = workdir / "zoo.cfg"
    cfg.write_text(zoo_cfg_text("rzk", data_dir, port) + extra_cfg)
    log_path = workdir / "server.log"
    log = open(log_path, "wb")
    env = dict(os.environ)
    if jvm_flags:
        env["SERVER_JVMFLAGS"] = " ".join(jvm_flags)
    proc = subprocess.Popen(
        [str(binary), "server", str(cfg)],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        cwd=workdir,
        env=env,
    )
    log.close()
    server = Server("rzk", "127.0.0.1", port, workdir, proc, log_path)
    _wait_until_serving(server)
    return server


def start(kind, extra_cfg="", jvm_flags=()):
    if kind == "zk":
        return start_zk(extra_cfg, jvm_flags)
    if kind == "rzk":
        if os.environ.get("RZK_TEST_RZK_IS_ZK") == "1":
            # Harness self-test: a second ZooKeeper stands in for rzk, so the zk-vs-rzk comparisons
            # can be exercised before rzk works. Never set this in CI.
            s = start_zk(extra_cfg, jvm_flags)
            s.kind = "rzk"
            return s
        return start_rzk(extra_cfg, jvm_flags)
    raise ValueError(kind)


def start_rzk_ensemble(n=3):
    """n rzk servers forming an ensemble on loopback (each with its own client, quorum and election port),
    returned once every one serves sessions (so a leader is elected and the others follow it). Stop each
    with .stop()."""
    binary = rzk_binary()
    if not binary.exists():
        raise RuntimeError(f"rzk binary not found at {binary}: run `cargo build -p rzk` or set RZK_BIN")
    ports = [(free_port(), free_port(), free_port()) for _ in range(n)]
    members = [f"server.{i + 1}=127.0.0.1:{q}:{e}" for i, (_, q, e) in enumerate(ports)]
    started = []
    try:
        for i, (client, _, _) in enumerate(ports):
            workdir = Path(tempfile.mkdtemp(prefix=f"rzk-test-ensemble{i + 1}-"))
            data_dir = workdir / "data"
            data_dir.mkdir()
            (data_dir / "myid").write_text(f"{i + 1}\n")
            cfg = workdir / "zoo.cfg"
            cfg.write_text(zoo_cfg_text("rzk", data_dir, client) + "initLimit=10\nsyncLimit=5\n" + "\n".join(members) + "\n")
            log_path = workdir / "server.log"
            with open(log_path, "wb") as log:
                proc = subprocess.Popen(
                    [str(binary), "server", str(cfg)], stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=workdir
                )
            started.append(Server("rzk", "127.0.0.1", client, workdir, proc, log_path))
        for s in started:
            _wait_until_serving(s)
        return started
    except BaseException:
        for s in started:
            s.stop()
        raise


def mode(server):
    """The Mode line of srvr: leader, follower, observer or standalone."""
    for line in four_letter(server.host, server.port, "srvr").splitlines():
        if line.startswith("Mode: "):
            return line[len("Mode: ") :].strip()
    return None
