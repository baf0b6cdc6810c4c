"""A smoke test of the C client (Debian's libzookeeper-mt2 through its shell, cli_mt from zookeeper-bin) on
each server: one batch command per session (`cli_mt -h host:port -c "cmd"`; not `exists`, after which
cli_mt's batch mode never exits, on ZooKeeper as on rzk), covering connect, create of each
mode, get, set, ls, ls2, sync, delete and the errors the C client reports. Skipped locally without
cli_mt, failed in CI (scripts/test.sh installs it)."""

import os
import re
import subprocess
from pathlib import Path

import pytest

CLI_MT = Path("/usr/lib/zookeeper/bin/cli_mt")


@pytest.fixture
def cli(server):
    if not CLI_MT.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{CLI_MT} is missing (scripts/test.sh installs zookeeper-bin)")
        pytest.skip(f"{CLI_MT} is missing (Debian's zookeeper-bin)")

    def run(command):
        r = subprocess.run(
            [str(CLI_MT), "-h", server.hosts, "-c", command], capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL
        )
        out = r.stdout + r.stderr
        assert "Got a new session id" in out, f"{command}: no session:\n{out}"
        return out

    return run


def test_the_c_client_creates_reads_changes_and_deletes(cli, root):
    c = f"{root}/c"
    out = cli(f"create {c}")
    assert f"[{c}]: rc = 0" in out and f"name = {c}" in out, out
    assert f"[{c}/child]: rc = 0" in cli(f"create {c}/child")
    out = cli(f"get {c}")
    # cli_mt creates with the data "new".
    assert f"{c}: rc = 0" in out and "value_len = 3" in out and "\nnew\n" in out, out
    out = cli(f"set {c} newval")
    assert f"{c}: rc = 0" in out and re.search(r"version=1\s", out), out
    out = cli(f"get {c}")
    assert "value_len = 6" in out and "\nnewval\n" in out, out
    out = cli(f"ls {c}")
    assert f"{c}: rc = 0" in out and "\tchild\n" in out, out
    out = cli(f"ls2 {c}")
    assert f"{c}: rc = 0" in out and "\tchild\n" in out and "version=1" in out, out
    assert f"[{c}]: rc = 0" in cli(f"sync {c}")
    assert f"{c}: rc = -111" in cli(f"delete {c}"), "ZNOTEMPTY"
    assert f"name = {c}/s-0000000001" in cli(f"create +s {c}/s-")
    assert f"[{root}/box]: rc = 0" in cli(f"create +c {root}/box")
    assert f"[{root}/ttl]: rc = 0" in cli(f"create +t=60000 {root}/ttl")
    assert f"[{root}/e]: rc = 0" in cli(f"create +e {root}/e")
    # The ephemeral went with the batch command's session.
    assert f"{root}/e: rc = -101" in cli(f"get {root}/e")
    assert f"[{c}]: rc = -110" in cli(f"create {c}"), "ZNODEEXISTS"
    assert f"{root}/nope: rc = -101" in cli(f"get {root}/nope"), "ZNONODE"
    for p in (f"{c}/child", f"{c}/s-0000000001", c):
        assert f"{p}: rc = 0" in cli(f"delete {p}")
    assert f"{c}: rc = -101" in cli(f"get {c}")
