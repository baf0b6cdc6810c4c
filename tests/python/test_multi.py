"""multi (transactions) and multiRead: all-or-nothing, per-op results, wire-level result headers."""

import rawzk
from kazoo.exceptions import BadVersionError, NodeExistsError, NoNodeError, RolledBackError, RuntimeInconsistency
from rawzk import OP_CHECK, OP_CREATE, OP_CREATE2, OP_DELETE, OP_GET_CHILDREN, OP_GET_DATA, OP_SET_DATA
from rawzk import create_body, path_version_body, path_watch_body, set_data_body


def test_transaction_success_applies_every_op(server, zk, root):
    zk.create(f"{root}/old", b"o")
    t = zk.transaction()
    t.create(f"{root}/a", b"1")
    t.create(f"{root}/seq-", sequence=True)
    t.set_data(f"{root}/old", b"n", version=0)
    t.check(f"{root}/a", 0)
    t.delete(f"{root}/old")
    results = t.commit()
    assert results[0] == f"{root}/a"
    assert results[1].startswith(f"{root}/seq-")
    assert results[2].version == 1
    assert results[3] is True and results[4] is True
    assert zk.get(f"{root}/a")[0] == b"1"
    assert zk.exists(f"{root}/old") is None


def test_transaction_failure_applies_nothing_and_reports_each_op(server, zk, root):
    zk.create(f"{root}/x", b"x")
    t = zk.transaction()
    t.create(f"{root}/new")
    t.set_data(f"{root}/x", b"y", version=7)  # fails: BadVersion
    t.delete(f"{root}/missing")
    results = t.commit()
    assert [type(r) for r in results] == [RolledBackError, BadVersionError, RuntimeInconsistency]
    assert zk.exists(f"{root}/new") is None
    data, stat = zk.get(f"{root}/x")
    assert data == b"x" and stat.version == 0


def test_transaction_sees_its_own_earlier_ops(server, zk, root):
    t = zk.transaction()
    t.create(f"{root}/p")
    t.create(f"{root}/p/c")
    t.set_data(f"{root}/p/c", b"v", version=0)
    t.delete(f"{root}/p/c")
    t.create(f"{root}/p/c", b"again")
    results = t.commit()
    assert not any(isinstance(r, Exception) for r in results)
    assert zk.get(f"{root}/p/c") == (b"again", zk.exists(f"{root}/p/c"))
    assert zk.exists(f"{root}/p/c").version == 0


def test_transaction_failing_on_first_op(server, zk, root):
    zk.create(f"{root}/dup")
    t = zk.transaction()
    t.create(f"{root}/dup")
    t.create(f"{root}/other")
    results = t.commit()
    assert [type(r) for r in results] == [NodeExistsError, RuntimeInconsistency]
    assert zk.exists(f"{root}/other") is None


def test_check_op_on_missing_node(server, zk, root):
    t = zk.transaction()
    t.check(f"{root}/nope", 0)
    results = t.commit()
    assert [type(r) for r in results] == [NoNodeError]


def test_failed_multi_wire_format(server, raw, root):
    """Observed in ZooKeeper 3.8: the reply header's err is 0; every op gets an error result (type -1)
    whose header err equals its body err: 0 for ops before the failure, the failure's code, then
    RUNTIMEINCONSISTENCY (-2) for the ops after it."""
    c = raw()
    reply = c.multi(
        [
            (OP_CREATE, create_body(f"{root}/a")),
            (OP_SET_DATA, set_data_body(root, b"x", 5)),
            (OP_DELETE, path_version_body(f"{root}/zz", -1)),
        ]
    )
    assert reply.err == 0
    assert [(r.op, r.err) for r in reply.value] == [(-1, 0), (-1, rawzk.BADVERSION), (-1, rawzk.RUNTIMEINCONSISTENCY)]
    # the header err of each error result equals its body
    body = rawzk.Reader(reply.body)
    headers = []
    for _ in range(3):
        op, _done, herr, berr = body.int(), body.bool(), body.int(), body.int()
        headers.append((op, herr, berr))
    assert headers == [(-1, 0, 0), (-1, rawzk.BADVERSION, rawzk.BADVERSION), (-1, -2, -2)]
    assert (body.int(), body.bool(), body.int()) == (-1, True, -1)
    assert c.exists(f"{root}/a").err == rawzk.NONODE


def test_successful_multi_result_types(server, raw, root):
    """create2 inside a multi answers as a plain create (type 1, path only) in ZooKeeper 3.8."""
    c = raw()
    reply = c.multi(
        [
            (OP_CREATE, create_body(f"{root}/a")),
            (OP_CREATE2, create_body(f"{root}/b")),
            (OP_SET_DATA, set_data_body(root, b"x", -1)),
            (OP_CHECK, path_version_body(root, 1)),
            (OP_DELETE, path_version_body(f"{root}/a", -1)),
        ]
    )
    assert reply.err == 0
    assert [(r.op, r.err) for r in reply.value] == [(1, 0), (1, 0), (5, 0), (13, 0), (2, 0)]
    assert reply.value[0].value == f"{root}/a"
    assert reply.value[1].value == f"{root}/b"
    assert reply.value[2].value["version"] == 1
    assert reply.value[2].value["numChildren"] == 2


def test_empty_multi_succeeds(server, raw):
    reply = raw().multi([])
    assert reply.err == 0 and reply.value == []


def test_read_op_inside_multi_is_a_marshalling_error(server, raw, root):
    c = raw()
    reply = c.multi([(OP_GET_DATA, path_watch_body(root))])
    assert reply.err == rawzk.MARSHALLINGERROR
    assert c.exists(root).err == 0  # connection stays usable


def test_multi_read_returns_per_op_results(server, raw, root):
    c = raw()
    c.create(f"{root}/a", b"data")
    c.create(f"{root}/b")
    reply = c.multi_read(
        [
            (OP_GET_DATA, path_watch_body(f"{root}/a")),
            (OP_GET_CHILDREN, path_watch_body(root)),
            (OP_GET_DATA, path_watch_body(f"{root}/missing")),
        ]
    )
    assert reply.err == 0
    (a, kids, missing) = reply.value
    assert a.op == OP_GET_DATA and a.value[0] == b"data" and a.value[1]["dataLength"] == 4
    assert kids.op == OP_GET_CHILDREN and sorted(kids.value) == ["a", "b"]
    # a failed read does not fail the others; its header err carries the code too
    assert (missing.op, missing.err) == (-1, rawzk.NONODE)


def test_multi_read_ignores_watch_flags(server, raw, root):
    """Observed in ZooKeeper 3.8: the watch flag of getData/getChildren inside multiRead sets no watch."""
    c = raw()
    c.create(f"{root}/w", b"")
    reply = c.multi_read(
        [(OP_GET_DATA, path_watch_body(f"{root}/w", True)), (OP_GET_CHILDREN, path_watch_body(f"{root}/w", True))]
    )
    assert reply.err == 0
    assert c.check_watches(f"{root}/w", rawzk.WATCHER_ANY).err == rawzk.NOWATCHER
    other = raw()
    other.set_data(f"{root}/w", b"changed")
    other.create(f"{root}/w/kid")
    assert c.drain_events() == []


def test_write_op_inside_multi_read_is_a_marshalling_error(server, raw, root):
    c = raw()
    reply = c.multi_read([(OP_CREATE, create_body(f"{root}/nope"))])
    assert reply.err == rawzk.MARSHALLINGERROR
    assert c.exists(f"{root}/nope").err == rawzk.NONODE
