"""rzk started on data directories it did not write, or that were damaged: a clear verdict in time linear in
the bytes on disk, and never a change to a file that is not rzk's.

These start their own servers (not the shared fixtures): each needs a data directory of its own."""

import hashlib
import os
import random
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
import servers
from kazoo.client import KazooClient

# A bound on how long any of these startups may take before the test calls it a hang. It is not a
# performance threshold: a linear pass over these files takes about a second; the quadratic search this
# guards against took minutes.
HANG_S = 120


def digests(directory):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(Path(directory).rglob("*")) if p.is_file()}


def rzk_on(data_dir, workdir):
    port = servers.free_port()
    cfg = Path(workdir) / "rzk.cfg"
    cfg.write_text(
        f"tickTime=200\ndataDir={data_dir}\nclientPort={port}\nclientPortAddress=127.0.0.1\nadmin.enableServer=false\n"
    )
    return subprocess.run(
        [str(servers.rzk_binary()), "server", str(cfg)],
        capture_output=True,
        text=True,
        timeout=HANG_S,
        stdin=subprocess.DEVNULL,
    )


@pytest.fixture
def workdir():
    d = tempfile.mkdtemp(prefix="rzk-test-datadir-")
    yield Path(d)
    shutil.rmtree(d, ignore_errors=True)


@pytest.mark.parametrize(
    "where, verdict",
    [
        ("rzk", "log.1 is corrupt at offset 0"),
        # Not rzk's magic in ZooKeeper's directory: read as ZooKeeper's, which never has logs without a snapshot.
        ("version-2", "ZooKeeper txn logs without a snapshot"),
    ],
)
def test_a_log_of_random_bytes_gets_a_verdict_and_is_kept(workdir, where, verdict):
    directory = workdir / "data" / where
    directory.mkdir(parents=True)
    rng = random.Random(7)
    (directory / "log.1").write_bytes(rng.randbytes(64 << 20))
    before = digests(directory)
    r = rzk_on(workdir / "data", workdir)
    assert r.returncode != 0
    assert verdict in r.stderr, r.stderr
    assert digests(directory) == before


def test_damage_in_the_middle_of_a_large_rzk_log_is_corruption_not_a_torn_tail(workdir):
    data_dir = workdir / "data"
    data_dir.mkdir()
    port = servers.free_port()
    cfg = workdir / "load.cfg"
    cfg.write_text(
        f"tickTime=200\ndataDir={data_dir}\nclientPort={port}\nclientPortAddress=127.0.0.1\n"
        "admin.enableServer=false\nsnapCount=1000000\n"
    )
    proc = subprocess.Popen(
        [str(servers.rzk_binary()), "server", str(cfg)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
    )
    try:
        c = KazooClient(hosts=f"127.0.0.1:{port}")
        c.start(timeout=30)
        value = os.urandom(900)
        for i in range(2000):
            c.create(f"/n{i}", value)
        c.stop()
        c.close()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    logs = sorted((data_dir / "rzk").glob("log.*"))
    assert logs, "rzk wrote no log"
    log = logs[-1]
    raw = bytearray(log.read_bytes())
    # Overwrite 1 MB in the middle of the written records with random bytes: valid records follow.
    written = len(raw.rstrip(b"\0"))
    start = written // 3
    raw[start : start + (1 << 20)] = random.Random(3).randbytes(1 << 20)
    log.write_bytes(bytes(raw))
    before = digests(data_dir)
    r = rzk_on(data_dir, workdir)
    assert r.returncode != 0
    assert "corrupt" in r.stderr and "yet a valid record follows" in r.stderr, r.stderr
    assert digests(data_dir) == before, "a corrupt log must not be repaired away"


FIXTURES_V1 = Path(__file__).resolve().parents[2] / "storage" / "tests" / "fixtures" / "v1"


def test_a_data_directory_of_format_version_1_is_served_and_null_data_survives_a_restart(workdir):
    """The files of the last build before null data (format 1), in the old layout (rzk's files in
    version-2/), are served as they were (moved into rzk/ at the first start); null data written on top of
    them (format 2 files beside format 1 ones) stays null across a restart, and the dump tools print the old
    files exactly as that build did."""
    data_dir = workdir / "data"
    shutil.copytree(FIXTURES_V1 / "version-2", data_dir / "version-2")
    rzk = str(servers.rzk_binary())
    logs = "".join(
        subprocess.run([rzk, "log", "dump", str(data_dir / "version-2" / f"log.{n}")], capture_output=True, text=True, check=True).stdout
        for n in ("1", "c", "18", "23")
    )
    assert logs == (FIXTURES_V1 / "logs.dump").read_text()
    snap = subprocess.run([rzk, "snapshot", "dump", str(data_dir / "version-2" / "snapshot.22")], capture_output=True, text=True, check=True)
    assert snap.stdout == (FIXTURES_V1 / "snapshot.22.dump").read_text()

    port = servers.free_port()
    cfg = workdir / "v1.cfg"
    cfg.write_text(f"tickTime=200\ndataDir={data_dir}\nclientPort={port}\nclientPortAddress=127.0.0.1\nadmin.enableServer=false\n")

    def serve():
        return subprocess.Popen([rzk, "server", str(cfg)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)

    proc = serve()
    try:
        c = KazooClient(hosts=f"127.0.0.1:{port}")
        c.start(timeout=30)
        assert c.get("/app/n03")[0] == b"changed"
        assert c.get("/app/empty")[0] == b""
        assert c.get("/app/bin")[0] == bytes(range(256))
        assert c.exists("/app/n04") is None
        c.create("/app/null", None)
        c.create("/app/set-null", b"x")
        c.set("/app/set-null", None)
        assert c.get("/app/null")[0] is None
        c.stop()
        c.close()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    proc = serve()
    try:
        c = KazooClient(hosts=f"127.0.0.1:{port}")
        c.start(timeout=30)
        data, stat = c.get("/app/null")
        assert data is None and stat.dataLength == 0
        assert c.get("/app/set-null")[0] is None
        assert c.get("/app/empty")[0] == b"", "empty stays apart from null"
        assert c.get("/app/late")[0] == b"after the snapshot"
        c.stop()
        c.close()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert list((data_dir / "version-2").iterdir()) == [], "rzk's files moved out of ZooKeeper's directory"
    assert (data_dir / "rzk" / "snapshot.22").exists() and (data_dir / "rzk" / "log.23").exists()
