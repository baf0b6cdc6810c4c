"""Fixtures: one server per target (rzk and/or Apache ZooKeeper 3.8), shared by the whole session.

`server` is parametrized over the targets in RZK_TEST_TARGETS (default "zk,rzk"), so every test runs
against each. Servers are started lazily, checked before and after each test, and restarted if a test
killed one (the test then errors, naming the server's log). Each test gets its own fresh root path.

Markers: `rzk_only` (skip on zk), `zk_only` (documented ZooKeeper-specific behaviour; skip on rzk).
"""

import itertools
import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

import servers  # noqa: E402
from kazoo.client import KazooClient  # noqa: E402

_running = {}
_start_failures = {}
_counter = itertools.count()


def _get_server(kind):
    if kind in _start_failures:
        # Do not pay the startup timeout again for every test once a target failed to start.
        pytest.fail(f"{kind} failed to start earlier in this session:\n{_start_failures[kind]}")
    s = _running.get(kind)
    if s is None or not s.alive():
        if s is not None:
            s.stop()
        try:
            s = servers.start(kind)
        except Exception as e:
            _start_failures[kind] = str(e)
            raise
        _running[kind] = s
    return s


@pytest.fixture(scope="session", autouse=True)
def _stop_servers_at_exit():
    yield
    for s in _running.values():
        s.stop()
    _running.clear()


@pytest.fixture(params=servers.selected_targets())
def server(request):
    kind = request.param
    if kind == "zk" and request.node.get_closest_marker("rzk_only"):
        pytest.skip("rzk-only behaviour")
    if kind == "rzk" and request.node.get_closest_marker("zk_only"):
        pytest.skip("ZooKeeper-only behaviour")
    s = _get_server(kind)
    yield s
    if not s.alive():
        log = s.log_tail()
        s.stop()
        _running.pop(kind, None)
        pytest.fail(f"{kind} server died during the test; log tail:\n{log}")


def new_client(server, timeout=10.0, **kwargs):
    c = KazooClient(hosts=server.hosts, timeout=timeout, **kwargs)
    c.start(timeout=10)
    return c


@pytest.fixture
def make_client(server):
    """Factory for extra kazoo clients; all are stopped after the test."""
    made = []

    def make(**kwargs):
        c = new_client(server, **kwargs)
        made.append(c)
        return c

    yield make
    for c in made:
        try:
            c.stop()
            c.close()
        except Exception:
            pass


@pytest.fixture
def zk(make_client):
    """A connected kazoo client."""
    return make_client()


@pytest.fixture
def root(request, server):
    """A fresh persistent node for this test; removed afterwards with super privileges."""
    name = re.sub(r"[^A-Za-z0-9_]", "_", request.node.name)[:60]
    path = f"/t{next(_counter)}_{name}"
    c = new_client(server)
    c.create(path)
    c.stop()
    c.close()
    yield path
    cleanup = KazooClient(
        hosts=server.hosts,
        timeout=10.0,
        auth_data=[("digest", f"{servers.SUPER_USER}:{servers.SUPER_PASSWORD}")],
    )
    try:
        cleanup.start(timeout=15)
        cleanup.delete(path, recursive=True)
    except Exception:
        pass  # a dead server is reported by the `server` fixture
    finally:
        try:
            cleanup.stop()
            cleanup.close()
        except Exception:
            pass


@pytest.fixture
def raw(server):
    """Factory for raw jute clients (rawzk.RawClient); all are closed after the test."""
    import rawzk

    made = []

    def make(**kwargs):
        c = rawzk.RawClient(server.address, **kwargs)
        made.append(c)
        return c

    yield make
    for c in made:
        try:
            c.close()
        except Exception:
            pass
