import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.framework.recipes.atomic.AtomicValue;
import org.apache.curator.framework.recipes.atomic.DistributedAtomicLong;
import org.apache.curator.framework.recipes.barriers.DistributedDoubleBarrier;
import org.apache.curator.framework.recipes.cache.CuratorCache;
import org.apache.curator.framework.recipes.cache.CuratorCacheListener;
import org.apache.curator.framework.recipes.cache.NodeCache;
import org.apache.curator.framework.recipes.cache.TreeCache;
import org.apache.curator.framework.recipes.cache.TreeCacheEvent;
import org.apache.curator.framework.recipes.leader.LeaderLatch;
import org.apache.curator.framework.recipes.leader.LeaderSelector;
import org.apache.curator.framework.recipes.leader.LeaderSelectorListenerAdapter;
import org.apache.curator.framework.recipes.locks.InterProcessMutex;
import org.apache.curator.framework.recipes.locks.InterProcessReadWriteLock;
import org.apache.curator.framework.recipes.locks.InterProcessSemaphoreV2;
import org.apache.curator.framework.recipes.locks.Lease;
import org.apache.curator.framework.recipes.nodes.PersistentNode;
import org.apache.curator.framework.recipes.nodes.PersistentTtlNode;
import org.apache.curator.framework.recipes.queue.DistributedQueue;
import org.apache.curator.framework.recipes.queue.QueueBuilder;
import org.apache.curator.framework.recipes.queue.QueueConsumer;
import org.apache.curator.framework.recipes.queue.QueueSerializer;
import org.apache.curator.framework.recipes.shared.SharedCount;
import org.apache.curator.framework.recipes.shared.SharedCountListener;
import org.apache.curator.framework.recipes.shared.SharedCountReader;
import org.apache.curator.framework.recipes.shared.VersionedValue;
import org.apache.curator.framework.state.ConnectionState;
import org.apache.curator.retry.RetryNTimes;
import org.apache.curator.x.discovery.ServiceDiscovery;
import org.apache.curator.x.discovery.ServiceDiscoveryBuilder;
import org.apache.curator.x.discovery.ServiceInstance;
import org.apache.curator.x.discovery.ServiceProvider;
import org.apache.curator.x.discovery.details.JsonInstanceSerializer;
import org.apache.zookeeper.CreateMode;

/** The Curator 5 recipes people run in production, each against the server under test. */
final class CuratorChecks {
    private CuratorChecks() {}

    static void register(Map<String, RzkCompat.Check> checks) {
        checks.put("curator-cache", CuratorChecks::curatorCache);
        checks.put("curator-tree-cache", CuratorChecks::treeCache);
        checks.put("curator-node-cache", CuratorChecks::nodeCache);
        checks.put("curator-leader-latch", CuratorChecks::leaderLatch);
        checks.put("curator-leader-selector", CuratorChecks::leaderSelector);
        checks.put("curator-mutex", CuratorChecks::mutex);
        checks.put("curator-read-write-lock", CuratorChecks::readWriteLock);
        checks.put("curator-semaphore", CuratorChecks::semaphore);
        checks.put("curator-queue", CuratorChecks::queue);
        checks.put("curator-double-barrier", CuratorChecks::doubleBarrier);
        checks.put("curator-shared-count", CuratorChecks::sharedCount);
        checks.put("curator-atomic-long", CuratorChecks::atomicLong);
        checks.put("curator-persistent-node", CuratorChecks::persistentNode);
        checks.put("curator-persistent-ttl-node", CuratorChecks::persistentTtlNode);
        checks.put("curator-service-discovery", CuratorChecks::serviceDiscovery);
    }

    static CuratorFramework client(String connect) throws InterruptedException {
        CuratorFramework c = CuratorFrameworkFactory.builder()
                .connectString(connect)
                .sessionTimeoutMs(15_000)
                .connectionTimeoutMs(10_000)
                .retryPolicy(new RetryNTimes(20, 250))
                .build();
        c.start();
        RzkCompat.check(c.blockUntilConnected(20, TimeUnit.SECONDS), "Curator connected to " + connect);
        return c;
    }

    static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    static String take(BlockingQueue<String> events) throws InterruptedException {
        String e = events.poll(15, TimeUnit.SECONDS);
        RzkCompat.check(e != null, "an event within 15 s");
        return e;
    }

    /** Curator 5's recommended cache, built on addWatch (persistent recursive watches). */
    static void curatorCache(String connect, String root) throws Exception {
        try (CuratorFramework c = client(connect)) {
            c.create().forPath(root, bytes("r"));
            BlockingQueue<String> events = new LinkedBlockingQueue<>();
            CountDownLatch initialized = new CountDownLatch(1);
            try (CuratorCache cache = CuratorCache.build(c, root)) {
                cache.listenable().addListener(CuratorCacheListener.builder()
                        .forCreates(n -> events.add("created " + n.getPath()))
                        .forChanges((old, n) -> events.add("changed " + n.getPath() + " " + new String(n.getData(), StandardCharsets.UTF_8)))
                        .forDeletes(n -> events.add("deleted " + n.getPath()))
                        .forInitialized(initialized::countDown)
                        .build());
                cache.start();
                RzkCompat.check(initialized.await(15, TimeUnit.SECONDS), "the cache initialized");
                RzkCompat.equal("created " + root, take(events), "initial load");
                c.create().forPath(root + "/a", bytes("1"));
                RzkCompat.equal("created " + root + "/a", take(events), "create");
                c.setData().forPath(root + "/a", bytes("2"));
                RzkCompat.equal("changed " + root + "/a 2", take(events), "change");
                c.create().creatingParentsIfNeeded().forPath(root + "/b/c", bytes("3"));
                RzkCompat.equal("created " + root + "/b", take(events), "parent create");
                RzkCompat.equal("created " + root + "/b/c", take(events), "deep create");
                c.delete().forPath(root + "/a");
                RzkCompat.equal("deleted " + root + "/a", take(events), "delete");
                RzkCompat.equal("3", new String(cache.get(root + "/b/c").get().getData(), StandardCharsets.UTF_8), "cached data");
            }
        }
    }

    static void treeCache(String connect, String root) throws Exception {
        try (CuratorFramework c = client(connect)) {
            c.create().forPath(root);
            BlockingQueue<String> events = new LinkedBlockingQueue<>();
            try (TreeCache cache = TreeCache.newBuilder(c, root).build()) {
                cache.getListenable().addListener((client, e) -> {
                    if (e.getData() != null) {
                        events.add(e.getType() + " " + e.getData().getPath());
                    } else if (e.getType() == TreeCacheEvent.Type.INITIALIZED) {
                        events.add("INITIALIZED");
                    }
                });
                cache.start();
                RzkCompat.equal("NODE_ADDED " + root, take(events), "root");
                RzkCompat.equal("INITIALIZED", take(events), "initialized");
                c.create().forPath(root + "/x", bytes("1"));
                RzkCompat.equal("NODE_ADDED " + root + "/x", take(events), "added");
                c.setData().forPath(root + "/x", bytes("2"));
                RzkCompat.equal("NODE_UPDATED " + root + "/x", take(events), "updated");
                c.delete().forPath(root + "/x");
                RzkCompat.equal("NODE_REMOVED " + root + "/x", take(events), "removed");
            }
        }
    }

    @SuppressWarnings("deprecation")
    static void nodeCache(String connect, String root) throws Exception {
        try (CuratorFramework c = client(connect)) {
            BlockingQueue<String> events = new LinkedBlockingQueue<>();
            try (NodeCache cache = new NodeCache(c, root)) {
                cache.getListenable().addListener(() -> {
                    events.add(cache.getCurrentData() == null ? "gone" : new String(cache.getCurrentData().getData(), StandardCharsets.UTF_8));
                });
                cache.start(true);
                c.create().forPath(root, bytes("v1"));
                RzkCompat.equal("v1", take(events), "created");
                c.setData().forPath(root, bytes("v2"));
                RzkCompat.equal("v2", take(events), "changed");
                c.delete().forPath(root);
                RzkCompat.equal("gone", take(events), "deleted");
            }
        }
    }

    static void leaderLatch(String connect, String root) throws Exception {
        try (CuratorFramework a = client(connect); CuratorFramework b = client(connect)) {
            LeaderLatch first = new LeaderLatch(a, root, "first");
            LeaderLatch second = new LeaderLatch(b, root, "second");
            first.start();
            RzkCompat.check(first.await(15, TimeUnit.SECONDS), "the first latch leads");
            second.start();
            RzkCompat.check(!second.await(1, TimeUnit.SECONDS), "only one leader");
            RzkCompat.equal("first", second.getLeader().getId(), "the leader as the other sees it");
            first.close();
            RzkCompat.check(second.await(15, TimeUnit.SECONDS), "the second takes over");
            second.close();
        }
    }

    static void leaderSelector(String connect, String root) throws Exception {
        try (CuratorFramework a = client(connect); CuratorFramework b = client(connect)) {
            BlockingQueue<String> leaders = new LinkedBlockingQueue<>();
            List<LeaderSelector> selectors = new ArrayList<>();
            for (String id : new String[] {"a", "b"}) {
                LeaderSelector s = new LeaderSelector(id.equals("a") ? a : b, root, new LeaderSelectorListenerAdapter() {
                    @Override
                    public void takeLeadership(CuratorFramework client) throws Exception {
                        leaders.add(id);
                        Thread.sleep(300);
                    }
                });
                s.autoRequeue();
                selectors.add(s);
            }
            for (LeaderSelector s : selectors) {
                s.start();
            }
            String one = take(leaders);
            String two = take(leaders);
            RzkCompat.check(!one.equals(two), "leadership passes to the other: " + one + " then " + two);
            for (LeaderSelector s : selectors) {
                s.close();
            }
        }
    }

    static void mutex(String connect, String root) throws Exception {
        int workers = 3;
        int rounds = 5;
        AtomicInteger inside = new AtomicInteger();
        AtomicInteger most = new AtomicInteger();
        ExecutorService pool = Executors.newFixedThreadPool(workers);
        List<CuratorFramework> clients = new ArrayList<>();
        try {
            List<Future<?>> done = new ArrayList<>();
            for (int w = 0; w < workers; w++) {
                CuratorFramework c = client(connect);
                clients.add(c);
                InterProcessMutex lock = new InterProcessMutex(c, root);
                done.add(pool.submit(() -> {
                    for (int i = 0; i < rounds; i++) {
                        RzkCompat.check(lock.acquire(20, TimeUnit.SECONDS), "acquired");
                        try {
                            most.accumulateAndGet(inside.incrementAndGet(), Math::max);
                            Thread.sleep(10);
                            inside.decrementAndGet();
                        } finally {
                            lock.release();
                        }
                    }
                    return null;
                }));
            }
            for (Future<?> f : done) {
                f.get(45, TimeUnit.SECONDS);
            }
            RzkCompat.equal(1, most.get(), "holders at once");
            // Reentrant: the same process acquires twice.
            InterProcessMutex again = new InterProcessMutex(clients.get(0), root);
            RzkCompat.check(again.acquire(5, TimeUnit.SECONDS) && again.acquire(5, TimeUnit.SECONDS), "reentrant");
            again.release();
            again.release();
        } finally {
            pool.shutdownNow();
            for (CuratorFramework c : clients) {
                c.close();
            }
        }
    }

    static void readWriteLock(String connect, String root) throws Exception {
        try (CuratorFramework a = client(connect); CuratorFramework b = client(connect)) {
            InterProcessReadWriteLock la = new InterProcessReadWriteLock(a, root);
            InterProcessReadWriteLock lb = new InterProcessReadWriteLock(b, root);
            RzkCompat.check(la.readLock().acquire(10, TimeUnit.SECONDS), "first reader");
            RzkCompat.check(lb.readLock().acquire(10, TimeUnit.SECONDS), "readers share");
            RzkCompat.check(!lb.writeLock().acquire(500, TimeUnit.MILLISECONDS), "no writer while another reads");
            la.readLock().release();
            lb.readLock().release();
            RzkCompat.check(la.writeLock().acquire(10, TimeUnit.SECONDS), "writer once readers are gone");
            RzkCompat.check(!lb.readLock().acquire(500, TimeUnit.MILLISECONDS), "no reader while another writes");
            la.writeLock().release();
            RzkCompat.check(lb.readLock().acquire(10, TimeUnit.SECONDS), "reader after the writer");
            lb.readLock().release();
        }
    }

    static void semaphore(String connect, String root) throws Exception {
        try (CuratorFramework a = client(connect); CuratorFramework b = client(connect)) {
            InterProcessSemaphoreV2 sa = new InterProcessSemaphoreV2(a, root, 2);
            InterProcessSemaphoreV2 sb = new InterProcessSemaphoreV2(b, root, 2);
            Lease one = sa.acquire(10, TimeUnit.SECONDS);
            Lease two = sb.acquire(10, TimeUnit.SECONDS);
            RzkCompat.check(one != null && two != null, "two leases");
            RzkCompat.check(sb.acquire(500, TimeUnit.MILLISECONDS) == null, "no third lease");
            sa.returnLease(one);
            Lease three = sb.acquire(10, TimeUnit.SECONDS);
            RzkCompat.check(three != null, "a returned lease is taken");
            sb.returnLease(two);
            sb.returnLease(three);
        }
    }

    static void queue(String connect, String root) throws Exception {
        try (CuratorFramework c = client(connect)) {
            BlockingQueue<String> got = new LinkedBlockingQueue<>();
            QueueSerializer<String> serializer = new QueueSerializer<String>() {
                @Override
                public byte[] serialize(String item) {
                    return bytes(item);
                }

                @Override
                public String deserialize(byte[] bytes) {
                    return new String(bytes, StandardCharsets.UTF_8);
                }
            };
            QueueConsumer<String> consumer = new QueueConsumer<String>() {
                @Override
                public void consumeMessage(String message) {
                    got.add(message);
                }

                @Override
                public void stateChanged(CuratorFramework client, ConnectionState state) {}
            };
            try (DistributedQueue<String> q = QueueBuilder.builder(c, consumer, serializer, root).buildQueue()) {
                q.start();
                for (int i = 0; i < 5; i++) {
                    q.put("item-" + i);
                }
                for (int i = 0; i < 5; i++) {
                    RzkCompat.equal("item-" + i, take(got), "queue order");
                }
            }
        }
    }

    static void doubleBarrier(String connect, String root) throws Exception {
        int members = 3;
        ExecutorService pool = Executors.newFixedThreadPool(members);
        List<CuratorFramework> clients = new ArrayList<>();
        try {
            AtomicInteger arrived = new AtomicInteger();
            AtomicInteger entered = new AtomicInteger();
            List<Future<Boolean>> left = new ArrayList<>();
            for (int m = 0; m < members; m++) {
                CuratorFramework c = client(connect);
                clients.add(c);
                DistributedDoubleBarrier barrier = new DistributedDoubleBarrier(c, root, members);
                left.add(pool.submit(() -> {
                    arrived.incrementAndGet();
                    RzkCompat.check(barrier.enter(20, TimeUnit.SECONDS), "entered with the others");
                    RzkCompat.equal(members, arrived.get(), "members arrived when the barrier opened");
                    entered.incrementAndGet();
                    return barrier.leave(20, TimeUnit.SECONDS);
                }));
            }
            for (Future<Boolean> f : left) {
                RzkCompat.check(f.get(45, TimeUnit.SECONDS), "left together");
            }
            RzkCompat.equal(members, entered.get(), "members through the barrier");
        } finally {
            pool.shutdownNow();
            for (CuratorFramework c : clients) {
                c.close();
            }
        }
    }

    static void sharedCount(String connect, String root) throws Exception {
        try (CuratorFramework a = client(connect); CuratorFramework b = client(connect)) {
            BlockingQueue<String> seen = new LinkedBlockingQueue<>();
            try (SharedCount ca = new SharedCount(a, root, 0); SharedCount cb = new SharedCount(b, root, 0)) {
                ca.start();
                cb.start();
                cb.addListener(new SharedCountListener() {
                    @Override
                    public void countHasChanged(SharedCountReader reader, int newCount) {
                        seen.add(String.valueOf(newCount));
                    }

                    @Override
                    public void stateChanged(CuratorFramework client, ConnectionState state) {}
                });
                ca.setCount(7);
                RzkCompat.equal("7", take(seen), "the other sees the new count");
                VersionedValue<Integer> current = cb.getVersionedValue();
                RzkCompat.check(cb.trySetCount(current, 8), "a compare-and-set with the current version");
                RzkCompat.check(!ca.trySetCount(current, 9), "a compare-and-set with a stale version fails");
            }
        }
    }

    static void atomicLong(String connect, String root) throws Exception {
        try (CuratorFramework a = client(connect); CuratorFramework b = client(connect)) {
            DistributedAtomicLong la = new DistributedAtomicLong(a, root, new RetryNTimes(20, 10));
            DistributedAtomicLong lb = new DistributedAtomicLong(b, root, new RetryNTimes(20, 10));
            for (int i = 0; i < 10; i++) {
                AtomicValue<Long> v = (i % 2 == 0 ? la : lb).increment();
                RzkCompat.check(v.succeeded(), "increment " + i);
            }
            RzkCompat.equal(10L, la.get().postValue(), "the count");
            AtomicValue<Long> cas = lb.compareAndSet(10L, 42L);
            RzkCompat.check(cas.succeeded(), "compareAndSet");
            RzkCompat.equal(42L, la.get().postValue(), "after compareAndSet");
        }
    }

    static void persistentNode(String connect, String root) throws Exception {
        try (CuratorFramework c = client(connect); CuratorFramework other = client(connect)) {
            other.create().forPath(root);
            String path = root + "/member";
            try (PersistentNode node = new PersistentNode(c, CreateMode.EPHEMERAL, false, path, bytes("me"))) {
                node.start();
                RzkCompat.check(node.waitForInitialCreate(15, TimeUnit.SECONDS), "created");
                other.delete().forPath(path);
                long deadline = System.currentTimeMillis() + 15_000;
                while (other.checkExists().forPath(path) == null) {
                    RzkCompat.check(System.currentTimeMillis() < deadline, "recreated after a delete within 15 s");
                    Thread.sleep(50);
                }
                RzkCompat.check(other.checkExists().forPath(path).getEphemeralOwner() != 0, "ephemeral");
            }
            RzkCompat.check(other.checkExists().forPath(path) == null, "removed when closed");
        }
    }

    static void persistentTtlNode(String connect, String root) throws Exception {
        try (CuratorFramework c = client(connect); CuratorFramework other = client(connect)) {
            String path = root + "/ttl";
            other.create().forPath(root);
            try (PersistentTtlNode node = new PersistentTtlNode(c, path, 10_000, bytes("alive"))) {
                node.start();
                RzkCompat.check(node.waitForInitialCreate(15, TimeUnit.SECONDS), "created");
                RzkCompat.equal("alive", new String(other.getData().forPath(path), StandardCharsets.UTF_8), "data");
            }
        }
    }

    static void serviceDiscovery(String connect, String root) throws Exception {
        try (CuratorFramework c = client(connect); CuratorFramework other = client(connect)) {
            ServiceInstance<String> instance = ServiceInstance.<String>builder()
                    .name("orders")
                    .address("10.1.2.3")
                    .port(8080)
                    .payload("v1")
                    .build();
            JsonInstanceSerializer<String> serializer = new JsonInstanceSerializer<>(String.class);
            try (ServiceDiscovery<String> registered = ServiceDiscoveryBuilder.builder(String.class)
                            .client(c).basePath(root).serializer(serializer).thisInstance(instance).build();
                    ServiceDiscovery<String> finder = ServiceDiscoveryBuilder.builder(String.class)
                            .client(other).basePath(root).serializer(serializer).build()) {
                registered.start();
                finder.start();
                Collection<ServiceInstance<String>> found = finder.queryForInstances("orders");
                RzkCompat.equal(1, found.size(), "instances");
                ServiceInstance<String> one = found.iterator().next();
                RzkCompat.equal("10.1.2.3:8080 v1", one.getAddress() + ":" + one.getPort() + " " + one.getPayload(), "instance");
                try (ServiceProvider<String> provider = finder.serviceProviderBuilder().serviceName("orders").build()) {
                    provider.start();
                    RzkCompat.equal(instance.getId(), provider.getInstance().getId(), "provider");
                }
                registered.unregisterService(instance);
                RzkCompat.equal(0, finder.queryForInstances("orders").size(), "unregistered");
            }
        }
    }
}
