"""`rzk cli` (zkCli.sh's shell), `rzk status` and the systemd unit.

The shell is driven through stdin scripts and through a pseudo-terminal. One scenario runs in both Debian's
zkCli.sh against ZooKeeper 3.8 and `rzk cli` against rzk: their outputs must agree once the figures that
differ between any two servers (times, zxids, session ids) are masked.
"""

import os
import pty
import re
import select
import shutil
import subprocess
import time
import uuid
from pathlib import Path

import pytest

import servers
from conftest import _get_server

ZKCLI = Path("/usr/share/zookeeper/bin/zkCli.sh")
RZK = servers.rzk_binary()


def rzk_cli(server, *args, stdin=None):
    return subprocess.run(
        [str(RZK), "cli", "-server", server.hosts, *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


def scenario(root):
    return "\n".join(
        [
            f"create {root} hello",
            f"create {root} again",
            f"create -e {root}/e1 eph",
            f"create -s {root}/s data",
            f"ls {root}",
            f"ls -s {root}",
            f"ls -R {root}",
            f"get {root}",
            f"get -s {root}",
            f"set {root} world",
            f"set -v 7 {root} nope",
            f"stat {root}",
            f"stat {root}/missing",
            f"get {root}/missing",
            f"getAcl {root}",
            f"delete {root}",
            f"getAllChildrenNumber {root}",
            "addauth digest u:p",
            f"create {root}/q 1 digest:u:x:cdrwa",
            f"getAcl {root}/q",
            f"setAcl {root}/s world:anyone:r",
            f"getAcl {root}/s",
            f"sync {root}",
            f"create -c {root}/c",
            "nosuchcommand",
            f"deleteall {root}/e1",
            f"ls {root}",
            "quit",
        ]
    ) + "\n"


def normalize(text):
    out = []
    for line in text.splitlines():
        if not line.strip() or "JLine" in line or line.startswith("Connecting to"):
            continue
        if re.match(r"^(ctime|mtime) = ", line):
            continue
        line = re.sub(r"= 0x[0-9a-f]+$", "= 0x?", line)
        line = re.sub(r"^ZooKeeper CLI version: .*", "ZooKeeper CLI version: ?", line)
        out.append(line)
    return out


def zkcli_messages(stderr):
    """zkCli logs to stderr too (log4j): keep only its own messages."""
    return [l for l in normalize(stderr) if not re.search(r"\b(INFO|WARN|DEBUG|ERROR)\b|SLF4J|log4j", l)]


@pytest.mark.skipif(not ZKCLI.exists(), reason="Debian's zookeeper package (zkCli.sh) is not installed")
def test_stdin_script_prints_what_zkcli_prints():
    if "zk" not in servers.selected_targets():
        pytest.skip("the ZooKeeper reference is not selected")
    zk, rzk = _get_server("zk"), _get_server("rzk")
    root = f"/cli_{uuid.uuid4().hex[:8]}"
    script = scenario(root)
    ref = subprocess.run(
        [str(ZKCLI), "-server", zk.hosts], input=script, capture_output=True, text=True, timeout=120
    )
    ours = rzk_cli(rzk, stdin=script)
    assert normalize(ours.stdout) == normalize(ref.stdout)
    assert normalize(ours.stderr) == zkcli_messages(ref.stderr)
    assert ours.returncode != 0  # some commands failed


def quota_and_shell_scenario(root):
    """Quotas, config, reconfig and the shell's own commands, including every error zkCli reports."""
    lines = [
        f"create {root}",
        f"create {root}/a 12345",
        f"create {root}/a/b xy",
        f"create {root}/c",
        f"setquota -n 5 {root}/a",
        f"listquota {root}/a",
        f"get {root}/x",
        f"get /zookeeper/quota{root}/a/zookeeper_limits",
        f"setquota -b 100 {root}/a",
        f"setquota -N 10 {root}/a",
        f"setquota -B 1000 {root}/a",
        f"listquota {root}/a",
        f"setquota -n 5 {root}",
        f"setquota -n 5 {root}/a/b",
        f"setquota -n 0 {root}/c",
        f"setquota -b -1 {root}/c",
        f"setquota -n x {root}/c",
        f"setquota -n 5 {root}/nope",
        "setquota -n 5 /zookeeper/quota",
        "setquota -n 5 /",
        "setquota -n 5 relative",
        f"setquota {root}/c",
        "setquota -n 5",
        f"setquota -n 5 -b 6 {root}/c",
        f"listquota {root}/c",
        "listquota /",
        f"delquota -n {root}/a",
        f"delquota -N -B {root}/a",
        f"delquota -B {root}/a",
        f"listquota {root}/a",
        f"delquota {root}/a",
        f"listquota {root}/a",
        f"ls /zookeeper/quota{root}",
        f"delquota {root}/a",
        "delquota /",
        "delquota",
        f"setquota -n 3 {root}/a/b",
        f"listquota {root}/a/b",
        f"delquota {root}/a/b",
        f"ls /zookeeper/quota{root}",
        "config",
        "config -s",
        "config -c",
        "config -x",
        "reconfig -add server.5=127.0.0.1:1234:1235;21999",
        "reconfig -s -v 10 -remove 3",
        "reconfig",
        "reconfig -v zz -add x",
        "reconfig -file /nonexistent/dynamic.cfg",
        "reconfig -add a -members b",
        "reconfig -file a -members b",
        "reconfig -x",
        "reconfig -remove",
        f"ls {root}",
    ]
    # History numbers count from 0: redo the `ls` just above, then one out of range.
    lines += [f"redo {len(lines) - 1}", "redo 99"]
    lines += [
        "history",
        "printwatches",
        "printwatches off",
        "printwatches",
        "version",
        "version x",
        f"getEphemerals {root}",
        f"getAllChildrenNumber {root}",
        "getAllChildrenNumber",
        "set -v",
        "get -x /",
        f"deleteall {root}",
        "close",
        "ls /",
        "quit",
    ]
    return "\n".join(lines) + "\n"


@pytest.mark.skipif(not ZKCLI.exists(), reason="Debian's zookeeper package (zkCli.sh) is not installed")
def test_quota_config_and_shell_commands_print_what_zkcli_prints():
    """The same script three ways: zkCli on ZooKeeper (the reference), rzk cli on ZooKeeper (must be
    identical: the quota commands are client-side), rzk cli on rzk (identical too: the server keeps the quota
    usage as ZooKeeper's does)."""
    if "zk" not in servers.selected_targets():
        pytest.skip("the ZooKeeper reference is not selected")
    zk, rzk = _get_server("zk"), _get_server("rzk")
    # One root for all three runs, so that outputs compare as they are: each run removes what it made.
    script = quota_and_shell_scenario(f"/qz_{uuid.uuid4().hex[:8]}")
    ref = subprocess.run(
        [str(ZKCLI), "-server", zk.hosts],
        input=script,
        capture_output=True,
        text=True,
        timeout=120,
    )
    ref_out, ref_err = normalize(ref.stdout), zkcli_messages(ref.stderr)
    assert "KeeperErrorCode = Reconfig is disabled" in ref_err
    ours_on_zk = rzk_cli(zk, stdin=script)
    assert normalize(ours_on_zk.stdout) == ref_out
    assert normalize(ours_on_zk.stderr) == ref_err
    ours = rzk_cli(rzk, stdin=script)
    assert normalize(ours.stdout) == ref_out
    assert normalize(ours.stderr) == ref_err


@pytest.mark.rzk_only
def test_one_shot_commands_set_exit_codes_for_scripts(server):
    root = f"/oneshot_{uuid.uuid4().hex[:8]}"
    created = rzk_cli(server, "create", root, "some data")
    assert created.returncode == 0, created.stderr
    assert created.stderr.strip() == f"Created {root}"
    got = rzk_cli(server, "get", root)
    assert (got.returncode, got.stdout) == (0, "some data\n")
    missing = rzk_cli(server, "get", f"{root}/missing")
    assert missing.returncode == 1
    assert missing.stderr.strip() == f"Node does not exist: {root}/missing"
    assert missing.stdout == ""
    bad = rzk_cli(server, "frobnicate")
    assert bad.returncode == 1


@pytest.mark.rzk_only
def test_stdin_scripts_fail_when_any_command_fails(server):
    root = f"/stdin_{uuid.uuid4().hex[:8]}"
    ok = rzk_cli(server, stdin=f"create {root}\nls {root}\n")
    assert ok.returncode == 0, ok.stderr
    assert "[]" in ok.stdout.splitlines()
    failed = rzk_cli(server, stdin=f"get {root}/nope\nls {root}\n")
    assert failed.returncode == 1


def test_quota_lifecycle_one_command_at_a_time(server):
    root = f"/quota_{uuid.uuid4().hex[:8]}"
    assert rzk_cli(server, "create", root).returncode == 0
    assert rzk_cli(server, "create", f"{root}/kid", "abc").returncode == 0
    assert rzk_cli(server, "setquota", "-n", "10", root).returncode == 0
    assert rzk_cli(server, "setquota", "-B", "4096", root).returncode == 0
    listed = rzk_cli(server, "listquota", root)
    assert listed.returncode == 0, listed.stderr
    assert listed.stderr == f"absolute path is /zookeeper/quota{root}/zookeeper_limits\n"
    out = listed.stdout.splitlines()
    assert out[0] == f"Output quota for {root} count=10,bytes=-1=;byteHardLimit=4096;countHardLimit=-1"
    assert re.fullmatch(rf"Output stat for {root} count=\d+,bytes=\d+", out[1])
    # Quotas do not nest.
    nested = rzk_cli(server, "setquota", "-n", "1", f"{root}/kid")
    assert nested.returncode == 1
    assert nested.stderr.strip() == f"{root}/kid has a parent {root} which has a quota"
    assert rzk_cli(server, "delquota", "-B", root).returncode == 0
    assert rzk_cli(server, "listquota", root).stdout.splitlines()[0].endswith(
        "count=10,bytes=-1=;byteHardLimit=-1;countHardLimit=-1"
    )
    assert rzk_cli(server, "delquota", root).returncode == 0
    gone = rzk_cli(server, "listquota", root)
    assert gone.returncode == 1
    assert gone.stderr.splitlines()[-1] == f"quota for {root} does not exist."
    # The quota tree is trimmed back: nothing of this root is left under /zookeeper/quota.
    assert root[1:] not in rzk_cli(server, "ls", "/zookeeper/quota").stdout
    again = rzk_cli(server, "delquota", root)
    assert (again.returncode, again.stdout) == (0, f"Quota does not exist for {root}\n")


def test_setquota_refuses_bad_values_and_missing_nodes(server):
    root = f"/quotabad_{uuid.uuid4().hex[:8]}"
    assert rzk_cli(server, "create", root).returncode == 0
    cases = [
        (["-n", "0", root], "the num quota must be greater than zero"),
        (["-b", "-1", root], "the bytes quota must be greater than or equal to zero"),
        (["-N", "many", root], "NumberFormatException happens when parsing the option value"),
        (["-n", "1", f"{root}/missing"], f"{root}/missing does not exist."),
        (["-n", "1", "/zookeeper/quota/x"], "cannot set a quota under the path: /zookeeper/quota"),
        (["-n", "1"], "setquota -n|-b|-N|-B val path"),
    ]
    for args, message in cases:
        r = rzk_cli(server, "setquota", *args)
        assert (r.returncode, r.stderr.strip()) == (1, message), args


@pytest.mark.rzk_only
def test_config_is_empty_and_reconfig_is_disabled_on_a_standalone_rzk(server):
    config = rzk_cli(server, "config")
    assert (config.returncode, config.stdout) == (0, "\n")
    client = rzk_cli(server, "config", "-c")
    assert client.stdout == " \n"
    with_stat = rzk_cli(server, "config", "-s").stdout.splitlines()
    assert "aclVersion = -1" in with_stat and "dataLength = 0" in with_stat
    reconfig = rzk_cli(server, "reconfig", "-add", "server.5=127.0.0.1:1234:1235;21999")
    assert (reconfig.returncode, reconfig.stderr) == (1, "KeeperErrorCode = Reconfig is disabled\n")


@pytest.mark.rzk_only
def test_redo_reruns_a_history_entry_in_its_own_place(server):
    root = f"/redo_{uuid.uuid4().hex[:8]}"
    script = f"create {root} v\nget {root}\nredo 1\nredo 5\nhistory\nprintwatches off\nprintwatches\n"
    r = rzk_cli(server, stdin=script)
    assert r.returncode == 1  # redo 5 is out of range
    assert "Command index out of range" in r.stderr
    out = r.stdout.splitlines()
    assert out.count("v") == 2
    assert out[-6:] == [
        f"0 - create {root} v",
        f"1 - get {root}",
        f"2 - get {root}",
        "3 - redo 5",
        "4 - history",
        "printwatches is off",
    ]


class Pty:
    """`rzk cli` on a pseudo-terminal, as a person would use it."""

    def __init__(self, server):
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            os.execv(str(RZK), [str(RZK), "cli", "-server", server.hosts])
        self.out = b""

    def send(self, text):
        os.write(self.fd, text.encode())

    def expect(self, needle, timeout=20):
        deadline = time.time() + timeout
        while needle.encode() not in self.out:
            left = deadline - time.time()
            if left <= 0:
                raise AssertionError(f"{needle!r} not seen; got:\n{self.out.decode(errors='replace')}")
            ready, _, _ = select.select([self.fd], [], [], left)
            if ready:
                try:
                    self.out += os.read(self.fd, 65536)
                except OSError:
                    break
        return self.out

    def kill(self):
        os.kill(self.pid, 9)
        os.waitpid(self.pid, 0)
        os.close(self.fd)

    def close(self):
        try:
            self.send("quit\n")
            _, status = os.waitpid(self.pid, 0)
            return os.waitstatus_to_exitcode(status)
        finally:
            os.close(self.fd)


@pytest.mark.rzk_only
def test_interactive_shell_prints_watch_events_as_they_arrive(server):
    root = f"/pty_{uuid.uuid4().hex[:8]}"
    sh = Pty(server)
    try:
        sh.expect("(CONNECTED) 0] ")
        sh.send(f"create {root} v1\n")
        sh.expect(f"Created {root}")
        sh.send(f"get -w {root}\n")
        sh.expect("v1")
        # Another client changes the node: the event appears without any command typed.
        assert rzk_cli(server, "set", root, "v2").returncode == 0
        sh.expect(f"WatchedEvent state:SyncConnected type:NodeDataChanged path:{root}")
        sh.send("history\n")
        sh.expect(f"1 - get -w {root}")
    finally:
        code = sh.close()
    assert code == 0


@pytest.mark.rzk_only
def test_interactive_shell_completes_paths_with_tab(server):
    root = f"/tab_{uuid.uuid4().hex[:8]}"
    assert rzk_cli(server, "create", root).returncode == 0
    assert rzk_cli(server, "create", f"{root}/completeme", "x").returncode == 0
    sh = Pty(server)
    try:
        sh.expect("(CONNECTED) 0] ")
        sh.send(f"get {root}/compl")
        sh.expect("compl")
        # Typed apart, as a person does: the completion asks the server for the children.
        sh.send("\t")
        sh.expect(f"{root}/completeme")
        sh.send("\n")
        sh.expect("\r\nx\r\n")
    finally:
        sh.kill()


@pytest.mark.rzk_only
def test_keys_typed_after_a_tab_completion_are_not_lost(server):
    """Enter right after Tab, then a whole command, all in one burst (a paste, or a fast typist).

    rustyline built without its buffer-redux feature dropped the bytes it had read past the first line, so
    the second command never ran and the shell looked hung. Every wait here is bounded: a hang fails.
    """
    root = f"/tabahead_{uuid.uuid4().hex[:8]}"
    assert rzk_cli(server, "create", root).returncode == 0
    assert rzk_cli(server, "create", f"{root}/completeme", "x").returncode == 0
    assert rzk_cli(server, "create", f"{root}/other", "y").returncode == 0
    sh = Pty(server)
    try:
        sh.expect("(CONNECTED) 0] ")
        sh.send(f"get {root}/compl")
        sh.expect("compl")
        sh.send("\t")
        sh.expect(f"{root}/completeme")
        sh.send(f"\nls {root}\n")
        sh.expect("\r\nx\r\n")
        sh.expect("[completeme, other]")
        # The same with the completion itself inside the burst.
        sh.send(f"get {root}/oth\t\nstat {root}/other\n")
        sh.expect("\r\ny\r\n")
        sh.expect("dataLength = 1")
        sh.expect("(CONNECTED) 4] ")
    finally:
        sh.kill()


@pytest.mark.rzk_only
def test_status_prints_the_mode_of_local_servers(server, tmp_path):
    cfg = tmp_path / "zoo.cfg"
    cfg.write_text(f"dataDir={tmp_path}\nclientPort={server.port}\nclientPortAddress=127.0.0.1\n")
    up = subprocess.run([str(RZK), "status", str(cfg)], capture_output=True, text=True, timeout=30)
    assert up.returncode == 0, up.stdout + up.stderr
    assert up.stdout.splitlines() == [
        f"Client port found: {server.port}. Client address: 127.0.0.1. Client SSL: false.",
        "Mode: standalone",
    ]
    cfg.write_text(f"dataDir={tmp_path}\nclientPort={servers.free_port()}\nclientPortAddress=127.0.0.1\n")
    down = subprocess.run([str(RZK), "status", str(cfg)], capture_output=True, text=True, timeout=30)
    assert down.returncode != 0
    assert "Error contacting service. It is probably not running." in down.stdout


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_systemd_unit_verifies(tmp_path):
    unit = (servers.REPO_ROOT / "conf" / "rzk.service").read_text()
    # verify checks that ExecStart's binary exists: point it at the one just built.
    unit = unit.replace("/usr/local/bin/rzk", str(RZK))
    path = tmp_path / "rzk.service"
    path.write_text(unit)
    r = subprocess.run(["systemd-analyze", "verify", str(path)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr


@pytest.mark.skipif(not ZKCLI.exists(), reason="Debian's zookeeper package (zkCli.sh) is not installed")
def test_zkcli_add_watch_keeps_the_session(server):
    """zkCli 3.8's `addWatch` dropped its connection to rzk while rzk's reply lacked ZooKeeper's 4-byte body
    (issue 12): the persistent recursive watch now fires and later commands run on the same session."""
    root = f"/aw_{uuid.uuid4().hex[:8]}"
    script = "\n".join(
        [
            f"create {root}",
            f"addWatch {root}",
            f"create {root}/a x",
            f"set {root}/a y",
            f"get {root}/a",
            f"delete {root}/a",
            f"delete {root}",
            "quit",
        ]
    )
    r = subprocess.run(
        [str(ZKCLI), "-server", server.hosts], input=script + "\n", capture_output=True, text=True, timeout=120
    )
    out = r.stdout + r.stderr
    for event in (f"type:NodeCreated path:{root}/a", f"type:NodeDataChanged path:{root}/a"):
        assert f"WatchedEvent state:SyncConnected {event}" in out, out
    assert "y" in r.stdout.splitlines(), r.stdout
    assert "Disconnected" not in out and "ConnectionLoss" not in out, out
