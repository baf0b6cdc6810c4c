"""Opcodes kazoo 2.11 lacks, spoken raw: containers, TTL nodes, getAllChildrenNumber, getEphemerals,
whoAmI, and the reaping of containers and expired TTL nodes."""

import re

import rawzk
from rawzk import (
    CONTAINER,
    EPHEMERAL,
    OP_CREATE,
    OP_CREATE2,
    OP_CREATE_CONTAINER,
    OP_CREATE_TTL,
    PERSISTENT,
    PERSISTENT_SEQUENTIAL_WITH_TTL,
    PERSISTENT_WITH_TTL,
)
from util import wait_until


def test_create_container_and_its_client_visible_stat(server, raw, root):
    c = raw()
    reply = c.create(f"{root}/box", b"d", flags=CONTAINER)
    assert reply.err == 0
    path, stat = reply.value
    assert path == f"{root}/box"
    # containers carry a special ephemeralOwner internally; clients see 0
    assert stat["ephemeralOwner"] == 0
    assert c.exists(path).value["ephemeralOwner"] == 0


def test_container_flag_works_through_plain_create_and_container_opcode_takes_any_flag(server, raw, root):
    c = raw()
    assert c.create(f"{root}/viacreate", flags=CONTAINER, op=OP_CREATE).err == 0
    # createContainer ignores the flags field (ZooKeeper 3.8 accepts flags 0 here)
    assert c.create(f"{root}/flags0", flags=PERSISTENT, op=OP_CREATE_CONTAINER).err == 0


def test_container_is_reaped_after_its_last_child_goes(server, raw, root):
    c = raw()
    c.create(f"{root}/used", flags=CONTAINER)
    c.create(f"{root}/used/kid")
    c.create(f"{root}/never-used", flags=CONTAINER)
    c.delete(f"{root}/used/kid")
    wait_until(lambda: c.exists(f"{root}/used").err == rawzk.NONODE, what="container reaping")
    # a container that never had a child is left alone
    assert c.exists(f"{root}/never-used").err == 0


def test_ephemeral_child_of_container_is_allowed(server, raw, root):
    c = raw()
    c.create(f"{root}/box", flags=CONTAINER)
    assert c.create(f"{root}/box/e", flags=EPHEMERAL).err == 0


def test_create_ttl_node(server, raw, root):
    c = raw()
    reply = c.create(f"{root}/ttl", b"v", flags=PERSISTENT_WITH_TTL, ttl=600_000)
    assert reply.err == 0
    assert reply.value[1]["ephemeralOwner"] == 0
    assert c.get_data(f"{root}/ttl").value[0] == b"v"


def test_create_sequential_ttl_node(server, raw, root):
    c = raw()
    reply = c.create(f"{root}/ttl-", flags=PERSISTENT_SEQUENTIAL_WITH_TTL, ttl=600_000)
    assert reply.err == 0
    assert re.fullmatch(re.escape(root) + r"/ttl-\d{10}", reply.value[0])


def test_ttl_argument_checks(server, raw, root):
    c = raw()
    assert c.create(f"{root}/t0", flags=PERSISTENT_WITH_TTL, ttl=0).err == rawzk.BADARGUMENTS
    assert c.create(f"{root}/tneg", flags=PERSISTENT_WITH_TTL, ttl=-1).err == rawzk.BADARGUMENTS
    assert c.create(f"{root}/thuge", flags=PERSISTENT_WITH_TTL, ttl=2**62).err == rawzk.BADARGUMENTS
    # createTTL with a non-TTL mode, and a TTL mode through create2, are both refused
    assert c.create(f"{root}/tp", flags=PERSISTENT, ttl=1000, op=OP_CREATE_TTL).err == rawzk.BADARGUMENTS
    assert c.create(f"{root}/t5", flags=PERSISTENT_WITH_TTL, op=OP_CREATE2).err == rawzk.BADARGUMENTS
    for name in ["t0", "tneg", "thuge", "tp", "t5"]:
        assert c.exists(f"{root}/{name}").err == rawzk.NONODE


def test_unknown_create_flags_are_bad_arguments(server, raw, root):
    c = raw()
    assert c.create(f"{root}/f7", flags=7).err == rawzk.BADARGUMENTS
    assert c.create(f"{root}/fm1", flags=-1).err == rawzk.BADARGUMENTS


def test_expired_ttl_node_without_children_is_reaped(server, raw, root):
    c = raw()
    c.create(f"{root}/short", flags=PERSISTENT_WITH_TTL, ttl=200)
    c.create(f"{root}/parent", flags=PERSISTENT_WITH_TTL, ttl=200)
    c.create(f"{root}/parent/kid")
    wait_until(lambda: c.exists(f"{root}/short").err == rawzk.NONODE, what="TTL reaping")
    # a TTL node with children is kept
    assert c.exists(f"{root}/parent").err == 0


def test_get_all_children_number_counts_all_descendants(server, raw, root):
    c = raw()
    for p in ["a", "a/b", "a/b/c", "d"]:
        c.create(f"{root}/{p}")
    assert c.get_all_children_number(root).value == 4
    assert c.get_all_children_number(f"{root}/a").value == 2
    assert c.get_all_children_number(f"{root}/d").value == 0
    assert c.get_all_children_number(f"{root}/missing").err == rawzk.NONODE


def test_get_ephemerals_is_per_session_and_matches_by_string_prefix(server, raw, root):
    mine, other = raw(), raw()
    mine.create(f"{root}/x", flags=EPHEMERAL)
    mine.create(f"{root}/xy", flags=EPHEMERAL)
    mine.create(f"{root}/p")
    mine.create(f"{root}/p/e", flags=EPHEMERAL)
    other.create(f"{root}/theirs", flags=EPHEMERAL)
    assert sorted(mine.get_ephemerals(root).value) == [f"{root}/p/e", f"{root}/x", f"{root}/xy"]
    # a plain string prefix, not a path prefix: "/x" also matches "/xy"
    assert sorted(mine.get_ephemerals(f"{root}/x").value) == [f"{root}/x", f"{root}/xy"]
    assert mine.get_ephemerals(f"{root}/nothing").value == []
    assert other.get_ephemerals(root).value == [f"{root}/theirs"]
    assert f"{root}/x" in mine.get_ephemerals("/").value


def test_who_am_i_lists_ip_and_digest_identities(server, raw):
    c = raw()
    assert c.who_am_i().value == [("ip", "127.0.0.1")]
    assert c.add_auth("digest", b"bob:pw").err == 0
    assert sorted(c.who_am_i().value) == [("digest", "bob"), ("ip", "127.0.0.1")]


def test_sync_answers_with_the_path_even_for_missing_nodes(server, raw, root):
    c = raw()
    assert c.sync(root).value == root
    assert c.sync(f"{root}/missing").value == f"{root}/missing"
