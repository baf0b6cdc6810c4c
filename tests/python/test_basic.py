"""Core znode operations through kazoo: create modes, get/set/delete with versions, exists, children."""

import re

import pytest
import rawzk
from kazoo.exceptions import (
    BadVersionError,
    NoChildrenForEphemeralsError,
    NodeExistsError,
    NoNodeError,
    NotEmptyError,
)
from util import wait_until


def test_connect_reports_session_and_close_ends_it(server, make_client):
    c = make_client()
    assert c.connected
    session_id, passwd = c.client_id
    assert session_id != 0
    assert len(passwd) == 16
    c.stop()
    assert not c.connected


def test_server_version_via_srvr(server, zk):
    assert zk.command(b"ruok") == "imok"


def test_create_persistent_returns_path_and_stat(server, zk, root):
    path, stat = zk.create(f"{root}/a", b"hello", include_data=True)
    assert path == f"{root}/a"
    assert stat.version == 0 and stat.cversion == 0 and stat.aversion == 0
    assert stat.dataLength == 5 and stat.numChildren == 0 and stat.ephemeralOwner == 0
    assert stat.czxid == stat.mzxid == stat.pzxid
    data, stat2 = zk.get(f"{root}/a")
    assert data == b"hello"
    assert stat2 == stat


def test_create_existing_node_fails_with_node_exists(server, zk, root):
    zk.create(f"{root}/a")
    with pytest.raises(NodeExistsError):
        zk.create(f"{root}/a")


def test_create_without_parent_fails_with_no_node(server, zk, root):
    with pytest.raises(NoNodeError):
        zk.create(f"{root}/missing/child")


def test_create_makepath_creates_parents(server, zk, root):
    zk.create(f"{root}/x/y/z", b"v", makepath=True)
    assert zk.get(f"{root}/x/y/z")[0] == b"v"
    assert zk.exists(f"{root}/x/y") is not None


def test_sequential_names_have_ten_digit_suffix(server, zk, root):
    zk.create(f"{root}/plain")
    first = zk.create(f"{root}/seq-", sequence=True)
    second = zk.create(f"{root}/seq-", sequence=True)
    assert first == f"{root}/seq-0000000001"
    assert second == f"{root}/seq-0000000002"
    third = zk.create(f"{root}/other", sequence=True)
    assert re.fullmatch(re.escape(root) + r"/other\d{10}", third)


def test_sequential_suffix_counts_child_creations_not_deletions(server, zk, root):
    # Observed in ZooKeeper 3.8: a delete bumps the parent's visible cversion, but the counter used for
    # sequential suffixes only counts creations (the suffix is the cversion as PrepRequestProcessor tracks
    # it, which deletes do not bump).
    zk.create(f"{root}/a")
    zk.delete(f"{root}/a")
    assert zk.exists(root).cversion == 2
    assert zk.create(f"{root}/s-", sequence=True) == f"{root}/s-0000000001"
    assert zk.exists(root).cversion == 3
    zk.create(f"{root}/b")
    zk.delete(f"{root}/b")
    assert zk.create(f"{root}/s-", sequence=True) == f"{root}/s-0000000003"


def test_sequential_create_with_trailing_slash_names_child_by_counter(server, zk, root):
    path = zk.create(f"{root}/", sequence=True)
    assert path == f"{root}/0000000000"


def test_ephemeral_node_has_owner_and_goes_with_session(server, make_client, root):
    owner = make_client()
    observer = make_client()
    path, stat = owner.create(f"{root}/e", b"x", ephemeral=True, include_data=True)
    assert stat.ephemeralOwner == owner.client_id[0]
    assert observer.exists(path).ephemeralOwner == owner.client_id[0]
    owner.stop()
    wait_until(lambda: observer.exists(path) is None, what="ephemeral removal")


def test_ephemeral_sequential(server, zk, root):
    path = zk.create(f"{root}/es-", ephemeral=True, sequence=True)
    assert re.fullmatch(re.escape(root) + r"/es-\d{10}", path)
    assert zk.exists(path).ephemeralOwner == zk.client_id[0]


def test_ephemeral_cannot_have_children(server, zk, root):
    zk.create(f"{root}/e", ephemeral=True)
    with pytest.raises(NoChildrenForEphemeralsError):
        zk.create(f"{root}/e/child")


def test_set_with_versions(server, zk, root):
    p = f"{root}/v"
    zk.create(p, b"0")
    s1 = zk.set(p, b"1")
    assert s1.version == 1
    s2 = zk.set(p, b"22", version=1)
    assert s2.version == 2 and s2.dataLength == 2
    with pytest.raises(BadVersionError):
        zk.set(p, b"x", version=1)
    assert zk.get(p)[0] == b"22"
    assert s2.mzxid > s1.mzxid and s2.czxid == s1.czxid


def test_set_missing_node_fails(server, zk, root):
    with pytest.raises(NoNodeError):
        zk.set(f"{root}/nope", b"x")


def test_delete_with_versions(server, zk, root):
    p = f"{root}/d"
    zk.create(p)
    zk.set(p, b"x")
    with pytest.raises(BadVersionError):
        zk.delete(p, version=0)
    zk.delete(p, version=1)
    assert zk.exists(p) is None
    with pytest.raises(NoNodeError):
        zk.delete(p)


def test_delete_non_empty_fails(server, zk, root):
    zk.create(f"{root}/p/c", makepath=True)
    with pytest.raises(NotEmptyError):
        zk.delete(f"{root}/p")
    zk.delete(f"{root}/p", recursive=True)
    assert zk.exists(f"{root}/p") is None


def test_exists_returns_stat_or_none(server, zk, root):
    assert zk.exists(f"{root}/nope") is None
    st = zk.exists(root)
    assert st is not None and st.numChildren == 0


def test_children_and_parent_stat_bookkeeping(server, zk, root):
    for name in ["b", "a", "c"]:
        zk.create(f"{root}/{name}", b"")
    children, stat = zk.get_children(root, include_data=True)
    assert sorted(children) == ["a", "b", "c"]
    assert stat.numChildren == 3 and stat.cversion == 3
    before = zk.exists(root)
    zk.delete(f"{root}/b")
    after = zk.exists(root)
    assert after.cversion == before.cversion + 1
    assert after.numChildren == 2
    assert after.pzxid > before.pzxid
    assert after.version == before.version  # child changes do not touch the parent's data version


def test_get_children_of_missing_node_fails(server, zk, root):
    with pytest.raises(NoNodeError):
        zk.get_children(f"{root}/nope")


def test_ensure_path_is_idempotent(server, zk, root):
    zk.ensure_path(f"{root}/a/b/c")
    zk.ensure_path(f"{root}/a/b/c")
    assert zk.exists(f"{root}/a/b/c") is not None


def test_empty_and_binary_data_round_trip(server, zk, root):
    blob = bytes(range(256)) * 4
    zk.create(f"{root}/bin", blob)
    assert zk.get(f"{root}/bin")[0] == blob
    zk.set(f"{root}/bin", b"")
    data, stat = zk.get(f"{root}/bin")
    assert data == b"" and stat.dataLength == 0


def test_large_value_under_jute_maxbuffer_is_accepted(server, zk, root):
    blob = b"x" * 1_000_000
    zk.create(f"{root}/big", blob)
    assert zk.get(f"{root}/big")[0] == blob


def test_sync_returns(server, zk, root):
    zk.create(f"{root}/s")
    zk.sync(f"{root}/s")
    assert zk.exists(f"{root}/s") is not None


def test_root_and_zookeeper_system_nodes_exist(server, zk):
    assert zk.exists("/") is not None
    assert "zookeeper" in zk.get_children("/")
    assert zk.exists("/zookeeper/quota") is not None


def test_root_and_system_nodes_cannot_be_deleted(server, raw):
    c = raw()
    assert c.delete("/").err == rawzk.BADARGUMENTS
    assert c.delete("/zookeeper").err == rawzk.BADARGUMENTS
    assert c.delete("/zookeeper/quota").err == rawzk.BADARGUMENTS

