"""TLS between servers (sslQuorum, ssl.quorum.*, portUnification) in a 3-server rzk ensemble on loopback, with
certificates made by openssl (tls_certs.py): the ensemble serves over TLS, refuses plaintext peers and a server
without quorum certificates, and switches from plaintext to TLS one server at a time (ZooKeeper's documented
rolling procedure: portUnification on, then sslQuorum on, then portUnification off) while serving clients."""

import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import pytest
from kazoo.client import KazooClient

import servers
import tls_certs

pytestmark = pytest.mark.skipif("rzk" not in servers.selected_targets(), reason="rzk is not a selected target")


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return tls_certs.make_pki(tmp_path_factory.mktemp("quorum-pki"))


def tls_lines(pki, ssl_quorum, unified):
    return (
        f"sslQuorum={'true' if ssl_quorum else 'false'}\n"
        f"portUnification={'true' if unified else 'false'}\n"
        f"ssl.quorum.keyStore.location={pki.server_pem}\n"
        f"ssl.quorum.trustStore.location={pki.ca}\n"
    )


class Ensemble:
    """Three rzk servers whose zoo.cfg can be changed and each restarted alone."""

    def __init__(self, n=3):
        self.ports = [(servers.free_port(), servers.free_port(), servers.free_port()) for _ in range(n)]
        self.members = [f"server.{i + 1}=127.0.0.1:{q}:{e}" for i, (_, q, e) in enumerate(self.ports)]
        self.dirs = []
        for i in range(n):
            d = Path(tempfile.mkdtemp(prefix=f"rzk-test-qtls{i + 1}-"))
            (d / "data").mkdir()
            (d / "data" / "myid").write_text(f"{i + 1}\n")
            self.dirs.append(d)
        self.procs = [None] * n
        self.logs = [0] * n

    def server(self, i):
        return servers.Server("rzk", "127.0.0.1", self.ports[i][0], self.dirs[i], self.procs[i], self.log(i))

    def log(self, i):
        return self.dirs[i] / f"server{self.logs[i]}.log"

    def start(self, i, extra=""):
        client, _, _ = self.ports[i]
        cfg = self.dirs[i] / "zoo.cfg"
        cfg.write_text(
            servers.zoo_cfg_text("rzk", self.dirs[i] / "data", client)
            + "initLimit=10\nsyncLimit=5\n"
            + "\n".join(self.members)
            + "\n"
            + extra
        )
        self.logs[i] += 1
        with open(self.log(i), "wb") as log:
            self.procs[i] = subprocess.Popen(
                [str(servers.rzk_binary()), "server", str(cfg)],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=self.dirs[i],
            )

    def stop(self, i):
        p = self.procs[i]
        if p is not None and p.poll() is None:
            p.terminate()
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        self.procs[i] = None

    def wait_serving(self, i):
        servers._wait_until_serving(self.server(i))

    def close(self):
        for i in range(len(self.procs)):
            self.stop(i)
        if os.environ.get("RZK_TEST_KEEP_DIRS") != "1":
            for d in self.dirs:
                shutil.rmtree(d, ignore_errors=True)

    def hosts(self, indexes=None):
        return ",".join(f"127.0.0.1:{self.ports[i][0]}" for i in (indexes or range(len(self.ports))))


@pytest.fixture
def ensemble():
    e = Ensemble()
    yield e
    e.close()


def kazoo(hosts):
    zk = KazooClient(hosts=hosts, timeout=10)
    zk.start(timeout=30)
    return zk


def write_and_read_back(ensemble, path, value):
    """Write through server 1 (any role), then read it back on each server after a sync."""
    with_client(ensemble.hosts([0]), lambda zk: zk.create(path, value, makepath=True))
    for i in range(3):
        got = with_client(ensemble.hosts([i]), lambda zk: (zk.sync(path), zk.get(path)[0])[1])
        assert got == value, (i, got)


def with_client(hosts, f):
    zk = kazoo(hosts)
    try:
        return f(zk)
    finally:
        zk.stop()
        zk.close()


def refuses_plaintext(port):
    """A plaintext peer hello (any non-TLS bytes) on a TLS-only quorum port: the server closes the connection
    without answering it."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(b"\x00\x00\x00\x0cRZKP\x00\x00\x00\x02\x00\x00\x00\x09")
        s.settimeout(10)
        data = b""
        try:
            while chunk := s.recv(4096):
                data += chunk
        except ConnectionResetError:
            pass
    # Nothing but (at most) a TLS alert record came back.
    return data == b"" or data[0] == 0x15


def test_a_tls_ensemble_serves_and_refuses_plaintext_peers(ensemble, pki):
    for i in range(3):
        ensemble.start(i, tls_lines(pki, ssl_quorum=True, unified=False))
    for i in range(3):
        ensemble.wait_serving(i)
    modes = sorted(servers.mode(ensemble.server(i)) for i in range(3))
    assert modes == ["follower", "follower", "leader"], modes
    write_and_read_back(ensemble, f"/qtls_{uuid.uuid4().hex[:8]}", b"over tls")
    for _, quorum, election in ensemble.ports:
        assert refuses_plaintext(quorum)
        assert refuses_plaintext(election)
    assert "TLS between servers" in ensemble.log(0).read_text()


def test_a_server_without_quorum_certificates_cannot_join(ensemble, pki):
    ensemble.start(0, tls_lines(pki, ssl_quorum=True, unified=False))
    ensemble.start(1, tls_lines(pki, ssl_quorum=True, unified=False))
    ensemble.start(2)  # plaintext, no certificates
    ensemble.wait_serving(0)
    ensemble.wait_serving(1)
    path = f"/qtls_{uuid.uuid4().hex[:8]}"
    with_client(ensemble.hosts([0, 1]), lambda zk: zk.create(path, b"secret"))
    # The two TLS servers refuse the plaintext one's connections (and it theirs): it never syncs, so it
    # never holds the txn, and it serves no session. Bounded: the others time each attempt out within
    # cnxTimeout, and dial again every 2 s at most.
    time.sleep(5)
    third = ensemble.server(2)
    assert servers.mode(third) not in ("follower", "leader"), servers.mode(third)
    dump = subprocess.run(
        [str(servers.rzk_binary()), "log", "dump", str(ensemble.dirs[2] / "data" / "rzk")],
        capture_output=True, text=True, timeout=60,
    )
    assert path not in dump.stdout
    logs = ensemble.log(0).read_text() + ensemble.log(1).read_text()
    assert "peer connection refused" in logs and "TLS:" in logs, logs[-3000:]


def test_a_rolling_switch_to_tls_keeps_serving(ensemble, pki):
    for i in range(3):
        ensemble.start(i)
    for i in range(3):
        ensemble.wait_serving(i)
    written = []

    def step(name, lines):
        for i in range(3):
            ensemble.stop(i)
            ensemble.start(i, lines)
            ensemble.wait_serving(i)
            path = f"/roll_{name}_{i}_{uuid.uuid4().hex[:6]}"
            write_and_read_back(ensemble, path, name.encode())
            written.append(path)

    step("unify", tls_lines(pki, ssl_quorum=False, unified=True))
    step("tls", tls_lines(pki, ssl_quorum=True, unified=True))
    step("only", tls_lines(pki, ssl_quorum=True, unified=False))
    # Every write of every step is on every server, and the quorum ports now refuse plaintext.
    for i in range(3):
        count = with_client(ensemble.hosts([i]), lambda zk: (zk.sync("/"), len(zk.get_children("/")))[1])
        assert count >= len(written)
    for _, quorum, _ in ensemble.ports:
        assert refuses_plaintext(quorum)


def test_peer_certificates_must_name_the_peer_unless_hostname_verification_is_off(ensemble, pki):
    """Certificates without the servers' address (CN=client, no subjectAltName): refused while
    ssl.quorum.hostnameVerification is on (the default), accepted with it off."""
    lines = tls_lines(pki, ssl_quorum=True, unified=False).replace(str(pki.server_pem), str(pki.client_pem))
    for i in range(3):
        ensemble.start(i, lines)
    # Bounded: peers dial again every 2 s at most; none can complete a handshake.
    time.sleep(4)
    assert all(servers.mode(ensemble.server(i)) not in ("leader", "follower") for i in range(3))
    logs = ensemble.log(0).read_text()
    assert "peer connection refused" in logs or "NotValidForName" in logs, logs[-3000:]
    for i in range(3):
        ensemble.stop(i)
    for i in range(3):
        ensemble.start(i, lines + "ssl.quorum.hostnameVerification=false\n")
    for i in range(3):
        ensemble.wait_serving(i)
    write_and_read_back(ensemble, f"/qtls_{uuid.uuid4().hex[:8]}", b"no names")


def test_quorum_certificates_reload_without_a_restart(ensemble, pki, tmp_path):
    """sslQuorumReloadCertFiles: server 1's key store is replaced by a new certificate; it says it reloaded,
    and a peer that connects afresh (server 2, restarted) joins over a handshake with the new one."""
    stores = []
    for i in range(3):
        store = tmp_path / f"server{i}.pem"
        store.write_text(pki.server_pem.read_text())
        stores.append(store)
        lines = tls_lines(pki, ssl_quorum=True, unified=False).replace(str(pki.server_pem), str(store))
        ensemble.start(i, lines + "sslQuorumReloadCertFiles=true\n")
    for i in range(3):
        ensemble.wait_serving(i)
    subprocess.run(
        ["openssl", "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-set_serial", "4243",
         "-days", "30", "-extfile", "server.ext", "-out", str(tmp_path / "new.crt")],
        cwd=pki.dir, check=True, capture_output=True, timeout=60,
    )
    fresh = tmp_path / "fresh.pem"
    fresh.write_text((pki.dir / "server.p8").read_text() + (tmp_path / "new.crt").read_text())
    fresh.replace(stores[0])
    deadline = time.monotonic() + 30
    while "reloaded the quorum TLS" not in ensemble.log(0).read_text():
        assert time.monotonic() < deadline, ensemble.log(0).read_text()[-3000:]
        time.sleep(0.2)
    ensemble.stop(1)
    lines = tls_lines(pki, ssl_quorum=True, unified=False).replace(str(pki.server_pem), str(stores[1]))
    ensemble.start(1, lines + "sslQuorumReloadCertFiles=true\n")
    ensemble.wait_serving(1)
    write_and_read_back(ensemble, f"/qtls_{uuid.uuid4().hex[:8]}", b"reloaded")
