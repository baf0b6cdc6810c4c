"""Moving from Apache ZooKeeper 3.8 to rzk and back, on real ZooKeeper data (issue 17).

ZooKeeper (Debian's 3.8) is driven by a workload that makes every kind of node: persistent, ephemeral of a
live session and of a closed one, sequential with gaps, TTL and container nodes, digest/ip/world ACLs, a
quota, null and 1 MB data, multis (one failed), non-ASCII paths; `snapCount` is small so snapshots are
taken mid-load and the logs overlap fuzzy snapshots. Then ZooKeeper is stopped (SIGTERM, or kill -9) and
rzk starts on the same zoo.cfg. Checked: a full dump (data, every stat field, ACLs) equals ZooKeeper's
before the stop; the live session reconnects with its id and password and keeps its ephemerals; sequential
names continue without a repeat; ZooKeeper's files are unchanged. Then `rzk export` and ZooKeeper started on
the export gives the same dump again. The same for a 3-server ensemble.

RZK_MIGRATION_NODES sets the number of plain nodes (CI: 2000; the documented longer run: 100000).
"""

import hashlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
import rawzk
import servers
from kazoo.client import KazooClient
from kazoo.retry import KazooRetry
from kazoo.security import make_digest_acl, ACL, Id, Permissions

pytestmark = pytest.mark.skipif(
    "zk" not in servers.selected_targets(), reason="needs Apache ZooKeeper to write the data"
)

NODES = int(os.environ.get("RZK_MIGRATION_NODES", "2000"))
# Small enough that snapshots are taken mid-load (fuzzy, overlapping the logs), large enough that a long run
# does not write thousands of them. Logs are preallocated 1 MB at a time (not ZooKeeper's 64 MB).
SNAP_COUNT = max(40, NODES // 20)
SESSION_TIMEOUT_S = 20.0
TTL_MS = 3_600_000
STOP_WAIT_S = 60
CONFIG = "/zookeeper/config"


def zoo_cfg(data_dir, port, extra=""):
    return (
        f"tickTime=200\ninitLimit=50\nsyncLimit=25\ndataDir={data_dir}\nclientPort={port}\n"
        "clientPortAddress=127.0.0.1\nmaxSessionTimeout=30000\n"
        # ZooKeeper turns unknown keys into zookeeper.* system properties: these reach it too.
        f"snapCount={SNAP_COUNT}\npreAllocSize=1024\nextendedTypesEnabled=true\n4lw.commands.whitelist=*\n"
        "admin.enableServer=false\nmaxClientCnxns=0\n" + extra
    )


def spawn(kind, cfg, workdir, name):
    log = open(workdir / f"{name}.log", "ab")
    if kind == "zk":
        cmd = [
            "java", "-Xmx512m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
            # slf4j binds to the first binding on the class path: slf4j-simple logs INFO lines to stderr.
            "-cp", "/usr/share/java/slf4j-simple.jar:/usr/share/java/*",
            "org.apache.zookeeper.server.quorum.QuorumPeerMain", str(cfg),
        ]
    else:
        cmd = [str(servers.rzk_binary()), "server", str(cfg)]
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=workdir)
    log.close()
    return proc


def wait_serving(proc, port, log_path, timeout=90):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"server exited with {proc.returncode}:\n{Path(log_path).read_text(errors='replace')[-4000:]}")
        try:
            if servers.four_letter("127.0.0.1", port, "ruok", timeout=2) == "imok":
                c = rawzk.RawClient(("127.0.0.1", port), timeout_ms=4000)
                c.close()
                return
        except (OSError, rawzk.ConnectionClosed, TimeoutError):
            pass
        time.sleep(0.2)
    raise AssertionError(f"server did not serve within {timeout}s:\n{Path(log_path).read_text(errors='replace')[-4000:]}")


def stop(proc, how="term"):
    if proc.poll() is None:
        proc.send_signal(signal.SIGKILL if how == "kill" else signal.SIGTERM)
        try:
            proc.wait(timeout=STOP_WAIT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def client(port, **kw):
    c = KazooClient(hosts=f"127.0.0.1:{port}", timeout=SESSION_TIMEOUT_S, **kw)
    c.start(timeout=60)
    return c


def raw_create(port, path, data, flags, ttl=None):
    r = rawzk.RawClient(("127.0.0.1", port), timeout_ms=4000)
    try:
        op = rawzk.OP_CREATE_TTL if ttl else (rawzk.OP_CREATE_CONTAINER if flags == rawzk.CONTAINER else rawzk.OP_CREATE)
        reply = r.request(op, rawzk.create_body(path, data, flags=flags, ttl=ttl))
        assert reply.err == rawzk.OK, (path, reply.err)
    finally:
        r.close()


def workload(port):
    """Every kind of node; returns (live client, its ephemerals) — the live session stays open."""
    # Retries every second at most (kazoo's default backs off to a minute, longer than the session lives).
    live = client(port, connection_retry=KazooRetry(max_tries=-1, max_delay=1.0))
    live.create("/live", b"")
    live.create("/live/e", b"ephemeral of a live session", ephemeral=True)
    live.create("/live/es-", b"", ephemeral=True, sequence=True)

    c = client(port)
    c.create("/app", b"app")
    for batch in range(0, NODES, 500):
        pending = []
        for i in range(batch, min(batch + 500, NODES)):
            value = None if i % 97 == 0 else (b"" if i % 89 == 0 else f"value {i}".encode() * (1 + i % 5))
            pending.append(c.create_async(f"/app/n{i:06d}", value))
        for p in pending:
            p.get(timeout=60)
    for i in range(0, NODES, 7):
        c.set(f"/app/n{i:06d}", f"changed {i}".encode())
    for i in range(0, NODES, 11):
        c.delete(f"/app/n{i:06d}")
    # Sequential names with gaps from deleted children.
    c.create("/seq", b"")
    names = [c.create("/seq/s-", b"", sequence=True) for _ in range(30)]
    for n in names[::3]:
        c.delete(n)
    # ACLs: digest (with world read, so the dump can read it), ip, read-only world.
    c.create("/acl-digest", b"d", acl=[make_digest_acl("user", "pw", all=True), ACL(Permissions.READ, Id("world", "anyone"))])
    c.create("/acl-ip", b"i", acl=[ACL(Permissions.ALL, Id("ip", "127.0.0.1"))])
    c.create("/acl-read", b"r", acl=[ACL(Permissions.READ, Id("world", "anyone"))])
    c.create("/aclchanged", b"")
    c.set_acls("/aclchanged", [ACL(Permissions.READ | Permissions.WRITE, Id("world", "anyone"))])
    # Quota on /app/q (zkCli's setquota: the quota tree's nodes, the limits, the stats node).
    c.create("/app/q", b"")
    for i in range(5):
        c.create(f"/app/q/c{i}", b"12345")
    c.create("/zookeeper/quota/app", None)
    c.create("/zookeeper/quota/app/q", None)
    c.create("/zookeeper/quota/app/q/zookeeper_limits", b"count=100,bytes=-1")
    c.create("/zookeeper/quota/app/q/zookeeper_stats", b"count=0,bytes=0")
    c.create("/app/q/after-quota", b"xyz")
    # Null and large data, a non-ASCII path.
    c.create("/null", None)
    c.create("/big", b"\x07" * 1_000_000)
    c.create("/\u00e9t\u00e9-\u4e2d", "non-ASCII".encode())
    # TTL and container nodes (kazoo has no API for them).
    raw_create(port, "/ttl", b"t", rawzk.PERSISTENT_WITH_TTL, ttl=TTL_MS)
    raw_create(port, "/ttlseq-", b"t", rawzk.PERSISTENT_SEQUENTIAL_WITH_TTL, ttl=TTL_MS)
    raw_create(port, "/cont", b"c", rawzk.CONTAINER)
    c.create("/cont/child", b"")
    raw_create(port, "/cont-unused", b"", rawzk.CONTAINER)
    # Multis: one that applies, one that fails (logged with error sub-txns).
    t = c.transaction()
    t.create("/multi", b"m")
    t.create("/multi/a", b"a")
    t.set_data("/app", b"app v2")
    t.delete("/app/n000001")
    results = t.commit()
    assert not any(isinstance(r, Exception) for r in results), results
    t = c.transaction()
    t.create("/multi/failed", b"")
    t.check("/multi", 99)
    results = t.commit()
    assert all(isinstance(r, Exception) for r in results), results
    # A closed session's ephemerals go with it.
    gone = client(port)
    gone.create("/live/gone", b"", ephemeral=True)
    gone.stop()
    gone.close()
    c.stop()
    c.close()
    return live


def wait_reconnected(c, sid, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if c.connected and c.client_id and c.client_id[0] == sid:
            try:
                c.exists("/")
                return
            except Exception:  # noqa: BLE001 - still reconnecting
                pass
        time.sleep(0.2)
    raise AssertionError(f"session 0x{sid:x} did not reconnect (state {c.state}, id {c.client_id})")


def stat_fields(s):
    return (s.czxid, s.mzxid, s.ctime, s.mtime, s.version, s.cversion, s.aversion, s.ephemeralOwner, s.dataLength, s.numChildren, s.pzxid)


def dump(port):
    """path -> (data, stat fields, ACLs) for every node, read after a sync."""
    c = client(port)
    try:
        c.sync("/")
        out = {}
        todo = ["/"]
        while todo:
            path = todo.pop()
            data, stat = c.get(path)
            acls, _ = c.get_acls(path)
            out[path] = (data, stat_fields(stat), sorted((a.perms, a.id.scheme, a.id.id) for a in acls))
            for child in c.get_children(path):
                todo.append(("" if path == "/" else path) + "/" + child)
        return out
    finally:
        c.stop()
        c.close()


def file_digests(directory):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(Path(directory).iterdir()) if p.is_file()}


def differences(a, b):
    keys = sorted(set(a) | set(b))
    return [(k, a.get(k), b.get(k)) for k in keys if a.get(k) != b.get(k)][:10]


def next_sequence(entry):
    """The sequence number ZooKeeper gives the next sequential child: the parent's stored cversion
    (clients see 2 * stored - numChildren)."""
    fields = entry[1]
    cversion, num_children = fields[5], fields[9]
    return (cversion + num_children) // 2


@pytest.fixture
def workdir():
    d = Path(tempfile.mkdtemp(prefix="rzk-test-migrate-"))
    yield d
    if os.environ.get("RZK_TEST_KEEP_DIRS") != "1":
        shutil.rmtree(d, ignore_errors=True)


@pytest.mark.parametrize("how", ["term", "kill"])
def test_standalone_zookeeper_to_rzk_and_back(workdir, how):
    data = workdir / "data"
    data.mkdir()
    port = servers.free_port()
    cfg = workdir / "zoo.cfg"
    cfg.write_text(zoo_cfg(data, port))
    procs = []
    try:
        zk = spawn("zk", cfg, workdir, "zk")
        procs.append(zk)
        wait_serving(zk, port, workdir / "zk.log")
        live = workload(port)
        sid = live.client_id[0]
        before = dump(port)
        # The live client keeps its session open: once rzk serves on the port, it reconnects by itself
        # with its session id and password, as a real application would.
        stop(zk, how)
        zk_files = file_digests(data / "version-2")
        assert any(n.startswith("snapshot.") for n in zk_files) and any(n.startswith("log.") for n in zk_files)

        rzk = spawn("rzk", cfg, workdir, "rzk")
        procs.append(rzk)
        wait_serving(rzk, port, workdir / "rzk.log")
        wait_reconnected(live, sid)
        after = dump(port)
        assert after == before, differences(before, after)
        assert "started from Apache ZooKeeper's data directory" in (workdir / "rzk.log").read_text()

        # The live session reconnected with its id and password and kept its ephemerals.
        assert live.get("/live/e")[1].ephemeralOwner == sid
        # Sequential names continue without a repeat.
        expected = next_sequence(before["/seq"])
        created = live.create("/seq/s-", b"", sequence=True)
        assert created == f"/seq/s-{expected:010d}", created
        assert created not in before
        live.stop()  # closes the session: its ephemerals go
        live.close()
        assert file_digests(data / "version-2") == zk_files, "rzk changed ZooKeeper's files"

        # The way back: rzk's state exported and ZooKeeper started on it.
        on_rzk = dump(port)
        assert "/live/e" not in on_rzk and created in on_rzk
        stop(rzk)
        export = workdir / "export"
        out = subprocess.run([str(servers.rzk_binary()), "export", "--zookeeper", str(export), str(cfg)], capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr
        port2 = servers.free_port()
        cfg2 = workdir / "zoo-export.cfg"
        cfg2.write_text(zoo_cfg(export, port2))
        zk2 = spawn("zk", cfg2, workdir, "zk-export")
        procs.append(zk2)
        wait_serving(zk2, port2, workdir / "zk-export.log")
        assert dump(port2) == on_rzk, differences(on_rzk, dump(port2))
    finally:
        for p in procs:
            stop(p, "kill")


def test_a_zookeeper_ensemble_replaced_by_rzk(workdir):
    n = 3
    ports = [(servers.free_port(), servers.free_port(), servers.free_port()) for _ in range(n)]
    members = "".join(f"server.{i + 1}=127.0.0.1:{q}:{e}\n" for i, (_, q, e) in enumerate(ports))
    cfgs = []
    for i, (client_port, _, _) in enumerate(ports):
        d = workdir / f"s{i + 1}"
        (d / "data").mkdir(parents=True)
        (d / "data" / "myid").write_text(f"{i + 1}\n")
        cfg = d / "zoo.cfg"
        cfg.write_text(zoo_cfg(d / "data", client_port, members))
        cfgs.append(cfg)
    procs = []
    try:
        zks = [spawn("zk", cfg, cfg.parent, "zk") for cfg in cfgs]
        procs += zks
        for zk, cfg, (p, _, _) in zip(zks, cfgs, ports):
            wait_serving(zk, p, cfg.parent / "zk.log")
        live = workload(ports[0][0])
        sid = live.client_id[0]
        live.sync("/")
        before = [dump(p) for p, _, _ in ports]
        # Each server writes /zookeeper/config locally (its own mtime); the rest is replicated.
        config = before[0].pop(CONFIG)[0]
        for b in before[1:]:
            assert b.pop(CONFIG)[0] == config
            assert b == before[0], differences(before[0], b)
        for zk in zks:
            stop(zk)
        zk_files = [file_digests(cfg.parent / "data" / "version-2") for cfg in cfgs]

        rzks = [spawn("rzk", cfg, cfg.parent, "rzk") for cfg in cfgs]
        procs += rzks
        for r, cfg, (p, _, _) in zip(rzks, cfgs, ports):
            wait_serving(r, p, cfg.parent / "rzk.log")
        wait_reconnected(live, sid)
        for p, _, _ in ports:
            after = dump(p)
            assert after.pop(CONFIG)[0] == config
            assert after == before[0], differences(before[0], after)
        assert live.get("/live/e")[1].ephemeralOwner == sid
        live.create("/written-on-rzk", b"")
        live.stop()
        live.close()
        for cfg, files in zip(cfgs, zk_files):
            assert file_digests(cfg.parent / "data" / "version-2") == files
    finally:
        for p in procs:
            stop(p, "kill")
