import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.Watcher;
import org.apache.zookeeper.ZooDefs;
import org.apache.zookeeper.ZooKeeper;
import org.apache.zookeeper.data.ACL;
import org.apache.zookeeper.data.ClientInfo;
import org.apache.zookeeper.data.Id;

/**
 * The Java client authenticated by the server, over TLS (zookeeper.client.secure=true, the Netty socket,
 * zookeeper.ssl.* stores) or by SASL (a JAAS Client section, java.security.auth.login.config), as system
 * properties say: connect, print the identities the server gives this connection (whoAmI), create a node only
 * this identity may read, read it back. Prints "ok" and exits 0, or exits 1 with the error.
 * Usage: java ... AuthClient host:port path scheme   (scheme: x509 or sasl)
 */
public class AuthClient {
    public static void main(String[] args) throws Exception {
        CountDownLatch connected = new CountDownLatch(1);
        ZooKeeper zk = new ZooKeeper(args[0], 10_000, e -> {
            if (e.getState() == Watcher.Event.KeeperState.SyncConnected) {
                connected.countDown();
            }
        });
        try {
            if (!connected.await(20, TimeUnit.SECONDS)) {
                System.out.println("not connected");
                System.exit(1);
            }
            String scheme = args[2];
            String me = null;
            for (ClientInfo info : zk.whoAmI()) {
                System.out.println("id " + info.getAuthScheme() + " " + info.getUser());
                if (info.getAuthScheme().equals(scheme)) {
                    me = info.getUser();
                }
            }
            if (me == null) {
                System.out.println("no " + scheme + " id");
                System.exit(1);
            }
            List<ACL> acl = new java.util.ArrayList<>(List.of(new ACL(ZooDefs.Perms.ALL, new Id(scheme, me))));
            zk.create(args[1], "authenticated".getBytes(), acl, CreateMode.PERSISTENT);
            String back = new String(zk.getData(args[1], false, null));
            if (!back.equals("authenticated")) {
                System.out.println("read back " + back);
                System.exit(1);
            }
            zk.delete(args[1], -1);
            System.out.println("ok");
        } finally {
            zk.close();
        }
    }
}
