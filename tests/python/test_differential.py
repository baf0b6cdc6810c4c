"""Differential test: one scripted scenario, run against fresh ZooKeeper and rzk servers; the two
recordings must be equal.

Each step records what a client can observe and what must agree between servers: the error code, data,
the Stat fields that do not depend on time or zxids (version, cversion, aversion, numChildren,
dataLength, and which session owns an ephemeral), children (sorted), ACLs, per-op multi results, and the
watch events each watching session received. Events are collected with a sync on the watching session:
ZooKeeper delivers a notification before the reply to any later request on the same connection.

With only one target selected the scenario runs twice against two fresh servers of that target (the
recording must be deterministic). The recording of ZooKeeper 3.8 is kept in golden/differential_zk.json
(refresh it with RZK_TEST_UPDATE_GOLDEN=1); every target's recording is also compared with it.
"""

import difflib
import json
import os
from pathlib import Path

import pytest
import rawzk
import servers
from rawzk import (
    ADD_WATCH_PERSISTENT,
    ADD_WATCH_PERSISTENT_RECURSIVE,
    CONTAINER,
    EPHEMERAL,
    EPHEMERAL_SEQUENTIAL,
    OP_CHECK,
    OP_CREATE,
    OP_DELETE,
    OP_GET_CHILDREN,
    OP_GET_DATA,
    OP_SET_DATA,
    PERSISTENT,
    PERSISTENT_SEQUENTIAL,
    PERSISTENT_WITH_TTL,
    WATCHER_ANY,
    create_body,
    path_version_body,
    path_watch_body,
    set_data_body,
)
from util import wait_until

GOLDEN = Path(__file__).parent / "golden" / "differential_zk.json"
BOB = servers.digest_id("bob", "pw")


class Recorder:
    def __init__(self, address):
        self.address = address
        self.steps = []
        self.clients = {}
        self.owner_names = {}

    def client(self, name, **kwargs):
        c = rawzk.RawClient(self.address, **kwargs)
        self.clients[name] = c
        self.owner_names[c.session_id] = name
        return c

    def stat(self, st):
        if st is None:
            return None
        owner = st["ephemeralOwner"]
        return {
            "version": st["version"],
            "cversion": st["cversion"],
            "aversion": st["aversion"],
            "numChildren": st["numChildren"],
            "dataLength": st["dataLength"],
            "ephemeralOwner": self.owner_names.get(owner, "?") if owner else 0,
        }

    def value(self, v):
        """Makes a decoded reply value comparable: stats projected, children sorted, bytes as text."""
        if isinstance(v, dict) and "czxid" in v:
            return self.stat(v)
        if isinstance(v, bytes):
            return v.decode("latin-1")
        if isinstance(v, tuple):
            if len(v) == 2 and isinstance(v[0], list) and all(isinstance(x, str) for x in v[0]):
                return [sorted(v[0]), self.value(v[1])]
            return [self.value(x) for x in v]
        if isinstance(v, list):
            if all(isinstance(x, str) for x in v):
                return sorted(v)
            return [self.value(x) for x in v]
        if isinstance(v, rawzk.MultiResult):
            return {"op": v.op, "err": v.err, "value": self.value(v.value)}
        return v

    def events(self):
        """Drains every session's notifications (a sync on each makes earlier ones arrive first)."""
        out = {}
        for name, c in sorted(self.clients.items()):
            if c.sock.fileno() < 0:
                continue
            c.sync("/")
            evs = [[e.type, e.path] for e in c.events]
            c.events.clear()
            if evs:
                out[name] = evs
        return out

    def step(self, label, reply):
        rec = {"step": label, "err": reply.err, "value": self.value(getattr(reply, "value", None))}
        ev = self.events()
        if ev:
            rec["events"] = ev
        self.steps.append(rec)

    def note(self, label, value):
        self.steps.append({"step": label, "value": self.value(value)})


def run_scenario(address):
    r = Recorder(address)
    a = r.client("A")
    b = r.client("B")
    w = r.client("W")
    cb = r.client("C")
    r.step("C auth bob", cb.add_auth("digest", b"bob:pw"))

    r.step("create /d", a.create("/d", b"root"))
    r.step("create /d/p", a.create("/d/p", b"p1"))
    r.step("create /d/p again", a.create("/d/p", b"dup"))
    r.step("create without parent", a.create("/d/none/x"))
    r.step("W getData /d/p watch", w.get_data("/d/p", watch=True))
    r.step("W getChildren /d watch", w.get_children("/d", watch=True))
    r.step("W exists /d/later watch", w.exists("/d/later", watch=True))
    r.step("set /d/p v0", a.set_data("/d/p", b"p2", 0))
    r.step("set /d/p stale v0", a.set_data("/d/p", b"p3", 0))
    r.step("create /d/later", a.create("/d/later", b""))
    for i in range(3):
        r.step(f"create sequential {i}", a.create("/d/seq-", b"", flags=PERSISTENT_SEQUENTIAL))
    r.step("B create ephemeral", b.create("/d/eph", b"e", flags=EPHEMERAL))
    r.step("B create ephemeral sequential", b.create("/d/eseq-", b"", flags=EPHEMERAL_SEQUENTIAL))
    r.step("child of ephemeral", a.create("/d/eph/child"))
    r.step("create container", a.create("/d/box", b"", flags=CONTAINER))
    r.step("create container child", a.create("/d/box/x"))
    r.step("create TTL", a.create("/d/ttl", b"t", flags=PERSISTENT_WITH_TTL, ttl=600_000))
    r.step("TTL of zero", a.create("/d/ttl0", b"", flags=PERSISTENT_WITH_TTL, ttl=0))
    r.step("getChildren2 /d", a.get_children2("/d"))
    r.step("getAllChildrenNumber /d", a.get_all_children_number("/d"))
    r.step("B getEphemerals /d", b.get_ephemerals("/d"))
    r.step("A getEphemerals /d", a.get_ephemerals("/d"))

    r.step("setACL /d/p bob-only v0", a.set_acl("/d/p", [(rawzk.PERM_ALL, "digest", BOB)], 0))
    r.step("setACL /d/p by A without ADMIN, stale version", a.set_acl("/d/p", rawzk.OPEN_ACL_UNSAFE, 0))
    r.step("A getData /d/p no auth", a.get_data("/d/p"))
    r.step("A exists /d/p no auth needed", a.exists("/d/p"))
    r.step("C getData /d/p as bob", cb.get_data("/d/p"))
    r.step("C getACL /d/p", cb.get_acl("/d/p"))
    r.step("C set /d/p as bob", cb.set_data("/d/p", b"bob was here", -1))
    r.step("create with auth scheme unauthenticated", a.create("/d/authless", acl=[(31, "auth", "")]))
    r.step("C create with auth scheme", cb.create("/d/bobs", acl=[(31, "auth", "")]))
    r.step("C getACL /d/bobs", cb.get_acl("/d/bobs"))

    r.step(
        "multi success",
        a.multi(
            [
                (OP_CREATE, create_body("/d/m1", b"1")),
                (OP_CREATE, create_body("/d/m2")),
                (OP_SET_DATA, set_data_body("/d/m1", b"11", 0)),
                (OP_CHECK, path_version_body("/d/m1", 1)),
                (OP_DELETE, path_version_body("/d/m2", 0)),
                (OP_CREATE, create_body("/d/mseq-", flags=PERSISTENT_SEQUENTIAL)),
            ]
        ),
    )
    r.step(
        "multi failure",
        a.multi(
            [
                (OP_CREATE, create_body("/d/m3")),
                (OP_DELETE, path_version_body("/d/nonexistent", -1)),
                (OP_SET_DATA, set_data_body("/d/m1", b"x", -1)),
            ]
        ),
    )
    r.step("m3 absent after failed multi", a.exists("/d/m3"))
    r.step(
        "multiRead",
        a.multi_read([(OP_GET_DATA, path_watch_body("/d/m1")), (OP_GET_CHILDREN, path_watch_body("/d")),
                      (OP_GET_DATA, path_watch_body("/d/nope"))]),
    )

    r.step("W addWatch /d/m1 persistent", w.add_watch("/d/m1", ADD_WATCH_PERSISTENT))
    r.step("set /d/m1 (1)", a.set_data("/d/m1", b"a", -1))
    r.step("set /d/m1 (2)", a.set_data("/d/m1", b"b", -1))
    r.step("create /d/m1/k", a.create("/d/m1/k"))
    r.step("W checkWatches /d/m1", w.check_watches("/d/m1", WATCHER_ANY))
    r.step("W removeWatches /d/m1", w.remove_watches("/d/m1", WATCHER_ANY))
    r.step("set /d/m1 after removal", a.set_data("/d/m1", b"c", -1))
    r.step("W addWatch /d recursive", w.add_watch("/d", ADD_WATCH_PERSISTENT_RECURSIVE))
    r.step("create /d/r", a.create("/d/r"))
    r.step("create /d/r/x", a.create("/d/r/x", b"x"))
    r.step("set /d/r/x", a.set_data("/d/r/x", b"y", 0))
    r.step("delete /d/r/x", a.delete("/d/r/x", 1))
    r.step("delete /d/later bad version", a.delete("/d/later", 5))
    r.step("delete /d/later", a.delete("/d/later", 0))
    r.step("delete non-empty /d", a.delete("/d"))

    closed = b.request(rawzk.OP_CLOSE_SESSION, b"")
    b.drop()
    r.step("B closes its session", closed)
    r.step("ephemeral gone", a.exists("/d/eph"))
    r.step("stat /d after ephemerals", a.exists("/d"))
    r.step("delete container child", a.delete("/d/box/x"))
    wait_until(lambda: a.exists("/d/box").err == rawzk.NONODE, what="container reaping")
    r.note("container reaped", True)
    r.step("events after reaping", a.exists("/d/box"))
    r.step("sequential after deletes", a.create("/d/seq-", flags=PERSISTENT_SEQUENTIAL))
    r.step("bad path create", a.create("/d//x"))
    r.step("bad path set", a.set_data("/d/", b"", -1))
    r.step("sync /d", a.sync("/d"))
    r.step("set big value", a.set_data("/d", b"z" * 1000, -1))
    r.step("final children", a.get_children2("/d"))
    r.step("final stat /d/m1", a.exists("/d/m1"))
    for c in r.clients.values():
        c.close()
    return r.steps


def _run_on_fresh(kind):
    s = servers.start(kind)
    try:
        return run_scenario(s.address)
    finally:
        s.stop()


def _diff(left_name, left, right_name, right):
    def lines(steps):
        return [json.dumps(st, sort_keys=True) for st in steps]

    return "\n".join(
        difflib.unified_diff(lines(left), lines(right), fromfile=left_name, tofile=right_name, lineterm="", n=2)
    )


def test_scenario_recordings_are_equal():
    targets = servers.selected_targets()
    recordings = {}
    if len(targets) == 1:
        kind = targets[0]
        recordings[f"{kind} (run 1)"] = _run_on_fresh(kind)
        recordings[f"{kind} (run 2)"] = _run_on_fresh(kind)
    else:
        for kind in targets:
            recordings[kind] = _run_on_fresh(kind)

    if "zk" in targets and os.environ.get("RZK_TEST_UPDATE_GOLDEN") == "1":
        first_zk = next(v for k, v in recordings.items() if k.startswith("zk"))
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(json.dumps(first_zk, indent=1, sort_keys=True) + "\n")

    if GOLDEN.exists():
        recordings["golden (ZooKeeper 3.8)"] = json.loads(GOLDEN.read_text())
    else:
        pytest.fail(f"{GOLDEN} is missing: run with RZK_TEST_TARGETS=zk RZK_TEST_UPDATE_GOLDEN=1")

    names = list(recordings)
    base = names[-1]
    problems = []
    for name in names[:-1]:
        if recordings[name] != recordings[base]:
            problems.append(_diff(base, recordings[base], name, recordings[name]))
    assert not problems, "recordings differ:\n" + "\n\n".join(problems)
