package fr.hdsvault.api;

import static org.assertj.core.api.Assertions.assertThat;

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
    private static final Path HAPROXY_FILES = Path.of("..", "deploy", "haproxy").toAbsolutePath().normalize();

    @TempDir
    Path dir;

    @Test
    void rollingRestartLosesNoRequestAndAKilledNodeOnlyItsOwnInFlight() throws Exception {
        ExternalStores s3 = ExternalStores.fromEnvironment();
        String why = IndexDatabases.postgresUnavailable();
        if (why == null && !haproxyInstalled()) {
            why = "haproxy is not installed";
        }
        if (why != null && "true".equals(System.getenv("CI"))) {
            throw new IllegalStateException("CI must run the load-balanced cluster test: " + why);
        }
        String skipped = why;
        Assumptions.assumeTrue(skipped == null, () -> skipped + ": load-balanced cluster test skipped");

        // One certificate for the balancer and the nodes (name localhost), from a CA the clients trust.
        Path pki = dir.resolve("pki");
        new DevPki(Clock.systemUTC()).ensure(pki, "unused".toCharArray(), List.of("localhost"), List.of("127.0.0.1"));
        Path ca = pki.resolve(DevPki.CA_CERT);
        Path key = pki.resolve(DevPki.SERVER_KEY);
        Files.setPosixFilePermissions(key, PosixFilePermissions.fromString("rw-------"));
        Path lbPem = pki.resolve("lb.pem");
        Files.writeString(lbPem, Files.readString(pki.resolve(DevPki.SERVER_CERT)) + Files.readString(key));

        String schema = "lb_" + UUID.randomUUID().toString().replace("-", "");
        try (Connection admin = DriverManager.getConnection(IndexDatabases.POSTGRES_URL, IndexDatabases.POSTGRES_USER, "")) {
            admin.createStatement().execute("create schema " + schema);
        }
        int lbPort = VaultProcess.freePort();
        String prefix = ExternalStores.freshBucket("lb");
        Path credentials = ExternalStores.credentialsFile(dir, "fr", s3.frAccessKey(), s3.frSecretKey());
        String config = "vault.stores.primary.endpoint=" + s3.frEndpoint() + "\nvault.stores.primary.credentials-file=" + credentials
                + "\nvault.stores.primary.bucket=" + prefix + "-objects\nvault.stores.audit.bucket=" + prefix + "-audit\n"
                + "vault.audit.checkpoint-every=200\nvault.backup.cron=-\nvault.drill.cron=-\n"
                + "vault.shutdown.drain-delay=4s\nvault.http.trusted-proxies=127.0.0.1\n"
                + "vault.http.public-base-url=https://localhost:" + lbPort + "\n";
        String[] serve = {"--index-url", IndexDatabases.POSTGRES_URL + "?currentSchema=" + schema,
                "--tls-certificate", pki.resolve(DevPki.SERVER_CERT).toString(), "--tls-private-key", key.toString()};
        Map<String, String> env = Map.of("VAULT_INDEX_USER", IndexDatabases.POSTGRES_USER);

        List<Path> homes = new ArrayList<>();
        int[] ports = new int[3];
        for (int i = 0; i < 3; i++) {
            Path home = dir.resolve("node" + (i + 1));
            Files.createDirectories(home);
            Files.writeString(home.resolve("vault.properties"), config);
            homes.add(home);
            ports[i] = VaultProcess.freePort();
        }
        VaultProcess[] nodes = new VaultProcess[3];
        Process haproxy = null;
        long t0 = System.nanoTime();
        try {
            nodes[0] = VaultProcess.startOn(homes.get(0), ports[0], ca, VaultMain.class, List.of(), env, serve);
            for (int i = 1; i < 3; i++) { // the same root key (an HSM would be shared)
                Files.createDirectories(homes.get(i).resolve("keys"));
                for (String file : List.of("root.p12", "root.passphrase")) {
                    Files.copy(homes.get(0).resolve("keys").resolve(file), homes.get(i).resolve("keys").resolve(file));
                }
            }
            CompletableFuture<VaultProcess> second = startAsync(homes.get(1), ports[1], ca, env, serve);
            nodes[2] = VaultProcess.startOn(homes.get(2), ports[2], ca, VaultMain.class, List.of(), env, serve);
            nodes[1] = second.get(180, TimeUnit.SECONDS);

            phase("three nodes started", t0);
            haproxy = startHaproxy(lbPort, lbPem, ca, ports);
            Balancer lb = new Balancer("https://localhost:" + lbPort, VaultHttps.trusting(ca));
            String practitioner = TestTokens.ofVault(homes.get(0)).sign("dr-lb", "practitioner", "user/*.cruds", null);
            assertThat(lb.awaitNodes(Set.of("node1", "node2", "node3"), practitioner, Duration.ofSeconds(30)))
                    .as("every node serves through the balancer").isTrue();
            oneVault(nodes, homes);

            // 1. Every node restarted in turn under load: no failed request.
            Load load = new Load(lb, practitioner);
            load.start();
            for (int i = 0; i < 3; i++) {
                String name = "node" + (i + 1);
                nodes[i].terminate();
                assertThat(nodes[i].awaitExit(Duration.ofSeconds(60))).as("%s stopped on SIGTERM", name).isTrue();
                long restartedAt = System.nanoTime();
                nodes[i] = VaultProcess.startOn(homes.get(i), ports[i], ca, VaultMain.class, List.of(), env, serve);
                assertThat(load.awaitServedBy(name, restartedAt, Duration.ofSeconds(30)))
                        .as("%s routed to again once ready", name).isTrue();
                phase(name + " restarted", t0);
            }
            Thread.sleep(1_000);
            load.stop();
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
            String cluster = IndexDatabases.localCluster();
            if (cluster != null) {
                IndexDatabases.pgctl(cluster, "stop");
                try {
                    Thread.sleep(5_000);
                } finally {
                    IndexDatabases.pgctl(cluster, "start");
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
            if (cluster != null || s3.canRestart()) {
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
            HttpResponse<String> verify = lb.send("GET", "/admin/audit/verify", auditor, null);
            assertThat(verify.body()).as(verify.body()).contains("\"ok\":true").contains("the same in the audit bucket");
            phase("audit trail checked", t0);

            // The balancer's access log: method, area and type, never an id or a query.
            assertThat(lb.send("GET", "/fhir/Patient?identifier=INS-LOGCHECK-4242", reader, null).statusCode()).isEqualTo(200);
            Thread.sleep(500);
            String accessLog = Files.readString(dir.resolve("haproxy.log"));
            assertThat(accessLog).contains("POST /fhir/Patient").contains("GET /fhir/Patient").doesNotContain("LOGCHECK")
                    .doesNotContain("identifier");
            acknowledged.stream().limit(50).forEach(id -> assertThat(accessLog).doesNotContain(id));
        } finally {
            if (haproxy != null) {
                haproxy.destroy();
                haproxy.waitFor(10, TimeUnit.SECONDS);
            }
            for (VaultProcess node : nodes) {
                if (node != null) {
                    node.close();
                }
            }
            try (Connection admin = DriverManager.getConnection(IndexDatabases.POSTGRES_URL, IndexDatabases.POSTGRES_USER, "")) {
                admin.createStatement().execute("drop schema if exists " + schema + " cascade");
            }
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

    /** The balancer logs a type only when it is one of these: they must be R4's, all of them. */
    @Test
    void theBalancersListOfTypesIsR4s() throws Exception {
        List<String> listed = Files.readAllLines(HAPROXY_FILES.resolve("fhir-r4-types.lst"));
        assertThat(listed).containsExactlyInAnyOrderElementsOf(ca.uhn.fhir.context.FhirContext.forR4Cached().getResourceTypes());
    }

    private static void phase(String what, long t0) {
        System.out.printf("LoadBalancedClusterTest: %s at %.1f s%n", what, (System.nanoTime() - t0) / 1e9);
    }

    private static CompletableFuture<VaultProcess> startAsync(Path home, int port, Path ca, Map<String, String> env, String[] serve) {
        CompletableFuture<VaultProcess> started = new CompletableFuture<>();
        Thread t = new Thread(() -> {
            try {
                started.complete(VaultProcess.startOn(home, port, ca, VaultMain.class, List.of(), env, serve));
            } catch (Throwable e) {
                started.completeExceptionally(e);
            }
        });
        t.start();
        return started;
    }

    private static boolean haproxyInstalled() {
        try {
            Process p = new ProcessBuilder("haproxy", "-v").redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            return p.waitFor(10, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (IOException | InterruptedException e) {
            return false;
        }
    }

    /** HAProxy in the foreground on the shipped configuration, its settings in the environment as the runbook says. */
    private Process startHaproxy(int lbPort, Path lbPem, Path ca, int[] ports) throws Exception {
        Path config = HAPROXY_FILES.resolve("haproxy.cfg");
        assertThat(config).exists();
        ProcessBuilder builder = new ProcessBuilder("haproxy", "-db", "-f", config.toString()).redirectErrorStream(true)
                .redirectOutput(dir.resolve("haproxy.log").toFile());
        Map<String, String> env = builder.environment();
        env.put("VAULT_LB_BIND", "127.0.0.1:" + lbPort);
        env.put("VAULT_LB_CERT", lbPem.toString());
        env.put("VAULT_NODES_CA", ca.toString());
        env.put("VAULT_NODES_NAME", "localhost");
        env.put("VAULT_LB_ADMIN", dir.resolve("haproxy.sock").toString());
        env.put("VAULT_LB_FILES", HAPROXY_FILES.toString());
        for (int i = 0; i < 3; i++) {
            env.put("VAULT_NODE" + (i + 1), "127.0.0.1:" + ports[i]);
        }
        return builder.start();
    }

    /** The clients' side of the load balancer. */
    private static final class Balancer {
        final String base;
        final HttpClient client;

        Balancer(String base, javax.net.ssl.SSLContext tls) {
            this.base = base;
            this.client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).sslContext(tls).build();
        }

        HttpResponse<String> send(String method, String path, String token, String body) throws Exception {
            return client.send(VaultHttps.request(base + path, method, token, body), HttpResponse.BodyHandlers.ofString());
        }

        /** True once each named node has answered a request through the balancer. */
        boolean awaitNodes(Set<String> names, String token, Duration patience) throws Exception {
            Set<String> seen = new java.util.HashSet<>();
            long end = System.nanoTime() + patience.toNanos();
            while (System.nanoTime() < end && !seen.containsAll(names)) {
                try {
                    HttpResponse<String> r = send("GET", "/fhir/Patient?_count=1", token, null);
                    if (r.statusCode() == 200) {
                        r.headers().firstValue("X-Vault-Node").ifPresent(seen::add);
                    }
                } catch (IOException notYet) {
                    // the balancer is not listening yet
                }
                Thread.sleep(100);
            }
            return seen.containsAll(names);
        }
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
