"""Compiling tests/java with javac against Debian's jars (Maven's registry is not reachable here): the jars
a test needs, or a skip (locally) / a failure (in CI, where scripts/test.sh installs them) when they are
missing."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

import servers

JAVA_SRC = servers.REPO_ROOT / "tests" / "java"
# The Java client's jars, and Netty's for its TLS socket.
CLIENT_JARS = ["zookeeper.jar", "zookeeper-jute.jar", "slf4j-api.jar", "slf4j-simple.jar"] + [
    f"netty-{m}.jar"
    for m in ("buffer", "codec", "common", "handler", "resolver", "transport", "transport-native-unix-common")
]


def classpath(jars):
    """The jars from /usr/share/java, joined; skips (or fails in CI) when one or javac is missing."""
    paths = [Path("/usr/share/java") / j for j in jars]
    missing = [str(p) for p in paths if not p.exists()]
    if missing or shutil.which("javac") is None:
        why = f"javac or jars missing: {missing or 'javac'}"
        if os.environ.get("CI") == "true":
            pytest.fail(why + " (scripts/test.sh installs them)")
        pytest.skip(why)
    return ":".join(str(p) for p in paths)


def compile_java(sources, jars, out_dir):
    """Compiles `sources` (names under tests/java) into `out_dir`; returns the classpath to run them with."""
    cp = classpath(jars)
    out_dir = Path(out_dir)
    shutil.rmtree(out_dir, ignore_errors=True)
    out_dir.mkdir(parents=True)
    files = [str(JAVA_SRC / s) for s in sources]
    r = subprocess.run(
        ["javac", "-Xlint:-deprecation", "-d", str(out_dir), "-cp", cp, *files],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, f"javac failed:\n{r.stdout}\n{r.stderr}"
    return f"{out_dir}:{cp}"
