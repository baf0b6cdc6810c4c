"""Quotas as ZooKeeper 3.8 keeps them, on both servers (both run with enforceQuota on): the usage in
zookeeper_stats follows every create, delete and setData under the quota'd path, and a write past a hard
limit is refused with QUOTAEXCEEDED. Quotas are set the way zkCli's setquota sets them."""

import rawzk
from rawzk import (
    EPHEMERAL,
    OK,
    OP_CREATE,
    OP_DELETE,
    OP_SET_DATA,
    create_body,
    path_version_body,
    set_data_body,
)

QUOTAEXCEEDED = -125


def set_quota(c, path, limits):
    """zkCli's setquota: the quota tree's nodes with null data, the limits, then the stats node."""
    node = "/zookeeper/quota"
    for part in path.strip("/").split("/"):
        node = f"{node}/{part}"
        c.create(node, None)
    assert c.create(f"{node}/zookeeper_limits", limits.encode()).err == OK
    assert c.create(f"{node}/zookeeper_stats", b"count=0,bytes=0").err == OK


def usage(c, path):
    reply = c.get_data(f"/zookeeper/quota{path}/zookeeper_stats")
    assert reply.err == OK
    data, stat = reply.value
    assert stat["version"] == 0, "the usage changes in place"
    return data.decode()


NO_LIMITS = "count=-1,bytes=-1=;byteHardLimit=-1;countHardLimit=-1"


def test_the_usage_follows_every_change_under_the_quota(server, raw, root):
    c = raw()
    t = f"{root}/t"
    assert c.create(t, b"ab").err == OK
    assert c.create(f"{t}/a", b"cde").err == OK
    assert c.create(f"{root}/tx", b"beside, not under").err == OK
    set_quota(c, t, NO_LIMITS)
    assert usage(c, t) == "count=2,bytes=5", "set from the subtree when the stats node is created"
    assert c.create(f"{t}/a/b", b"1234").err == OK
    assert usage(c, t) == "count=3,bytes=9"
    assert c.set_data(f"{t}/a", None).err == OK
    assert usage(c, t) == "count=3,bytes=6"
    assert c.create(f"{t}/n", None).err == OK
    assert usage(c, t) == "count=4,bytes=6"
    ops = [(OP_CREATE, create_body(f"{t}/m1", b"xy")), (OP_DELETE, path_version_body(f"{t}/n", -1))]
    assert c.multi(ops).err == OK
    assert usage(c, t) == "count=4,bytes=8"
    assert c.create(f"{root}/tx/y", b"zz").err == OK
    # An ephemeral goes with its session.
    other = raw()
    assert other.create(f"{t}/e", b"eph", flags=EPHEMERAL).err == OK
    assert usage(c, t) == "count=5,bytes=11"
    other.close()
    assert usage(c, t) == "count=4,bytes=8"
    for p in (f"{t}/a/b", f"{t}/a", f"{t}/m1", t):
        assert c.delete(p).err == OK
    assert usage(c, t) == "count=0,bytes=0"


def test_a_write_past_a_hard_limit_is_refused_and_a_soft_limit_only_warns(server, raw, root):
    c = raw()
    t = f"{root}/t"
    assert c.create(t, b"").err == OK
    # At most 3 nodes (hard), at most 4 bytes (soft).
    set_quota(c, t, "count=-1,bytes=4=;byteHardLimit=-1;countHardLimit=3")
    assert c.create(f"{t}/a", b"12345").err == OK, "past the soft byte limit: allowed"
    assert c.create(f"{t}/b", b"").err == OK
    assert c.create(f"{t}/c", b"").err == QUOTAEXCEEDED
    assert c.exists(f"{t}/c").err == rawzk.NONODE
    ops = [(OP_SET_DATA, set_data_body(f"{t}/a", b"")), (OP_CREATE, create_body(f"{t}/c", b""))]
    reply = c.multi(ops)
    assert [r.err for r in reply.value] == [OK, QUOTAEXCEEDED]
    assert usage(c, t) == "count=3,bytes=5", "the failed multi changed nothing"
    # Hard byte limit: setData is checked too, by the difference it makes.
    assert c.set_data(f"/zookeeper/quota{t}/zookeeper_limits", b"count=-1,bytes=-1=;byteHardLimit=6;countHardLimit=-1").err == OK
    assert c.set_data(f"{t}/b", b"12").err == QUOTAEXCEEDED
    assert c.set_data(f"{t}/b", b"1").err == OK
    assert c.set_data(f"{t}/a", b"1").err == OK
    assert usage(c, t) == "count=3,bytes=2"
