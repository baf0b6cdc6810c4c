import static org.apache.zookeeper.ZooDefs.Ids.OPEN_ACL_UNSAFE;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.apache.zookeeper.AddWatchMode;
import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.KeeperException;
import org.apache.zookeeper.Op;
import org.apache.zookeeper.OpResult;
import org.apache.zookeeper.WatchedEvent;
import org.apache.zookeeper.Watcher;
import org.apache.zookeeper.Watcher.Event.EventType;
import org.apache.zookeeper.ZooKeeper;
import org.apache.zookeeper.data.ClientInfo;
import org.apache.zookeeper.data.Stat;

/** The raw Java API (org.apache.zookeeper.ZooKeeper), feature by feature. */
final class RawApiChecks {
    private RawApiChecks() {}

    static void register(Map<String, RzkCompat.Check> checks) {
        checks.put("raw-crud-and-null-data", RawApiChecks::crudAndNullData);
        checks.put("raw-persistent-watch", RawApiChecks::persistentWatch);
        checks.put("raw-recursive-watch", RawApiChecks::recursiveWatch);
        checks.put("raw-remove-watches", RawApiChecks::removeWatches);
        checks.put("raw-multi", RawApiChecks::multi);
        checks.put("raw-ttl-and-container", RawApiChecks::ttlAndContainer);
        checks.put("raw-get-ephemerals", RawApiChecks::getEphemerals);
        checks.put("raw-who-am-i", RawApiChecks::whoAmI);
    }

    /** A session, connected. */
    static ZooKeeper connect(String connect) throws Exception {
        CountDownLatch connected = new CountDownLatch(1);
        ZooKeeper zk = new ZooKeeper(connect, 15_000, e -> {
            if (e.getState() == Watcher.Event.KeeperState.SyncConnected) {
                connected.countDown();
            }
        });
        if (!connected.await(20, TimeUnit.SECONDS)) {
            zk.close();
            throw new AssertionError("no connection to " + connect);
        }
        return zk;
    }

    static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    static WatchedEvent next(BlockingQueue<WatchedEvent> events) throws InterruptedException {
        WatchedEvent e = events.poll(10, TimeUnit.SECONDS);
        RzkCompat.check(e != null, "an event within 10 s");
        return e;
    }

    /** The next event that is about a node (the connection's state events are skipped). */
    static WatchedEvent nextNodeEvent(BlockingQueue<WatchedEvent> events) throws InterruptedException {
        while (true) {
            WatchedEvent e = next(events);
            if (e.getType() != EventType.None) {
                return e;
            }
        }
    }

    static void expect(BlockingQueue<WatchedEvent> events, EventType type, String path) throws InterruptedException {
        WatchedEvent e = nextNodeEvent(events);
        RzkCompat.equal(type + " " + path, e.getType() + " " + e.getPath(), "event");
    }

    static void crudAndNullData(String connect, String root) throws Exception {
        try (ZooKeeper zk = connect(connect)) {
            zk.create(root, null, OPEN_ACL_UNSAFE, CreateMode.PERSISTENT);
            Stat stat = new Stat();
            RzkCompat.check(zk.getData(root, false, stat) == null, "null data reads back null");
            RzkCompat.equal(0, stat.getDataLength(), "dataLength of null data");
            zk.create(root + "/empty", new byte[0], OPEN_ACL_UNSAFE, CreateMode.PERSISTENT);
            byte[] empty = zk.getData(root + "/empty", false, null);
            RzkCompat.check(empty != null && empty.length == 0, "empty data reads back empty, not null");
            Stat set = zk.setData(root + "/empty", null, 0);
            RzkCompat.equal(1, set.getVersion(), "version after setData");
            RzkCompat.check(zk.getData(root + "/empty", false, null) == null, "setData null reads back null");
            String seq = zk.create(root + "/s-", bytes("x"), OPEN_ACL_UNSAFE, CreateMode.PERSISTENT_SEQUENTIAL);
            RzkCompat.equal(root + "/s-0000000001", seq, "sequential name");
            RzkCompat.equal(2, zk.getAllChildrenNumber(root), "getAllChildrenNumber");
            zk.sync(root, (rc, path, ctx) -> {}, null);
            try {
                zk.delete(root, -1);
                throw new AssertionError("deleting a node with children succeeded");
            } catch (KeeperException.NotEmptyException expected) {
                // as ZooKeeper
            }
            try {
                zk.setData(root + "/empty", bytes("v"), 7);
                throw new AssertionError("a wrong version was accepted");
            } catch (KeeperException.BadVersionException expected) {
                // as ZooKeeper
            }
        }
    }

    static void persistentWatch(String connect, String root) throws Exception {
        try (ZooKeeper zk = connect(connect); ZooKeeper other = connect(connect)) {
            BlockingQueue<WatchedEvent> events = new LinkedBlockingQueue<>();
            zk.addWatch(root, events::add, AddWatchMode.PERSISTENT);
            other.create(root, bytes("a"), OPEN_ACL_UNSAFE, CreateMode.PERSISTENT);
            expect(events, EventType.NodeCreated, root);
            other.setData(root, bytes("b"), -1);
            expect(events, EventType.NodeDataChanged, root);
            other.setData(root, bytes("c"), -1);
            expect(events, EventType.NodeDataChanged, root);
            other.create(root + "/child", null, OPEN_ACL_UNSAFE, CreateMode.PERSISTENT);
            expect(events, EventType.NodeChildrenChanged, root);
            other.delete(root + "/child", -1);
            expect(events, EventType.NodeChildrenChanged, root);
            other.delete(root, -1);
            expect(events, EventType.NodeDeleted, root);
            other.create(root, null, OPEN_ACL_UNSAFE, CreateMode.PERSISTENT);
            expect(events, EventType.NodeCreated, root);
        }
    }

    static void recursiveWatch(String connect, String root) throws Exception {
        try (ZooKeeper zk = connect(connect); ZooKeeper other = connect(connect)) {
            other.create(root, null, OPEN_ACL_UNSAFE, CreateMode.PERSISTENT);
            BlockingQueue<WatchedEvent> events = new LinkedBlockingQueue<>();
            zk.addWatch(root, events::add, AddWatchMode.PERSISTENT_RECURSIVE);
            other.create(root + "/a", null, OPEN_ACL_UNSAFE, CreateMode.PERSISTENT);
            expect(events, EventType.NodeCreated, root + "/a");
            other.create(root + "/a/b", bytes("1"), OPEN_ACL_UNSAFE, CreateMode.PERSISTENT);
            expect(events, EventType.NodeCreated, root + "/a/b");
            other.setData(root + "/a/b", bytes("2"), -1);
            expect(events, EventType.NodeDataChanged, root + "/a/b");
            other.delete(root + "/a/b", -1);
            expect(events, EventType.NodeDeleted, root + "/a/b");
        }
    }

    static void removeWatches(String connect, String root) throws Exception {
        try (ZooKeeper zk = connect(connect); ZooKeeper other = connect(connect)) {
            zk.create(root, null, OPEN_ACL_UNSAFE, CreateMode.PERSISTENT);
            BlockingQueue<WatchedEvent> events = new LinkedBlockingQueue<>();
            Watcher watcher = events::add;
            zk.getData(root, watcher, null);
            zk.removeWatches(root, watcher, Watcher.WatcherType.Data, false);
            expect(events, EventType.DataWatchRemoved, root);
            try {
                zk.removeWatches(root, watcher, Watcher.WatcherType.Data, false);
                throw new AssertionError("removing a watch twice succeeded");
            } catch (KeeperException.NoWatcherException expected) {
                // as ZooKeeper
            }
            zk.getChildren(root, watcher);
            zk.removeAllWatches(root, Watcher.WatcherType.Children, false);
            expect(events, EventType.ChildWatchRemoved, root);
            other.setData(root, bytes("x"), -1);
            other.create(root + "/c", null, OPEN_ACL_UNSAFE, CreateMode.PERSISTENT);
            WatchedEvent late = events.poll(500, TimeUnit.MILLISECONDS);
            RzkCompat.check(late == null, "no event after the watches were removed, got " + late);
        }
    }

    static void multi(String connect, String root) throws Exception {
        try (ZooKeeper zk = connect(connect)) {
            List<OpResult> results = zk.multi(Arrays.asList(
                    Op.create(root, null, OPEN_ACL_UNSAFE, CreateMode.PERSISTENT),
                    Op.create(root + "/a", bytes("1"), OPEN_ACL_UNSAFE, CreateMode.PERSISTENT),
                    Op.setData(root + "/a", bytes("2"), 0),
                    Op.check(root + "/a", 1)));
            RzkCompat.equal(4, results.size(), "results");
            RzkCompat.equal(root + "/a", ((OpResult.CreateResult) results.get(1)).getPath(), "created path");
            RzkCompat.equal(1, ((OpResult.SetDataResult) results.get(2)).getStat().getVersion(), "set version");
            try {
                zk.multi(Arrays.asList(
                        Op.create(root + "/b", null, OPEN_ACL_UNSAFE, CreateMode.PERSISTENT),
                        Op.delete(root + "/a", 5)));
                throw new AssertionError("a multi with a bad version succeeded");
            } catch (KeeperException e) {
                RzkCompat.equal(KeeperException.Code.BADVERSION, e.code(), "multi error");
                List<OpResult> r = e.getResults();
                RzkCompat.equal(KeeperException.Code.OK.intValue(), ((OpResult.ErrorResult) r.get(0)).getErr(), "rolled back op");
                RzkCompat.equal(KeeperException.Code.BADVERSION.intValue(), ((OpResult.ErrorResult) r.get(1)).getErr(), "failed op");
            }
            RzkCompat.check(zk.exists(root + "/b", false) == null, "a failed multi changes nothing");
            List<OpResult> reads = zk.multi(Arrays.asList(Op.getData(root + "/a"), Op.getChildren(root)));
            RzkCompat.equal("2", new String(((OpResult.GetDataResult) reads.get(0)).getData(), StandardCharsets.UTF_8), "multiRead data");
            RzkCompat.equal(Collections.singletonList("a"), ((OpResult.GetChildrenResult) reads.get(1)).getChildren(), "multiRead children");
        }
    }

    static void ttlAndContainer(String connect, String root) throws Exception {
        try (ZooKeeper zk = connect(connect)) {
            zk.create(root, null, OPEN_ACL_UNSAFE, CreateMode.PERSISTENT);
            Stat stat = new Stat();
            zk.create(root + "/ttl", bytes("t"), OPEN_ACL_UNSAFE, CreateMode.PERSISTENT_WITH_TTL, stat, 60_000);
            RzkCompat.equal(0L, stat.getEphemeralOwner(), "a TTL node's owner as clients see it");
            String seq = zk.create(root + "/ttl-", null, OPEN_ACL_UNSAFE, CreateMode.PERSISTENT_SEQUENTIAL_WITH_TTL, stat, 60_000);
            RzkCompat.check(seq.startsWith(root + "/ttl-"), "sequential TTL name " + seq);
            try {
                zk.create(root + "/bad", null, OPEN_ACL_UNSAFE, CreateMode.PERSISTENT_WITH_TTL, stat, 0);
                throw new AssertionError("a TTL of 0 was accepted");
            } catch (KeeperException.BadArgumentsException expected) {
                // as ZooKeeper
            } catch (IllegalArgumentException expected) {
                // the client checks it first
            }
            zk.create(root + "/box", null, OPEN_ACL_UNSAFE, CreateMode.CONTAINER);
            zk.create(root + "/box/item", null, OPEN_ACL_UNSAFE, CreateMode.PERSISTENT);
            zk.delete(root + "/box/item", -1);
            // The container is reaped once empty, after the server's check interval.
            long deadline = System.currentTimeMillis() + 30_000;
            while (zk.exists(root + "/box", false) != null) {
                RzkCompat.check(System.currentTimeMillis() < deadline, "the empty container was removed within 30 s");
                Thread.sleep(100);
            }
        }
    }

    static void getEphemerals(String connect, String root) throws Exception {
        try (ZooKeeper zk = connect(connect)) {
            zk.create(root, null, OPEN_ACL_UNSAFE, CreateMode.PERSISTENT);
            List<String> made = new ArrayList<>();
            for (String n : new String[] {"e1", "e2", "x"}) {
                made.add(zk.create(root + "/" + n, null, OPEN_ACL_UNSAFE, CreateMode.EPHEMERAL));
            }
            List<String> all = new ArrayList<>(zk.getEphemerals(root));
            Collections.sort(all);
            RzkCompat.equal(made, all, "getEphemerals");
            List<String> some = new ArrayList<>(zk.getEphemerals(root + "/e"));
            Collections.sort(some);
            RzkCompat.equal(made.subList(0, 2), some, "getEphemerals by prefix");
        }
    }

    static void whoAmI(String connect, String root) throws Exception {
        try (ZooKeeper zk = connect(connect)) {
            zk.addAuthInfo("digest", bytes("bob:secret"));
            List<ClientInfo> infos = zk.whoAmI();
            List<String> seen = new ArrayList<>();
            for (ClientInfo i : infos) {
                seen.add(i.getAuthScheme() + ":" + i.getUser());
            }
            RzkCompat.check(seen.contains("digest:bob"), "whoAmI names the digest user: " + seen);
            RzkCompat.check(seen.contains("ip:127.0.0.1"), "whoAmI names the client's address: " + seen);
        }
    }
}
