"""TLS for clients, against ZooKeeper 3.8 and rzk with the same zoo.cfg lines and the same certificates (made
with openssl per run, tls_certs.py): a TLS port (secureClientPort, clientAuth=need, the x509 provider and an
x509 super user) and TLS on the plaintext port too (client.portUnification).

Clients: kazoo (use_ssl), a raw jute client over Python's ssl module (for whoAmI and exact errors), and the
Java client's Netty socket (zookeeper.client.secure=true). Refusals: plaintext on the TLS port, a certificate
from another CA, an expired certificate, no certificate; each is closed before anything is written. rzk only
(ZooKeeper 3.8.0 lacks or differs): stores it cannot use stop startup with the reason, and certificates are
re-read when their files change (client.certReload, ZooKeeper 3.8.5+)."""

import os
import shutil
import socket
import ssl
import subprocess
import time
import uuid

import pytest
from kazoo.client import KazooClient
from kazoo.exceptions import NoAuthError
from kazoo.security import make_acl

import javac
import rawzk
import servers
import tls_certs

KINDS = servers.selected_targets()


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return tls_certs.make_pki(tmp_path_factory.mktemp("pki"))


def tls_cfg(pki, secure_port, extra=""):
    return (
        f"secureClientPort={secure_port}\n"
        "secureClientPortAddress=127.0.0.1\n"
        "serverCnxnFactory=org.apache.zookeeper.server.NettyServerCnxnFactory\n"
        f"ssl.keyStore.location={pki.server_pem}\n"
        f"ssl.trustStore.location={pki.ca}\n"
        "ssl.clientAuth=need\n"
        "client.portUnification=true\n"
        "authProvider.x509=org.apache.zookeeper.server.auth.X509AuthenticationProvider\n"
        f"X509AuthenticationProvider.superUser={tls_certs.ADMIN_DN}\n" + extra
    )


@pytest.fixture(scope="module", params=KINDS)
def server(request, pki):
    secure_port = servers.free_port()
    s = servers.start(request.param, tls_cfg(pki, secure_port))
    s.extra["secure_port"] = secure_port
    yield s
    s.stop()


def secure(server):
    return ("127.0.0.1", server.extra["secure_port"])


def context(pki, cert=None, key=None):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(cafile=str(pki.ca))
    if cert:
        ctx.load_cert_chain(certfile=str(cert), keyfile=str(key))
    return ctx


def raw(server, pki, cert="client", address=None):
    certs = {
        "client": (pki.client_cert, pki.client_key),
        "admin": (pki.admin_cert, pki.admin_key),
        "other": (pki.other_client_cert, pki.other_client_key),
        "expired": (pki.expired_client_cert, pki.expired_client_key),
        None: (None, None),
    }[cert]
    return rawzk.RawClient(address or secure(server), tls=context(pki, *certs))


def ids(client):
    reply = client.who_am_i()
    assert reply.err == 0
    return sorted(reply.value)


def exists(server, path):
    with rawzk.RawClient(server.address) as c:
        return c.exists(path).err == 0


def test_kazoo_over_tls(server, pki):
    zk = KazooClient(
        hosts=f"127.0.0.1:{server.extra['secure_port']}",
        use_ssl=True,
        certfile=str(pki.client_cert),
        keyfile=str(pki.client_key),
        ca=str(pki.ca),
        timeout=10,
    )
    zk.start(timeout=20)
    try:
        path = f"/tls_{uuid.uuid4().hex[:8]}"
        events = []
        zk.create(path, b"one")
        zk.get(path, watch=events.append)
        zk.set(path, b"two")
        assert zk.get(path)[0] == b"two"
        deadline = time.monotonic() + 10
        while not events and time.monotonic() < deadline:
            time.sleep(0.01)
        assert [e.type for e in events] == ["CHANGED"]
        # Only this certificate may read what it protects with its x509 id.
        zk.create(f"{path}/mine", b"s", acl=[make_acl("x509", tls_certs.CLIENT_DN, all=True)])
        assert zk.get(f"{path}/mine")[0] == b"s"
        plain = KazooClient(hosts=server.hosts, timeout=10)
        plain.start(timeout=20)
        try:
            with pytest.raises(NoAuthError):
                plain.get(f"{path}/mine")
        finally:
            plain.stop()
            plain.close()
        zk.delete(path, recursive=True)
    finally:
        zk.stop()
        zk.close()


def test_the_certificate_subject_is_the_x509_id(server, pki):
    with raw(server, pki) as c:
        assert ids(c) == [("ip", "127.0.0.1"), ("x509", tls_certs.CLIENT_DN)]
        path = f"/x509_{uuid.uuid4().hex[:8]}"
        acl = [(rawzk.PERM_ALL, "x509", tls_certs.CLIENT_DN)]
        assert c.create(path, b"d", acl=acl).err == 0
        assert c.get_data(path).err == 0
        # An x509 id must be a distinguished name.
        assert c.create(f"{path}x", b"", acl=[(rawzk.PERM_ALL, "x509", "no equals sign")]).err == rawzk.INVALIDACL
    # The super user passes every ACL; whoAmI names it without a user.
    with raw(server, pki, "admin") as admin:
        assert ids(admin) == [("ip", "127.0.0.1"), ("super", ""), ("x509", tls_certs.ADMIN_DN)]
        assert admin.get_data(path).err == 0
        assert admin.delete(path).err == 0


def test_the_plaintext_port_serves_tls_too_with_port_unification(server, pki):
    with raw(server, pki, address=server.address) as c:
        assert ("x509", tls_certs.CLIENT_DN) in ids(c)
    with rawzk.RawClient(server.address) as plain:
        assert ids(plain) == [("ip", "127.0.0.1")]
    assert servers.four_letter(server.host, server.port, "ruok") == "imok"


@pytest.mark.parametrize("cert", ["other", "expired", None])
def test_refused_certificates_write_nothing(server, pki, cert):
    """A certificate from another CA, an expired one, none at all (clientAuth=need): the TLS handshake fails
    (the server sends an alert), the connection closes, the create sent after it never happens."""
    path = f"/refused_{uuid.uuid4().hex[:8]}"
    with pytest.raises((ssl.SSLError, rawzk.ConnectionClosed, ConnectionError, TimeoutError)):
        with raw(server, pki, cert) as c:
            c.create(path, b"x")
    assert not exists(server, path)
    assert server.alive()


def test_plaintext_on_the_tls_port_is_closed_without_a_reply(server, pki):
    path = f"/plain_{uuid.uuid4().hex[:8]}"
    with pytest.raises((rawzk.ConnectionClosed, TimeoutError, ConnectionError)):
        with rawzk.RawClient(secure(server)) as c:
            c.create(path, b"x")
    assert not exists(server, path)
    assert server.alive()


# --- the Java client's Netty socket

@pytest.fixture(scope="module")
def java_classpath(tmp_path_factory):
    return javac.compile_java(["AuthClient.java"], javac.CLIENT_JARS, tmp_path_factory.mktemp("java"))


def test_the_java_client_over_tls(server, pki, java_classpath):
    props = {
        "zookeeper.client.secure": "true",
        "zookeeper.clientCnxnSocket": "org.apache.zookeeper.ClientCnxnSocketNetty",
        "zookeeper.ssl.keyStore.location": str(pki.client_pem),
        "zookeeper.ssl.trustStore.location": str(pki.ca),
    }
    path = f"/java_{uuid.uuid4().hex[:8]}"
    r = subprocess.run(
        ["java", *[f"-D{k}={v}" for k, v in props.items()], "-cp", java_classpath, "AuthClient",
         f"127.0.0.1:{server.extra['secure_port']}", path, "x509"],
        capture_output=True, text=True, timeout=120,
    )
    assert r.returncode == 0 and r.stdout.splitlines()[-1] == "ok", r.stdout + r.stderr[-3000:]
    assert f"id x509 {tls_certs.CLIENT_DN}" in r.stdout.splitlines()


def test_bench_over_tls(server, pki):
    """`rzk bench --tls` (what bench/compare.sh --tls runs) completes its operations over TLS."""
    import json

    for workload in ("get", "churn"):
        r = subprocess.run(
            [str(servers.rzk_binary()), "bench", workload, "--server", f"127.0.0.1:{server.extra['secure_port']}",
             "--tls", "--tls-ca", str(pki.ca), "--tls-cert", str(pki.client_pem),
             "--count", "200", "--sessions", "2", "--depth", "4", "--keys", "10", "--cleanup"],
            capture_output=True, text=True, timeout=300,
        )
        assert r.returncode == 0, r.stdout + r.stderr
        result = json.loads(r.stdout.strip().splitlines()[-1])
        assert (result["ops"], result["errors"]) == (200, 0), result


def test_zkcli_over_tls(server, pki, java_classpath):
    """zkCli (ZooKeeperMain, what zkCli.sh runs) with the TLS client properties."""
    props = {
        "zookeeper.client.secure": "true",
        "zookeeper.clientCnxnSocket": "org.apache.zookeeper.ClientCnxnSocketNetty",
        "zookeeper.ssl.keyStore.location": str(pki.client_pem),
        "zookeeper.ssl.trustStore.location": str(pki.ca),
    }
    path = f"/zkcli_{uuid.uuid4().hex[:8]}"
    script = f"create {path} tlsdata\nget {path}\nwhoami\ndelete {path}\nquit\n"
    r = subprocess.run(
        ["java", *[f"-D{k}={v}" for k, v in props.items()], "-cp", java_classpath,
         "org.apache.zookeeper.ZooKeeperMain", "-server", f"127.0.0.1:{server.extra['secure_port']}"],
        input=script, capture_output=True, text=True, timeout=120,
    )
    out = r.stdout
    assert f"Created {path}" in out + r.stderr and "tlsdata" in out.splitlines(), out + r.stderr[-2000:]
    assert tls_certs.CLIENT_DN in out, out


# --- rzk only


def rzk_fails_to_start(tmp_path, cfg_extra):
    cfg = tmp_path / "zoo.cfg"
    cfg.write_text(f"dataDir={tmp_path / 'data'}\nclientPort={servers.free_port()}\nclientPortAddress=127.0.0.1\n{cfg_extra}")
    r = subprocess.run([str(servers.rzk_binary()), "server", str(cfg)], capture_output=True, text=True, timeout=60)
    assert r.returncode != 0
    return r.stderr


@pytest.mark.skipif("rzk" not in KINDS, reason="rzk is not a selected target")
def test_rzk_refuses_to_start_with_stores_it_cannot_use(tmp_path, pki):
    """ZooKeeper starts and then fails every TLS handshake; rzk says what is wrong before it serves."""
    port = servers.free_port()
    base = f"secureClientPort={port}\nssl.trustStore.location={pki.ca}\n"
    err = rzk_fails_to_start(tmp_path, base + f"ssl.keyStore.location={pki.server_p12}\nssl.keyStore.password=wrong\n")
    assert "cannot set up TLS for clients" in err and "wrong password" in err, err
    jks = tmp_path / "server.jks"
    jks.write_bytes(b"\xfe\xed\xfe\xed" + b"\x00" * 60)
    err = rzk_fails_to_start(tmp_path, base + f"ssl.keyStore.location={jks}\n")
    assert "Java KeyStore (JKS)" in err and "keytool -importkeystore" in err, err
    err = rzk_fails_to_start(tmp_path, f"secureClientPort={port}\n")
    assert "needs ssl.keyStore.location" in err, err
    err = rzk_fails_to_start(tmp_path, base + f"ssl.keyStore.location={pki.server_pem}\nssl.crl=true\n")
    assert "ssl.crl" in err and "revocation" in err, err


@pytest.mark.skipif("rzk" not in KINDS, reason="rzk is not a selected target")
@pytest.mark.parametrize("stores", ["pkcs12", "encrypted-pem"])
def test_rzk_serves_with_pkcs12_and_encrypted_pem_stores(pki, stores):
    port = servers.free_port()
    if stores == "pkcs12":
        lines = (
            f"ssl.keyStore.location={pki.server_p12}\nssl.keyStore.password={tls_certs.PASSWORD}\n"
            f"ssl.trustStore.location={pki.ca_p12}\nssl.trustStore.password={tls_certs.PASSWORD}\n"
        )
    else:
        lines = (
            f"ssl.keyStore.location={pki.server_encrypted_pem}\nssl.keyStore.password={tls_certs.PASSWORD}\n"
            f"ssl.trustStore.location={pki.ca}\n"
        )
    s = servers.start_rzk(f"secureClientPort={port}\nsecureClientPortAddress=127.0.0.1\n{lines}")
    try:
        with rawzk.RawClient(("127.0.0.1", port), tls=context(pki, pki.client_cert, pki.client_key)) as c:
            assert ("x509", tls_certs.CLIENT_DN) in ids(c)
    finally:
        s.stop()


@pytest.mark.skipif("rzk" not in KINDS, reason="rzk is not a selected target")
def test_rzk_serves_tls_only_and_status_asks_over_tls(pki, tmp_path):
    """secureClientPort without clientPort: no plaintext port at all; `rzk status` says Client SSL: true and
    asks srvr over TLS with the config's own stores, as zkServer.sh status does with CLIENT_JVMFLAGS."""
    port = servers.free_port()
    cfg = tmp_path / "zoo.cfg"
    cfg.write_text(
        f"dataDir={tmp_path / 'data'}\nsecureClientPort={port}\nsecureClientPortAddress=127.0.0.1\n"
        f"ssl.keyStore.location={pki.server_pem}\nssl.trustStore.location={pki.ca}\n"
        "4lw.commands.whitelist=*\nadmin.enableServer=false\n"
    )
    log = open(tmp_path / "server.log", "wb")
    proc = subprocess.Popen([str(servers.rzk_binary()), "server", str(cfg)], stdout=log, stderr=subprocess.STDOUT)
    log.close()
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with rawzk.RawClient(("127.0.0.1", port), tls=context(pki, pki.client_cert, pki.client_key)) as c:
                    assert ("x509", tls_certs.CLIENT_DN) in ids(c)
                break
            except (OSError, rawzk.ConnectionClosed, ssl.SSLError):
                assert time.monotonic() < deadline and proc.poll() is None, (tmp_path / "server.log").read_text()
                time.sleep(0.1)
        # Plaintext is refused on it.
        with pytest.raises((rawzk.ConnectionClosed, TimeoutError, ConnectionError)):
            with rawzk.RawClient(("127.0.0.1", port)) as c:
                c.exists("/")
        status = subprocess.run([str(servers.rzk_binary()), "status", str(cfg)], capture_output=True, text=True, timeout=60)
        assert status.returncode == 0, status.stdout + status.stderr
        assert status.stdout.splitlines() == [
            "Client port not found. Looking for secureClientPort in the static config.",
            f"Client port found: {port}. Client address: 127.0.0.1. Client SSL: true.",
            "Mode: standalone",
        ]
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def server_certificate_serial(port, pki):
    ctx = context(pki, pki.client_cert, pki.client_key)
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        with ctx.wrap_socket(s, server_hostname="127.0.0.1") as t:
            der = t.getpeercert(binary_form=True)
    return subprocess.run(
        ["openssl", "x509", "-inform", "DER", "-noout", "-serial"], input=der, capture_output=True, timeout=30
    ).stdout.decode().strip()


@pytest.mark.skipif("rzk" not in KINDS, reason="rzk is not a selected target")
def test_rzk_reloads_certificates_without_dropping_sessions(tmp_path, pki):
    """client.certReload: a new key store file is served to new connections; open ones keep working."""
    store = tmp_path / "server.pem"
    shutil.copy(pki.server_pem, store)
    port = servers.free_port()
    cfg = tls_cfg(pki, port).replace(str(pki.server_pem), str(store)) + "client.certReload=true\n"
    s = servers.start_rzk(cfg)
    try:
        before = server_certificate_serial(port, pki)
        with rawzk.RawClient(("127.0.0.1", port), tls=context(pki, pki.client_cert, pki.client_key)) as old:
            # A new certificate for the same key, with a new serial; written whole with a rename.
            subprocess.run(
                ["openssl", "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
                 "-set_serial", "4242", "-days", "30", "-extfile", "server.ext", "-out", str(tmp_path / "new.crt")],
                cwd=pki.dir, check=True, capture_output=True, timeout=60,
            )
            fresh = tmp_path / "fresh.pem"
            fresh.write_text((pki.dir / "server.p8").read_text() + (tmp_path / "new.crt").read_text())
            os.replace(fresh, store)
            deadline = time.monotonic() + 30
            after = before
            while after == before and time.monotonic() < deadline:
                time.sleep(0.2)
                after = server_certificate_serial(port, pki)
            assert after != before and after.endswith("1092"), after  # 4242 = 0x1092
            # The connection opened before the reload still serves its session.
            assert old.exists("/").err == 0
    finally:
        s.stop()
