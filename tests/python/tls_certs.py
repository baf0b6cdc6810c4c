"""Certificates for the TLS tests, made with openssl: a CA, a server certificate (localhost, 127.0.0.1), client
certificates (good, from another CA, expired), in PEM, combined PEM (key + chain, as ZooKeeper's PEM key stores
hold them) and PKCS#12 forms."""

import subprocess
from dataclasses import dataclass
from pathlib import Path

PASSWORD = "testpass"
CLIENT_SUBJECT = "/O=rzk/OU=test/CN=client"
# Java's X500Principal.getName() of CLIENT_SUBJECT: RDNs last-first, no spaces.
CLIENT_DN = "CN=client,OU=test,O=rzk"
ADMIN_SUBJECT = "/O=rzk/CN=admin"
ADMIN_DN = "CN=admin,O=rzk"


@dataclass
class Pki:
    dir: Path
    ca: Path  # CA certificate (PEM): the trust store
    ca_p12: Path  # the CA certificate as a PKCS#12 trust store (PASSWORD)
    server_pem: Path  # server key + certificate in one PEM file
    server_p12: Path  # the same as PKCS#12 (PASSWORD)
    server_encrypted_pem: Path  # key encrypted (PKCS#8, PBES2) with PASSWORD, + certificate
    client_cert: Path
    client_key: Path
    client_pem: Path  # key + certificate
    admin_cert: Path
    admin_key: Path
    other_client_cert: Path  # signed by another CA
    other_client_key: Path
    expired_client_cert: Path
    expired_client_key: Path


def _run(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def _key(name, cwd):
    _run("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", f"{name}.key", cwd=cwd)


def _ca(name, subject, cwd):
    _key(name, cwd)
    (cwd / f"{name}.ext").write_text(
        "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n"
        "subjectKeyIdentifier=hash\n"
    )
    _run("req", "-new", "-key", f"{name}.key", "-subj", subject, "-out", f"{name}.csr", cwd=cwd)
    _run(
        "x509", "-req", "-in", f"{name}.csr", "-signkey", f"{name}.key", "-days", "3650",
        "-extfile", f"{name}.ext", "-out", f"{name}.pem", cwd=cwd,
    )


def _leaf(name, subject, ca, cwd, server=False):
    _key(name, cwd)
    ext = "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n"
    ext += "extendedKeyUsage=serverAuth,clientAuth\n"
    if server:
        ext += "subjectAltName=DNS:localhost,IP:127.0.0.1\n"
    (cwd / f"{name}.ext").write_text(ext)
    _run("req", "-new", "-key", f"{name}.key", "-subj", subject, "-out", f"{name}.csr", cwd=cwd)
    _run(
        "x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.pem", "-CAkey", f"{ca}.key",
        "-CAcreateserial", "-days", "825", "-extfile", f"{name}.ext", "-out", f"{name}.crt", cwd=cwd,
    )


def _expired_leaf(name, subject, ca, cwd):
    """A certificate valid only in January 2020 (`openssl ca` takes explicit dates)."""
    _key(name, cwd)
    (cwd / "newcerts").mkdir(exist_ok=True)
    (cwd / "index.txt").write_text("")
    (cwd / "serial").write_text("1000\n")
    (cwd / "ca.cnf").write_text(
        f"[ca]\ndefault_ca=testca\n[testca]\ndatabase={cwd}/index.txt\nnew_certs_dir={cwd}/newcerts\n"
        f"serial={cwd}/serial\ndefault_md=sha256\npolicy=any\nx509_extensions=leaf\n"
        "[any]\ncommonName=supplied\norganizationName=optional\norganizationalUnitName=optional\n"
        "[leaf]\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n"
        "extendedKeyUsage=serverAuth,clientAuth\n"
    )
    _run("req", "-new", "-key", f"{name}.key", "-subj", subject, "-out", f"{name}.csr", cwd=cwd)
    _run(
        "ca", "-batch", "-config", "ca.cnf", "-cert", f"{ca}.pem", "-keyfile", f"{ca}.key", "-preserveDN",
        "-startdate", "20200101000000Z", "-enddate", "20200102000000Z", "-notext",
        "-in", f"{name}.csr", "-out", f"{name}.crt", cwd=cwd,
    )


def make_pki(dir: Path) -> Pki:
    dir.mkdir(parents=True, exist_ok=True)
    _ca("ca", "/O=rzk/CN=rzk test CA", dir)
    _ca("otherca", "/O=elsewhere/CN=another CA", dir)
    _leaf("server", "/O=rzk/CN=localhost", "ca", dir, server=True)
    _leaf("client", CLIENT_SUBJECT, "ca", dir)
    _leaf("admin", ADMIN_SUBJECT, "ca", dir)
    _leaf("other", "/O=elsewhere/CN=client", "otherca", dir)
    _expired_leaf("expired", "/O=rzk/OU=test/CN=expired", "ca", dir)
    for name in ("server", "client"):
        _run("pkcs8", "-topk8", "-nocrypt", "-in", f"{name}.key", "-out", f"{name}.p8", cwd=dir)
        (dir / f"{name}.pem").write_text((dir / f"{name}.p8").read_text() + (dir / f"{name}.crt").read_text())
    _run(
        "pkcs8", "-topk8", "-v2", "aes-256-cbc", "-passout", f"pass:{PASSWORD}", "-in", "server.key",
        "-out", "server.enc.p8", cwd=dir,
    )
    (dir / "server-encrypted.pem").write_text(
        (dir / "server.enc.p8").read_text() + (dir / "server.crt").read_text()
    )
    _run(
        "pkcs12", "-export", "-in", "server.crt", "-inkey", "server.key", "-name", "server",
        "-passout", f"pass:{PASSWORD}", "-out", "server.p12", cwd=dir,
    )
    _run(
        "pkcs12", "-export", "-nokeys", "-in", "ca.pem", "-passout", f"pass:{PASSWORD}", "-out", "ca.p12",
        cwd=dir,
    )
    return Pki(
        dir=dir,
        ca=dir / "ca.pem",
        ca_p12=dir / "ca.p12",
        server_pem=dir / "server.pem",
        server_p12=dir / "server.p12",
        server_encrypted_pem=dir / "server-encrypted.pem",
        client_cert=dir / "client.crt",
        client_key=dir / "client.key",
        client_pem=dir / "client.pem",
        admin_cert=dir / "admin.crt",
        admin_key=dir / "admin.key",
        other_client_cert=dir / "other.crt",
        other_client_key=dir / "other.key",
        expired_client_cert=dir / "expired.crt",
        expired_client_key=dir / "expired.key",
    )
