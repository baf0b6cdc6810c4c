import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Runs the Java client and Curator checks against one server (a connect string), each in a fresh root path,
 * each bounded in time. Prints one line per check, "PASS name (ms)" or "FAIL name: reason", and exits 1 if
 * any failed. Usage: RzkCompat connectString [checkName...] (no names: all).
 *
 * Built with javac against Debian's jars (/usr/share/java: zookeeper 3.8, Curator 5.4): no Maven, no JUnit.
 */
public final class RzkCompat {
    /** One check: gets the connect string and a root path of its own (not yet created). */
    interface Check {
        void run(String connect, String root) throws Exception;
    }

    static final long CHECK_TIMEOUT_S = 60;

    public static void main(String[] args) throws Exception {
        if (args.length < 1) {
            System.err.println("usage: RzkCompat connectString [check...]");
            System.exit(2);
        }
        String connect = args[0];
        Map<String, Check> checks = new LinkedHashMap<>();
        RawApiChecks.register(checks);
        CuratorChecks.register(checks);
        List<String> names = new ArrayList<>();
        for (int i = 1; i < args.length; i++) {
            names.add(args[i]);
        }
        if (names.isEmpty()) {
            names.addAll(checks.keySet());
        }
        String run = UUID.randomUUID().toString().substring(0, 8);
        ExecutorService pool = Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r);
            t.setDaemon(true);
            return t;
        });
        int failed = 0;
        for (String name : names) {
            Check check = checks.get(name);
            if (check == null) {
                System.out.println("FAIL " + name + ": no such check");
                failed++;
                continue;
            }
            String root = "/java-" + run + "-" + name;
            long start = System.nanoTime();
            Future<?> f = pool.submit(() -> {
                check.run(connect, root);
                return null;
            });
            try {
                f.get(CHECK_TIMEOUT_S, TimeUnit.SECONDS);
                long ms = (System.nanoTime() - start) / 1_000_000;
                System.out.println("PASS " + name + " (" + ms + " ms)");
            } catch (TimeoutException e) {
                f.cancel(true);
                System.out.println("FAIL " + name + ": no result within " + CHECK_TIMEOUT_S + " s");
                failed++;
            } catch (java.util.concurrent.ExecutionException e) {
                Throwable cause = e.getCause();
                System.out.println("FAIL " + name + ": " + cause);
                cause.printStackTrace(System.out);
                failed++;
            }
            System.out.flush();
        }
        System.exit(failed == 0 ? 0 : 1);
    }

    /** Fails the check with `what` unless `ok`. */
    static void check(boolean ok, String what) {
        if (!ok) {
            throw new AssertionError(what);
        }
    }

    static void equal(Object want, Object got, String what) {
        if (want == null ? got != null : !want.equals(got)) {
            throw new AssertionError(what + ": want " + want + ", got " + got);
        }
    }
}
