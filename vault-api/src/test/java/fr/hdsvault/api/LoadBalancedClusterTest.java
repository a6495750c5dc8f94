package fr.hdsvault.api;

import static org.assertj.core.api.Assertions.assertThat;

import fr.hdsvault.api.LoadBalancedCluster.Balancer;
import fr.hdsvault.api.index.IndexDatabases;
import fr.hdsvault.crypto.pki.DevPki;
import java.io.IOException;
import java.net.http.HttpClient;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.DriverManager;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Matcher;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Three vault processes on the local PostgreSQL and one S3 server (a RADOS Gateway), behind
 * HAProxy running the shipped {@code deploy/haproxy/haproxy.cfg}. They are one vault (one
 * identity, each node's tokens accepted by all, a search paged on another node than the one that
 * ran it, to the same grants only). Four clients ingest through the load
 * balancer while every node is restarted in turn (SIGTERM, drain, start) without one failed
 * request; then one node is killed with SIGKILL under the same load, and only the requests in
 * flight on it fail; then PostgreSQL and the S3 server are each stopped and started under load
 * (503s with an OperationOutcome meanwhile, service back without restarting a node); every
 * acknowledged write is read back through the balancer with its AuditEvent, and the whole trail
 * verifies.
 */
class LoadBalancedClusterTest {

    private static final int CLIENTS = 4;
    /** Between a client's requests: leaves the two cores of a CI machine room to start a node while three serve. */
    private static final long PAUSE_MILLIS = 100;

    @TempDir
    Path dir;

    @Test
    void rollingRestartLosesNoRequestAndAKilledNodeOnlyItsOwnInFlight() throws Exception {
        ExternalStores s3 = ExternalStores.fromEnvironment();
        String why = LoadBalancedCluster.unavailable();
        if (why != null && "true".equals(System.getenv("CI"))) {
            throw new IllegalStateException("CI must run the load-balanced cluster test: " + why);
        }
        Assumptions.assumeTrue(why == null, () -> why + ": load-balanced cluster test skipped");

        long t0 = System.nanoTime();
        try (LoadBalancedCluster cluster = LoadBalancedCluster.start(dir, s3, "vault.backup.cron=" + BACKUP_CRON + "\n")) {
            phase("three nodes started behind the balancer", t0);
            Balancer lb = cluster.lb;
            VaultProcess[] nodes = cluster.nodes;
            List<Path> homes = cluster.homes;
            String practitioner = cluster.token(0, "dr-lb", "practitioner", "user/*.cruds");
            oneVault(nodes, homes);

            // 1. Every node restarted in turn under load: no failed request.
            Load load = new Load(lb, practitioner);
            load.start();
            for (int i = 0; i < LoadBalancedCluster.NODES; i++) {
                String name = "node" + (i + 1);
                long restartedAt = System.nanoTime();
                cluster.restart(i);
                assertThat(load.awaitServedBy(name, restartedAt, Duration.ofSeconds(30)))
                        .as("%s routed to again once ready", name).isTrue();
                phase(name + " restarted", t0);
            }
            Thread.sleep(1_000);
            load.stop();
            phase("rolling restart: " + load.availability(), t0);
            assertThat(load.failures).as("failed requests during the rolling restart").isEmpty();
            assertThat(load.acknowledged.size()).as("writes acknowledged during the rolling restart").isGreaterThan(300);

            // 2. One node killed under load: only its requests in flight fail.
            Load underKill = new Load(lb, practitioner);
            underKill.start();
            Thread.sleep(3_000);
            underKill.killedAt = System.nanoTime();
            nodes[1].kill();
            Thread.sleep(5_000);
            underKill.stop();
            phase("node killed: " + underKill.availability(), t0);
            assertThat(underKill.failures).as("failures beyond the requests in flight on the killed node")
                    .hasSizeLessThanOrEqualTo(CLIENTS);
            assertThat(underKill.acknowledgedAfterKill()).as("the others go on acknowledging").isGreaterThan(10);

            phase("node2 killed under load", t0);

            // 3. PostgreSQL, then the S3 server, stopped and started under load: 503s with an OperationOutcome
            // (from the nodes, then from HAProxy once no node is ready), then service again without restarting a node.
            Load outages = new Load(lb, practitioner);
            outages.outagesExpected = true;
            outages.start();
            outages.awaitAcknowledged(20, Duration.ofSeconds(60));
            String pgCluster = IndexDatabases.localCluster();
            if (pgCluster != null) {
                IndexDatabases.pgctl(pgCluster, "stop");
                try {
                    Thread.sleep(5_000);
                } finally {
                    IndexDatabases.pgctl(pgCluster, "start");
                }
                outages.awaitAcknowledged(outages.acknowledged.size() + 20, Duration.ofSeconds(90));
                phase("PostgreSQL restarted under load", t0);
            }
            if (s3.canRestart()) {
                s3.stopFr();
                try {
                    Thread.sleep(5_000);
                } finally {
                    s3.startFr();
                }
                outages.awaitAcknowledged(outages.acknowledged.size() + 20, Duration.ofSeconds(90));
                phase("S3 server restarted under load", t0);
            }
            outages.stop();
            assertThat(outages.failures).as("answers other than 201, or 503 with an OperationOutcome").isEmpty();
            if (pgCluster != null || s3.canRestart()) {
                assertThat(outages.unavailable.get()).as("503s during the outages").isPositive();
            } else if ("true".equals(System.getenv("CI"))) {
                throw new IllegalStateException("CI must restart PostgreSQL and the S3 server under load");
            }

            Set<String> acknowledged = new java.util.HashSet<>(load.acknowledged);
            acknowledged.addAll(underKill.acknowledged);
            acknowledged.addAll(outages.acknowledged);
            String reader = TestTokens.ofVault(homes.get(2)).sign("dr-lb", "practitioner", "user/*.cruds", null);
            ConcurrentLinkedQueue<String> unreadable = new ConcurrentLinkedQueue<>();
            java.util.concurrent.ExecutorService readers = java.util.concurrent.Executors.newFixedThreadPool(8);
            for (String id : acknowledged) {
                readers.execute(() -> {
                    try {
                        HttpResponse<String> r = lb.send("GET", "/fhir/Patient/" + id, reader, null);
                        if (r.statusCode() != 200) {
                            unreadable.add(id + ": " + r.statusCode() + " " + r.body());
                        }
                    } catch (Exception e) {
                        unreadable.add(id + ": " + e);
                    }
                });
            }
            readers.shutdown();
            assertThat(readers.awaitTermination(5, TimeUnit.MINUTES)).isTrue();
            assertThat(unreadable).as("acknowledged writes not read back (of %d)", acknowledged.size()).isEmpty();
            phase(acknowledged.size() + " acknowledged writes read back", t0);
            String auditor = TestTokens.ofVault(homes.get(2)).sign("aud-lb", "auditor", null, null);
            Set<String> audited = DurableAcknowledgementTest.auditedCreates((path, token) -> lb.send("GET", path, token, null), auditor);
            assertThat(audited).as("an AuditEvent for every acknowledged create")
                    .containsAll(acknowledged.stream().map(id -> "Patient/" + id).toList());
            // A node publishes each checkpoint to the bucket just after signing it in the database: a verify that falls
            // between the two (the auditor's own requests add events) is asked again; a trail that stays wrong fails.
            HttpResponse<String> verify = lb.send("GET", "/admin/audit/verify", auditor, null);
            for (int i = 0; i < 20 && verify.body().contains("is in the database but not in the audit bucket"); i++) {
                Thread.sleep(700);
                verify = lb.send("GET", "/admin/audit/verify", auditor, null);
            }
            assertThat(verify.body()).as(verify.body()).contains("\"ok\":true").contains("the same in the audit bucket");
            phase("audit trail checked", t0);

            // The balancer's access log: method, area and type, never an id or a query.
            assertThat(lb.send("GET", "/fhir/Patient?identifier=INS-LOGCHECK-4242", reader, null).statusCode()).isEqualTo(200);
            Thread.sleep(500);
            String accessLog = cluster.accessLog();
            assertThat(accessLog).contains("POST /fhir/Patient").contains("GET /fhir/Patient").doesNotContain("LOGCHECK")
                    .doesNotContain("identifier");
            acknowledged.stream().limit(50).forEach(id -> assertThat(accessLog).doesNotContain(id));

            oneBackupPerSlot(lb, cluster.token(0, "ops-lb", "operator", null), cluster.schema);
            phase("scheduled backups checked", t0);
        }
    }

    /**
     * The nodes are one vault: one identity (each directory adopted the first node's), each node
     * accepts every node's tokens, and a search one node ran pages on another, for the same
     * grants only.
     */
    private static void oneVault(VaultProcess[] nodes, List<Path> homes) throws Exception {
        for (Path home : homes) {
            assertThat(Files.readString(home.resolve("vault-id"))).isEqualTo(Files.readString(homes.get(0).resolve("vault-id")));
        }
        for (VaultProcess node : nodes) {
            for (Path issuer : homes) {
                HttpResponse<String> r = node.send("POST", "/fhir/Patient",
                        TestTokens.ofVault(issuer).sign("dr-paging", "practitioner", "user/*.cruds", null), "{\"resourceType\":\"Patient\"}");
                assertThat(r.statusCode()).as("a token of %s on %s: %s", issuer, node.home, r.body()).isEqualTo(201);
            }
        }
        HttpResponse<String> page1 = nodes[0].send("GET", "/fhir/Patient?_count=3",
                TestTokens.ofVault(homes.get(0)).sign("dr-paging", "practitioner", "user/*.cruds", null), null);
        Matcher next = java.util.regex.Pattern.compile("\"relation\":\"next\",\"url\":\"https://[^/]+(/[^\"]+)\"").matcher(page1.body());
        assertThat(next.find()).as(page1.body()).isTrue();
        String nextPage = next.group(1).replace("\\u0026", "&");
        HttpResponse<String> page2 = nodes[2].send("GET", nextPage,
                TestTokens.ofVault(homes.get(1)).sign("dr-paging", "practitioner", "user/*.cruds", null), null);
        assertThat(page2.statusCode()).as("the next page, on another node: %s", page2.body()).isEqualTo(200);
        assertThat(page2.body()).contains("\"resourceType\":\"Patient\"");
        String stranger = TestTokens.ofVault(homes.get(1)).sign("dr-other", "practitioner", "user/*.cruds", null);
        assertThat(nodes[1].send("GET", nextPage, stranger, null).statusCode()).as("another user's replay").isEqualTo(410);
    }

    /**
     * Every node fired the backup schedule all along (restarts, kill, outages included): each slot
     * was run by one node only, and the slots went on being run.
     */
    private static void oneBackupPerSlot(Balancer lb, String operator, String schema) throws Exception {
        HttpResponse<String> list = lb.send("GET", "/admin/backups", operator, null);
        assertThat(list.statusCode()).as(list.body()).isEqualTo(200);
        Map<Long, List<String>> setsBySlot = new java.util.TreeMap<>();
        int complete = 0;
        for (tools.jackson.databind.JsonNode set : tools.jackson.databind.json.JsonMapper.builder().build().readTree(list.body())) {
            // The set id starts with the run's start time: a set whose run failed before its manifest has no startedAt.
            String id = set.get("id").asString();
            long slot = SET_ID_TIME.parse(id.substring(0, id.indexOf('-')), java.time.Instant::from).getEpochSecond()
                    / BACKUP_EVERY_SECONDS;
            setsBySlot.computeIfAbsent(slot, k -> new ArrayList<>()).add(set.get("id").asString());
            complete += "complete".equals(set.get("status").asString()) ? 1 : 0;
        }
        assertThat(setsBySlot.values()).as("sets of one slot").allSatisfy(sets -> assertThat(sets).hasSize(1));
        assertThat(complete).as("complete scheduled backups (one slot every %d s): %s", BACKUP_EVERY_SECONDS, setsBySlot)
                .isGreaterThanOrEqualTo(3);
        try (Connection c = DriverManager.getConnection(IndexDatabases.POSTGRES_URL + "?currentSchema=" + schema,
                IndexDatabases.POSTGRES_USER, "");
             var rs = c.createStatement().executeQuery("select count(*), count(distinct node) from schedule_slot where job = 'backup'")) {
            rs.next();
            assertThat(rs.getInt(1)).as("slots claimed").isGreaterThanOrEqualTo(setsBySlot.size());
            System.out.printf("LoadBalancedClusterTest: %d backup slots claimed by %d nodes, %d sets, %d complete%n",
                    rs.getInt(1), rs.getInt(2), setsBySlot.size(), complete);
        }
    }

    /** The balancer logs a type only when it is one of these: they must be R4's, all of them. */
    @Test
    void theBalancersListOfTypesIsR4s() throws Exception {
        List<String> listed = Files.readAllLines(LoadBalancedCluster.HAPROXY_FILES.resolve("fhir-r4-types.lst"));
        assertThat(listed).containsExactlyInAnyOrderElementsOf(ca.uhn.fhir.context.FhirContext.forR4Cached().getResourceTypes());
    }

    private static final int BACKUP_EVERY_SECONDS = 20;
    private static final String BACKUP_CRON = "*/" + BACKUP_EVERY_SECONDS + " * * * * *";
    private static final java.time.format.DateTimeFormatter SET_ID_TIME =
            java.time.format.DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'").withZone(java.time.ZoneOffset.UTC);

    private static void phase(String what, long t0) {
        System.out.printf("LoadBalancedClusterTest: %s at %.1f s%n", what, (System.nanoTime() - t0) / 1e9);
    }

    /** Clients creating Patients through the balancer until stopped: what was acknowledged, which node answered, what failed. */
    private static final class Load {
        final Balancer lb;
        final String token;
        final Set<String> acknowledged = ConcurrentHashMap.newKeySet();
        final ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();
        /** The last time (System.nanoTime) each node acknowledged a write. */
        private final Map<String, Long> lastServed = new ConcurrentHashMap<>();
        private final AtomicBoolean stop = new AtomicBoolean();
        private final List<Thread> threads = new ArrayList<>();
        private final Map<String, Long> acknowledgedAt = new ConcurrentHashMap<>();
        volatile long killedAt = Long.MAX_VALUE;
        /** During outages a 503 with an OperationOutcome is the right answer, counted here rather than as a failure. */
        volatile boolean outagesExpected;
        final java.util.concurrent.atomic.AtomicInteger unavailable = new java.util.concurrent.atomic.AtomicInteger();

        Load(Balancer lb, String token) {
            this.lb = lb;
            this.token = token;
        }

        void start() {
            for (int c = 0; c < CLIENTS; c++) {
                Thread t = new Thread(() -> {
                    while (!stop.get()) {
                        try {
                            HttpResponse<String> r = lb.send("POST", "/fhir/Patient", token, "{\"resourceType\":\"Patient\"}");
                            String node = r.headers().firstValue("X-Vault-Node").orElse("?");
                            Matcher m = DurableAcknowledgementTest.LOCATION.matcher(r.headers().firstValue("Location").orElse(""));
                            if (r.statusCode() == 201 && m.find()) {
                                long now = System.nanoTime();
                                acknowledged.add(m.group(1));
                                acknowledgedAt.put(m.group(1), now);
                                lastServed.put(node, now);
                            } else if (outagesExpected && r.statusCode() == 503 && r.body().contains("\"resourceType\":\"OperationOutcome\"")) {
                                unavailable.incrementAndGet();
                            } else {
                                failures.add(node + ": " + r.statusCode() + " " + r.body());
                            }
                        } catch (Exception e) {
                            failures.add(e.toString());
                        }
                        try {
                            Thread.sleep(PAUSE_MILLIS);
                        } catch (InterruptedException e) {
                            return;
                        }
                    }
                });
                t.start();
                threads.add(t);
            }
        }

        boolean awaitServedBy(String node, long since, Duration patience) throws InterruptedException {
            long end = System.nanoTime() + patience.toNanos();
            while (System.nanoTime() < end) {
                if (lastServed.getOrDefault(node, Long.MIN_VALUE) > since) {
                    return true;
                }
                Thread.sleep(100);
            }
            return false;
        }

        void awaitAcknowledged(int count, Duration patience) throws InterruptedException {
            long end = System.nanoTime() + patience.toNanos();
            while (acknowledged.size() < count) {
                assertThat(System.nanoTime()).as("%d writes acknowledged, waiting for %d", acknowledged.size(), count).isLessThan(end);
                Thread.sleep(100);
            }
        }

        /** The clients' view: the share of requests that succeeded. */
        String availability() {
            int ok = acknowledged.size();
            int failed = failures.size();
            return String.format(java.util.Locale.ROOT, "%d of %d requests succeeded (%.2f %%)", ok, ok + failed,
                    100.0 * ok / Math.max(1, ok + failed));
        }

        long acknowledgedAfterKill() {
            return acknowledgedAt.values().stream().filter(t -> t > killedAt).count();
        }

        void stop() throws InterruptedException {
            stop.set(true);
            for (Thread t : threads) {
                t.join();
            }
        }
    }
}
