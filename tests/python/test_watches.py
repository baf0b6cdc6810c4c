"""Watches: one-shot data/child/exists watches (kazoo), persistent and recursive watches, removeWatches,
checkWatches and setWatches2 (raw jute, which kazoo 2.11 lacks)."""

import rawzk
from rawzk import (
    ADD_WATCH_PERSISTENT,
    ADD_WATCH_PERSISTENT_RECURSIVE,
    EV_NODE_CHILDREN_CHANGED,
    EV_NODE_CREATED,
    EV_NODE_DATA_CHANGED,
    EV_NODE_DELETED,
    WATCHER_ANY,
    WATCHER_CHILDREN,
    WATCHER_DATA,
)
from util import Events


def evs(events):
    return [(e.type, e.path) for e in events]


# ---- one-shot watches through kazoo


def test_data_watch_fires_once_on_change(server, zk, make_client, root):
    p = f"{root}/d"
    zk.create(p, b"0")
    seen = Events()
    zk.get(p, watch=seen)
    writer = make_client()
    writer.set(p, b"1")
    ev = seen.next()
    assert (ev.type, ev.path) == ("CHANGED", p)
    writer.set(p, b"2")
    zk.sync(p)
    assert seen.none_within()


def test_child_watch_fires_on_child_create_and_delete_not_on_child_data(server, zk, make_client, root):
    seen = Events()
    zk.get_children(root, watch=seen)
    writer = make_client()
    writer.create(f"{root}/c")
    ev = seen.next()
    assert (ev.type, ev.path) == ("CHILD", root)
    zk.get_children(root, watch=seen)
    writer.set(f"{root}/c", b"x")
    writer.delete(f"{root}/c")
    ev = seen.next()
    assert (ev.type, ev.path) == ("CHILD", root)
    zk.sync(root)
    assert seen.none_within()


def test_exists_watch_on_missing_node_fires_created(server, zk, make_client, root):
    p = f"{root}/later"
    seen = Events()
    assert zk.exists(p, watch=seen) is None
    make_client().create(p)
    ev = seen.next()
    assert (ev.type, ev.path) == ("CREATED", p)


def test_exists_watch_on_existing_node_fires_changed(server, zk, make_client, root):
    p = f"{root}/e"
    zk.create(p)
    seen = Events()
    assert zk.exists(p, watch=seen) is not None
    make_client().set(p, b"x")
    assert (seen.next().type) == "CHANGED"


def test_delete_fires_deleted_on_data_watch_and_child_watch(server, zk, make_client, root):
    p = f"{root}/gone"
    zk.create(p)
    data_seen, child_seen, parent_seen = Events(), Events(), Events()
    zk.get(p, watch=data_seen)
    zk.get_children(p, watch=child_seen)
    zk.get_children(root, watch=parent_seen)
    make_client().delete(p)
    assert (data_seen.next().type, child_seen.next().type) == ("DELETED", "DELETED")
    ev = parent_seen.next()
    assert (ev.type, ev.path) == ("CHILD", root)


def test_every_watching_session_is_notified(server, make_client, root):
    p = f"{root}/shared"
    writer = make_client()
    writer.create(p)
    watchers = [make_client() for _ in range(3)]
    seen = [Events() for _ in watchers]
    for c, s in zip(watchers, seen):
        c.get(p, watch=s)
    writer.set(p, b"x")
    for s in seen:
        assert s.next().type == "CHANGED"


# ---- the same, raw: event fields and ordering on the wire


def test_notification_precedes_the_reply_that_shows_the_change(server, raw, root):
    c, writer = raw(), raw()
    p = f"{root}/ord"
    c.create(p, b"0")
    assert c.get_data(p, watch=True).err == 0
    writer.set_data(p, b"1")
    reply = c.get_data(p)
    if reply.value[0] == b"1":
        # the server must have delivered the notification before this reply
        assert evs(c.events) == [(EV_NODE_DATA_CHANGED, p)]
    assert c.events[0].state == 3  # SyncConnected


def test_one_shot_and_exists_watch_on_same_path_give_one_event(server, raw, root):
    c, writer = raw(), raw()
    p = f"{root}/dup"
    c.create(p)
    c.get_data(p, watch=True)
    c.exists(p, watch=True)
    writer.set_data(p, b"x")
    assert evs(c.drain_events()) == [(EV_NODE_DATA_CHANGED, p)]


# ---- persistent watches (addWatch)


def test_persistent_watch_fires_repeatedly_for_node_and_children(server, raw, root):
    c, writer = raw(), raw()
    p = f"{root}/pw"
    c.create(p)
    assert c.add_watch(p, ADD_WATCH_PERSISTENT).err == 0
    writer.create(f"{p}/z")
    writer.set_data(f"{p}/z", b"1")  # a child's data: not reported by a non-recursive watch
    writer.set_data(p, b"3")
    writer.set_data(p, b"4")
    writer.delete(f"{p}/z")
    assert evs(c.drain_events()) == [
        (EV_NODE_CHILDREN_CHANGED, p),
        (EV_NODE_DATA_CHANGED, p),
        (EV_NODE_DATA_CHANGED, p),
        (EV_NODE_CHILDREN_CHANGED, p),
    ]
    # still registered
    assert c.check_watches(p, WATCHER_ANY).err == 0


def test_persistent_watch_on_missing_node_sees_creation_and_deletion(server, raw, root):
    c, writer = raw(), raw()
    p = f"{root}/notyet"
    assert c.add_watch(p, ADD_WATCH_PERSISTENT).err == 0
    writer.create(p)
    writer.delete(p)
    writer.create(p)
    assert evs(c.drain_events()) == [(EV_NODE_CREATED, p), (EV_NODE_DELETED, p), (EV_NODE_CREATED, p)]


def test_recursive_watch_reports_descendants_without_child_events(server, raw, root):
    c, writer = raw(), raw()
    p = f"{root}/rw"
    c.create(p)
    c.create(f"{p}/x")
    assert c.add_watch(p, ADD_WATCH_PERSISTENT_RECURSIVE).err == 0
    writer.create(f"{p}/x/y")
    writer.set_data(f"{p}/x", b"1")
    writer.delete(f"{p}/x/y")
    writer.set_data(p, b"2")
    assert evs(c.drain_events()) == [
        (EV_NODE_CREATED, f"{p}/x/y"),
        (EV_NODE_DATA_CHANGED, f"{p}/x"),
        (EV_NODE_DELETED, f"{p}/x/y"),
        (EV_NODE_DATA_CHANGED, p),
    ]
    # checkWatches matches only the exact path the watch was added on
    assert c.check_watches(p, WATCHER_DATA).err == 0
    assert c.check_watches(p, WATCHER_CHILDREN).err == 0
    assert c.check_watches(f"{p}/x", WATCHER_ANY).err == rawzk.NOWATCHER


def test_persistent_and_one_shot_watch_on_same_path_give_one_event(server, raw, root):
    c, writer = raw(), raw()
    p = f"{root}/both"
    c.create(p)
    c.add_watch(p, ADD_WATCH_PERSISTENT)
    c.get_data(p, watch=True)
    writer.set_data(p, b"5")
    assert evs(c.drain_events()) == [(EV_NODE_DATA_CHANGED, p)]


def test_add_watch_with_unknown_mode_is_a_marshalling_error(server, raw, root):
    c = raw()
    assert c.add_watch(root, 7).err == rawzk.MARSHALLINGERROR
    assert c.exists(root).err == 0


# ---- checkWatches / removeWatches


def test_check_and_remove_one_shot_watches(server, raw, root):
    c, writer = raw(), raw()
    p = f"{root}/rm"
    c.create(p)
    c.create(f"{p}/kid")
    assert c.check_watches(p, WATCHER_DATA).err == rawzk.NOWATCHER
    c.get_data(p, watch=True)
    c.get_children(p, watch=True)
    assert c.check_watches(p, WATCHER_DATA).err == 0
    assert c.check_watches(p, WATCHER_CHILDREN).err == 0
    assert c.remove_watches(p, WATCHER_DATA).err == 0
    assert c.remove_watches(p, WATCHER_DATA).err == rawzk.NOWATCHER
    assert c.check_watches(p, WATCHER_DATA).err == rawzk.NOWATCHER
    assert c.check_watches(p, WATCHER_CHILDREN).err == 0
    assert c.remove_watches(p, WATCHER_ANY).err == 0
    assert c.check_watches(p, WATCHER_ANY).err == rawzk.NOWATCHER
    # removal sends no notification from the server (removal events are made by the client library)
    writer.set_data(p, b"x")
    writer.create(f"{p}/kid2")
    assert c.drain_events() == []


def test_remove_persistent_watch_by_type(server, raw, root):
    """Observed in ZooKeeper 3.8: a persistent watch counts as both a data and a child watch; removing
    DATA leaves it answering checkWatches until CHILDREN is removed too."""
    c = raw()
    p = f"{root}/rp"
    c.create(p)
    c.add_watch(p, ADD_WATCH_PERSISTENT)
    assert c.check_watches(p, WATCHER_DATA).err == 0
    assert c.check_watches(p, WATCHER_CHILDREN).err == 0
    assert c.remove_watches(p, WATCHER_DATA).err == 0
    assert c.check_watches(p, WATCHER_ANY).err == 0
    assert c.remove_watches(p, WATCHER_CHILDREN).err == 0
    assert c.check_watches(p, WATCHER_ANY).err == rawzk.NOWATCHER
    assert c.remove_watches(p, WATCHER_ANY).err == rawzk.NOWATCHER


def test_remove_watches_on_missing_path_is_no_watcher(server, raw, root):
    assert raw().remove_watches(f"{root}/nope", WATCHER_ANY).err == rawzk.NOWATCHER


def test_remove_watches_with_unknown_type_is_a_marshalling_error(server, raw, root):
    c = raw()
    assert c.remove_watches(root, 9).err == rawzk.MARSHALLINGERROR
    assert c.exists(root).err == 0


# ---- setWatches2: re-registering watches after a reconnect


def test_set_watches2_fires_for_changes_missed_since_relative_zxid(server, raw, root):
    writer = raw()
    p = f"{root}/sw"
    writer.create(f"{root}/sw-kid-parent")
    zxid_seen = writer.create(p, b"0").zxid
    writer.set_data(p, b"1")  # missed by the new session
    writer.create(f"{root}/appeared")
    c = raw()
    reply = c.set_watches2(
        zxid_seen,
        data=[p],
        exist=[f"{root}/appeared", f"{root}/still-missing"],
        child=[f"{root}/sw-kid-parent"],
        persistent=[],
        recursive=[],
    )
    assert reply.err == 0
    got = sorted(evs(c.drain_events()))
    assert got == sorted([(EV_NODE_DATA_CHANGED, p), (EV_NODE_CREATED, f"{root}/appeared")])
    # the unchanged ones are now armed
    writer.create(f"{root}/still-missing")
    writer.create(f"{root}/sw-kid-parent/k")
    assert sorted(evs(c.drain_events())) == sorted(
        [(EV_NODE_CREATED, f"{root}/still-missing"), (EV_NODE_CHILDREN_CHANGED, f"{root}/sw-kid-parent")]
    )


def test_set_watches2_restores_persistent_watches(server, raw, root):
    writer = raw()
    p = f"{root}/swp"
    zxid = writer.create(p).zxid
    c = raw()
    assert c.set_watches2(zxid, persistent=[p], recursive=[root]).err == 0
    writer.set_data(p, b"x")
    writer.set_data(p, b"y")
    got = evs(c.drain_events())
    # one event per change (both watches match the path, but a session gets each event once)
    assert got == [(EV_NODE_DATA_CHANGED, p), (EV_NODE_DATA_CHANGED, p)]


def test_set_watches_version1_still_works(server, raw, root):
    writer = raw()
    p = f"{root}/sw1"
    zxid = writer.create(p).zxid
    writer.set_data(p, b"1")
    c = raw()
    reply = c.request(rawzk.OP_SET_WATCHES, rawzk.set_watches_body(zxid, data=[p]), xid=rawzk.XID_SET_WATCHES)
    assert reply.err == 0
    assert evs(c.drain_events()) == [(EV_NODE_DATA_CHANGED, p)]
