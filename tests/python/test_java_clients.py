"""The Java client (ZooKeeper 3.8) and Curator 5.4 against each server: tests/java, compiled with javac
against Debian's jars (Maven's registry is not reachable here), run once per server in one JVM. Each check is
one feature of the raw Java API or one Curator recipe (tests/java/*Checks.java list them); every check must
pass against Apache ZooKeeper 3.8, rzk standalone, and rzk through a follower of a 3-server ensemble (the
client is given the follower's address only).

Needs a JDK and the jars (scripts/test.sh installs them: default-jdk-headless, libzookeeper-java,
libcurator-recipes-java, libcurator-discovery-java, libslf4j-java, libjackson2-databind-java). Without them
the test is skipped locally and fails in CI (CI=true)."""

import subprocess

import pytest
import javac
import servers
from conftest import _get_server

BUILD = servers.REPO_ROOT / "target" / "java-tests"
JARS = [
    "zookeeper.jar",
    "zookeeper-jute.jar",
    "curator-client.jar",
    "curator-framework.jar",
    "curator-recipes.jar",
    "curator-x-discovery.jar",
    "guava.jar",
    "slf4j-api.jar",
    "slf4j-simple.jar",
    "jackson-core.jar",
    "jackson-databind.jar",
    "jackson-annotations.jar",
]
# The checks the suite registers; a run must report every one.
CHECKS = 23
RUN_TIMEOUT_S = 900


@pytest.fixture(scope="module")
def compiled():
    sources = sorted(p.name for p in javac.JAVA_SRC.glob("*.java"))
    return javac.compile_java(sources, JARS, BUILD / "classes")


@pytest.fixture(scope="module")
def rzk_follower():
    """The address of a follower of a fresh 3-server rzk ensemble (stopped after the module)."""
    if "rzk" not in servers.selected_targets():
        pytest.skip("rzk is not a selected target")
    ensemble = servers.start_rzk_ensemble(3)
    try:
        modes = {s.hosts: servers.mode(s) for s in ensemble}
        followers = [s for s in ensemble if modes[s.hosts] == "follower"]
        assert len(followers) == 2 and list(modes.values()).count("leader") == 1, modes
        yield followers[0]
    finally:
        for s in ensemble:
            s.stop()


def run_suite(cp, connect):
    r = subprocess.run(
        ["java", "-cp", cp, "-Dorg.slf4j.simpleLogger.defaultLogLevel=error", "RzkCompat", connect],
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
    )
    results = [l for l in r.stdout.splitlines() if l.startswith(("PASS ", "FAIL "))]
    failed = [l for l in results if l.startswith("FAIL ")]
    print("\n".join(results))
    assert not failed and r.returncode == 0, f"{len(failed)} failed:\n" + "\n".join(failed) + "\n\n" + r.stdout[-6000:]
    assert len(results) == CHECKS, f"{len(results)} results for {CHECKS} checks:\n{r.stdout[-3000:]}"


@pytest.mark.parametrize("kind", ["zk", "rzk"])
def test_java_client_and_curator_recipes_on_a_single_server(compiled, kind):
    if kind not in servers.selected_targets():
        pytest.skip(f"{kind} is not a selected target")
    run_suite(compiled, _get_server(kind).hosts)


def test_java_client_and_curator_recipes_through_an_rzk_follower(compiled, rzk_follower):
    run_suite(compiled, rzk_follower.hosts)
