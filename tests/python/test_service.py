"""zkServer.sh's verbs: `rzk start | start-foreground | stop | restart | status | version [zoo.cfg]`.

The outcome lines are zkServer.sh 3.8's ("Starting zookeeper ... STARTED", "already running as process N.",
"Stopping zookeeper ... STOPPED", "no zookeeper to stop (could not find file F)"), and so are the pid file
(zookeeper_server.pid in dataDir, or $ZOOPIDFILE) and the config lookup ($ZOOCFGDIR). Where zkServer.sh is
sloppy these check the better behaviour: `start` returns once the server serves or with the reason it did not,
`stop` returns once the process is gone, and a stale pid file is neither trusted nor acted on.
"""

import os
import shutil
import signal
import socket
import subprocess
import time

import pytest
from kazoo.client import KazooClient

import servers

RZK = servers.rzk_binary()


def run(*args, env=None, cwd=None, timeout=120):
    full_env = dict(os.environ)
    for var in ("ZOOCFGDIR", "ZOOPIDFILE", "ZOO_LOG_DIR"):
        full_env.pop(var, None)
    full_env.update(env or {})
    return subprocess.run(
        [str(RZK), *args], capture_output=True, text=True, timeout=timeout, env=full_env, cwd=cwd
    )


def config(tmp_path, port=None, name="zoo.cfg"):
    port = port or servers.free_port()
    cfg = tmp_path / name
    cfg.write_text(f"dataDir={tmp_path / 'data'}\nclientPort={port}\nclientPortAddress=127.0.0.1\n")
    return cfg, port


def pid_in(path):
    return int(path.read_text().strip())


def is_alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(") ", 1)[1][0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in "ZX"


def listening(port):
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture
def cleanup():
    """Pids of servers a test started; any still alive at the end are killed."""
    pids = []
    yield pids
    for pid in pids:
        if is_alive(pid):
            os.kill(pid, signal.SIGKILL)


def test_start_status_restart_stop(tmp_path, cleanup):
    cfg, port = config(tmp_path)
    pid_file = tmp_path / "data" / "zookeeper_server.pid"

    started = run("start", str(cfg))
    assert started.returncode == 0, started.stdout + started.stderr
    assert started.stdout == "Starting zookeeper ... STARTED\n"
    assert started.stderr.splitlines()[0] == f"Using config: {cfg}"
    pid = pid_in(pid_file)
    cleanup.append(pid)
    # Returned only once the server serves: no retry needed.
    assert listening(port)
    zk = KazooClient(hosts=f"127.0.0.1:{port}", timeout=10)
    zk.start(timeout=10)
    zk.create("/kept", b"v")
    zk.stop()
    zk.close()

    again = run("start", str(cfg))
    assert again.returncode == 1
    assert again.stdout == f"Starting zookeeper ... already running as process {pid}.\n"
    assert pid_in(pid_file) == pid and is_alive(pid)

    status = run("status", str(cfg))
    assert status.returncode == 0
    assert status.stdout.splitlines() == [
        f"Client port found: {port}. Client address: 127.0.0.1. Client SSL: false.",
        "Mode: standalone",
    ]

    restarted = run("restart", str(cfg))
    assert restarted.returncode == 0, restarted.stdout + restarted.stderr
    assert restarted.stdout == "Stopping zookeeper ... STOPPED\nStarting zookeeper ... STARTED\n"
    assert not is_alive(pid)
    new_pid = pid_in(pid_file)
    cleanup.append(new_pid)
    assert new_pid != pid
    zk = KazooClient(hosts=f"127.0.0.1:{port}", timeout=10)
    zk.start(timeout=10)
    assert zk.get("/kept")[0] == b"v"
    zk.stop()
    zk.close()

    stopped = run("stop", str(cfg))
    assert stopped.returncode == 0
    assert stopped.stdout == "Stopping zookeeper ... STOPPED\n"
    # Returned only once the process is gone, after its clean stop removed the pid file.
    assert not is_alive(new_pid)
    assert not pid_file.exists()
    assert not listening(port)

    none = run("stop", str(cfg))
    assert none.returncode == 0
    assert none.stdout == f"Stopping zookeeper ... no zookeeper to stop (could not find file {pid_file})\n"

    down = run("status", str(cfg))
    assert down.returncode == 1
    assert "Error contacting service. It is probably not running." in down.stdout


def test_a_stale_pid_file_is_not_trusted(tmp_path, cleanup):
    cfg, port = config(tmp_path)
    data = tmp_path / "data"
    data.mkdir()
    pid_file = data / "zookeeper_server.pid"

    # Another program holds the pid (this test process): stop must not signal it, start must not refuse.
    pid_file.write_text(f"{os.getpid()}")
    stop = run("stop", str(cfg))
    assert stop.returncode == 0
    assert stop.stdout.startswith(
        f"Stopping zookeeper ... no zookeeper to stop (the pid file {pid_file} is stale: "
        f"process {os.getpid()} is another program"
    )
    assert not pid_file.exists()

    # A process that is gone.
    gone = subprocess.Popen(["true"])
    gone.wait()
    pid_file.write_text(f"{gone.pid}\n")
    started = run("start", str(cfg))
    assert started.returncode == 0, started.stdout + started.stderr
    assert started.stdout == "Starting zookeeper ... STARTED\n"
    assert f"Removing the stale pid file {pid_file}: process {gone.pid} is not running" in started.stderr
    pid = pid_in(pid_file)
    cleanup.append(pid)
    assert pid != gone.pid and is_alive(pid) and listening(port)

    # A server killed without its clean stop leaves its pid file: stop says so and removes it.
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while is_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    stop = run("stop", str(cfg))
    assert stop.returncode == 0
    assert "is stale: process" in stop.stdout and "removed it" in stop.stdout
    assert not pid_file.exists()


def test_start_says_why_the_server_did_not_start(tmp_path, cleanup):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        cfg, port = config(tmp_path, port=taken.getsockname()[1])
        failed = run("start", str(cfg))
    assert failed.returncode == 1
    lines = failed.stdout.splitlines()
    assert lines[0] == "Starting zookeeper ... FAILED TO START"
    assert f"cannot listen for clients on 127.0.0.1:{port}" in lines[1]
    assert "Address already in use" in lines[1]
    assert str(tmp_path / "data" / "rzk-server.out") in lines[1]
    assert not (tmp_path / "data" / "zookeeper_server.pid").exists()

    bad = tmp_path / "bad.cfg"
    bad.write_text("dataDir=/tmp/nowhere\nclientPort=not-a-port\n")
    failed = run("start", str(bad))
    assert failed.returncode == 1
    assert failed.stdout.splitlines() == [
        "Starting zookeeper ... FAILED TO START",
        f"invalid config {bad}: zoo.cfg line 2: clientPort: 'not-a-port' is not a port number (1-65535)",
    ]


def test_config_dir_pid_file_and_log_dir_variables(tmp_path, cleanup):
    conf = tmp_path / "conf"
    conf.mkdir()
    cfg, port = config(conf)
    # The config names a relative dataDir: it is relative to where `start` runs, as for zkServer.sh.
    cfg.write_text(f"dataDir=data\nclientPort={port}\nclientPortAddress=127.0.0.1\n")
    env = {
        "ZOOCFGDIR": str(conf),
        "ZOOPIDFILE": str(tmp_path / "run" / "zk.pid"),
        "ZOO_LOG_DIR": str(tmp_path / "logs"),
    }
    started = run("start", env=env, cwd=tmp_path)
    assert started.returncode == 0, started.stdout + started.stderr
    assert started.stderr.splitlines()[0] == f"Using config: {conf / 'zoo.cfg'}"
    pid = pid_in(tmp_path / "run" / "zk.pid")
    cleanup.append(pid)
    assert (tmp_path / "data" / "rzk").is_dir()
    assert "starting node" in (tmp_path / "logs" / "rzk-server.log").read_text()
    assert (tmp_path / "logs" / "rzk-server.out").exists()
    status = run("status", "zoo.cfg", env=env)
    assert status.returncode == 0 and "Mode: standalone" in status.stdout
    stopped = run("stop", "zoo.cfg", env=env, cwd=tmp_path)
    assert stopped.stdout == "Stopping zookeeper ... STOPPED\n"
    assert not is_alive(pid)


def test_start_foreground_and_version(tmp_path):
    cfg, port = config(tmp_path)
    proc = subprocess.Popen(
        [str(RZK), "start-foreground", str(cfg)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not listening(port):
            assert proc.poll() is None, proc.stderr.read()
            assert time.monotonic() < deadline
            time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
        assert "stopped" in proc.stdout.read()
        assert proc.stderr.read().startswith(f"Using config: {cfg}")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    version = run("version")
    assert version.returncode == 0
    assert version.stdout.startswith("rzk, version ") and "ZooKeeper 3.8" in version.stdout


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_forking_systemd_unit_verifies(tmp_path):
    unit = (servers.REPO_ROOT / "conf" / "rzk-forking.service").read_text()
    assert "Type=forking" in unit and "PIDFile=/var/lib/rzk/zookeeper_server.pid" in unit
    assert "ExecStart=/usr/local/bin/rzk start /etc/rzk/zoo.cfg" in unit
    assert "ExecStop=/usr/local/bin/rzk stop /etc/rzk/zoo.cfg" in unit
    # verify checks that the binaries exist: point them at the one just built.
    path = tmp_path / "rzk.service"
    path.write_text(unit.replace("/usr/local/bin/rzk", str(RZK)))
    r = subprocess.run(["systemd-analyze", "verify", str(path)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
