package fr.hdsvault.api;

import fr.hdsvault.api.LoadBalancedCluster.Balancer;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Matcher;

/**
 * Load benchmark of a cluster (not a test; run by hand, see docs/performance.md, "One node and
 * three behind HAProxy"): the three-node cluster of the cluster test, then the same clients
 * through the balancer with one node in its rotation (the two others taken out on HAProxy's
 * admin socket, still running), then with all three, in one run. Creates Patients (4 clients)
 * and reads them by id (8 clients); prints requests/s and p50/p99 latency of each.
 *
 * <p>Needs the local PostgreSQL, HAProxy and the RADOS Gateway of {@code .ci/rgw-start} (its
 * {@code env} in the environment). Run from {@code vault-api/}:
 * {@code java -cp "$CP" fr.hdsvault.api.ClusterLoadBenchmark [seconds-per-phase]}.
 */
public final class ClusterLoadBenchmark {

    private static final int WRITERS = 4;
    private static final int READERS = 8;

    record Result(int clients, double perSecond, double p50Millis, double p99Millis, int errors) {
        @Override
        public String toString() {
            return String.format(Locale.ROOT, "%.0f req/s, p50 %.1f ms, p99 %.1f ms%s", perSecond, p50Millis, p99Millis,
                    errors == 0 ? "" : ", " + errors + " errors");
        }
    }

    public static void main(String[] args) throws Exception {
        double seconds = args.length > 0 ? Double.parseDouble(args[0]) : 20;
        String why = LoadBalancedCluster.unavailable();
        if (why != null) {
            throw new IllegalStateException("the cluster benchmark cannot run: " + why);
        }
        Path dir = Files.createTempDirectory("hds-cluster-bench");
        try (LoadBalancedCluster cluster = LoadBalancedCluster.start(dir, ExternalStores.fromEnvironment(), "")) {
            String token = cluster.token(0, "dr-bench", "practitioner", "user/*.cruds");
            Balancer lb = cluster.lb;
            System.out.printf("# cluster load benchmark: %d cores, %.0f s per phase, %d writers, %d readers%n",
                    Runtime.getRuntime().availableProcessors(), seconds, WRITERS, READERS);
            ConcurrentLinkedQueue<String> ids = new ConcurrentLinkedQueue<>();
            // Warm-up through all three, so that each node's JVM has compiled its hot code.
            writes(lb, token, WRITERS, seconds, ids);
            reads(lb, token, READERS, seconds, List.copyOf(ids));
            System.out.println("warm-up done: " + ids.size() + " patients");

            for (int i = 1; i < LoadBalancedCluster.NODES; i++) {
                cluster.rotation("node" + (i + 1), false);
            }
            Set<String> served = new HashSet<>();
            Result write1 = writes(lb, token, WRITERS, seconds, ids, served);
            Result read1 = reads(lb, token, READERS, seconds, List.copyOf(ids), served);
            System.out.println("one node in rotation (served by " + served + "): writes " + write1 + "; reads " + read1);
            if (!served.equals(Set.of("node1"))) {
                throw new IllegalStateException("one node was meant to serve, " + served + " did");
            }

            for (int i = 1; i < LoadBalancedCluster.NODES; i++) {
                cluster.rotation("node" + (i + 1), true);
            }
            served.clear();
            Result write3 = writes(lb, token, WRITERS, seconds, ids, served);
            Result read3 = reads(lb, token, READERS, seconds, List.copyOf(ids), served);
            System.out.println("three nodes in rotation (served by " + served + "): writes " + write3 + "; reads " + read3);

            System.out.println("| figure | one node | three nodes | three/one |");
            System.out.println("|---|---|---|---|");
            row("create Patient, " + WRITERS + " clients", write1, write3);
            row("read by id, " + READERS + " clients", read1, read3);
        }
    }

    private static void row(String figure, Result one, Result three) {
        System.out.printf(Locale.ROOT, "| %s: req/s | %.0f | %.0f | %.2f |%n", figure, one.perSecond, three.perSecond,
                three.perSecond / one.perSecond);
        System.out.printf(Locale.ROOT, "| %s: p50 / p99 ms | %.1f / %.1f | %.1f / %.1f | |%n", figure, one.p50Millis,
                one.p99Millis, three.p50Millis, three.p99Millis);
    }

    private static Result writes(Balancer lb, String token, int clients, double seconds, ConcurrentLinkedQueue<String> ids)
            throws Exception {
        return writes(lb, token, clients, seconds, ids, ConcurrentHashMap.newKeySet());
    }

    private static Result writes(Balancer lb, String token, int clients, double seconds, ConcurrentLinkedQueue<String> ids,
                                 Set<String> served) throws Exception {
        return measure(clients, seconds, served, n -> {
            HttpResponse<String> r = lb.send("POST", "/fhir/Patient", token,
                    "{\"resourceType\":\"Patient\",\"name\":[{\"family\":\"Bench\",\"given\":[\"C" + n + "\"]}],\"gender\":\"female\"}");
            Matcher m = DurableAcknowledgementTest.LOCATION.matcher(r.headers().firstValue("Location").orElse(""));
            if (r.statusCode() == 201 && m.find()) {
                ids.add(m.group(1));
            }
            return r;
        }, 201);
    }

    private static Result reads(Balancer lb, String token, int clients, double seconds, List<String> ids) throws Exception {
        return reads(lb, token, clients, seconds, ids, ConcurrentHashMap.newKeySet());
    }

    private static Result reads(Balancer lb, String token, int clients, double seconds, List<String> ids, Set<String> served)
            throws Exception {
        return measure(clients, seconds, served, n -> lb.send("GET", "/fhir/Patient/" + ids.get((int) (n % ids.size())), token, null),
                200);
    }

    interface Call {
        HttpResponse<String> send(long n) throws Exception;
    }

    /** {@code clients} threads calling for {@code seconds}; each call's latency kept, each answering node noted. */
    private static Result measure(int clients, double seconds, Set<String> served, Call call, int expected) throws Exception {
        AtomicBoolean stop = new AtomicBoolean();
        List<long[]> latencies = new ArrayList<>();
        int[] counts = new int[clients];
        int[] errors = new int[clients];
        Set<String> nodes = ConcurrentHashMap.newKeySet();
        List<Thread> threads = new ArrayList<>();
        for (int c = 0; c < clients; c++) {
            long[] mine = new long[1 << 20];
            latencies.add(mine);
            int client = c;
            Thread t = new Thread(() -> {
                long n = client * 1_000_000L;
                while (!stop.get() && counts[client] < mine.length) {
                    long t0 = System.nanoTime();
                    try {
                        HttpResponse<String> r = call.send(n++);
                        if (r.statusCode() == expected) {
                            mine[counts[client]++] = System.nanoTime() - t0;
                            r.headers().firstValue("X-Vault-Node").ifPresent(nodes::add);
                        } else {
                            errors[client]++;
                        }
                    } catch (Exception e) {
                        errors[client]++;
                    }
                }
            });
            threads.add(t);
        }
        long start = System.nanoTime();
        threads.forEach(Thread::start);
        Thread.sleep((long) (seconds * 1000));
        stop.set(true);
        for (Thread t : threads) {
            t.join();
        }
        double elapsed = (System.nanoTime() - start) / 1e9;
        int total = Arrays.stream(counts).sum();
        long[] all = new long[total];
        int at = 0;
        for (int c = 0; c < clients; c++) {
            System.arraycopy(latencies.get(c), 0, all, at, counts[c]);
            at += counts[c];
        }
        Arrays.sort(all);
        served.addAll(nodes);
        return new Result(clients, total / elapsed, percentile(all, 0.50), percentile(all, 0.99), Arrays.stream(errors).sum());
    }

    private static double percentile(long[] sorted, double p) {
        return sorted.length == 0 ? Double.NaN : sorted[Math.min(sorted.length - 1, (int) (sorted.length * p))] / 1e6;
    }

    private ClusterLoadBenchmark() {
    }
}
