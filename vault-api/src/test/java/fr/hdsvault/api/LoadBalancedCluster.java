package fr.hdsvault.api;

import static org.assertj.core.api.Assertions.assertThat;

import fr.hdsvault.api.index.IndexDatabases;
import fr.hdsvault.crypto.pki.DevPki;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.net.http.HttpClient;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
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
import java.util.concurrent.TimeUnit;

/**
 * Three vault processes on one schema of the local PostgreSQL and one S3 server (a RADOS
 * Gateway), behind HAProxy running the shipped {@code deploy/haproxy/haproxy.cfg} with its
 * settings in the environment, as docs/deploy.md says. One certificate (name localhost) for the
 * balancer and the nodes, from a CA the clients trust; the nodes share the root key, as they
 * would share an HSM. Used by the cluster test and the cluster load benchmark.
 */
final class LoadBalancedCluster implements AutoCloseable {

    static final int NODES = 3;
    static final Path HAPROXY_FILES = Path.of("..", "deploy", "haproxy").toAbsolutePath().normalize();

    final Path dir;
    final List<Path> homes = new ArrayList<>();
    final int[] ports = new int[NODES];
    final VaultProcess[] nodes = new VaultProcess[NODES];
    final String schema = "lb_" + UUID.randomUUID().toString().replace("-", "");
    final Path ca;
    final Balancer lb;
    private final String[] serve;
    private final Map<String, String> env = Map.of("VAULT_INDEX_USER", IndexDatabases.POSTGRES_USER);
    private final Process haproxy;

    /** Why a cluster cannot run here (PostgreSQL does not answer, HAProxy is missing), or null. */
    static String unavailable() {
        String why = IndexDatabases.postgresUnavailable();
        return why == null && !haproxyInstalled() ? "haproxy is not installed" : why;
    }

    /**
     * Starts the nodes (the first alone, so that the others adopt its identity) and the balancer,
     * and waits until every node answers through it.
     *
     * @param extraConfig lines added to every node's vault.properties
     */
    static LoadBalancedCluster start(Path dir, ExternalStores s3, String extraConfig) throws Exception {
        return new LoadBalancedCluster(dir, s3, extraConfig);
    }

    private LoadBalancedCluster(Path dir, ExternalStores s3, String extraConfig) throws Exception {
        this.dir = dir;
        Path pki = dir.resolve("pki");
        new DevPki(Clock.systemUTC()).ensure(pki, "unused".toCharArray(), List.of("localhost"), List.of("127.0.0.1"));
        this.ca = pki.resolve(DevPki.CA_CERT);
        Path key = pki.resolve(DevPki.SERVER_KEY);
        Files.setPosixFilePermissions(key, PosixFilePermissions.fromString("rw-------"));
        Path lbPem = pki.resolve("lb.pem");
        Files.writeString(lbPem, Files.readString(pki.resolve(DevPki.SERVER_CERT)) + Files.readString(key));

        try (Connection admin = DriverManager.getConnection(IndexDatabases.POSTGRES_URL, IndexDatabases.POSTGRES_USER, "")) {
            admin.createStatement().execute("create schema " + schema);
        }
        int lbPort = VaultProcess.freePort();
        String prefix = ExternalStores.freshBucket("lb");
        Path credentials = ExternalStores.credentialsFile(dir, "fr", s3.frAccessKey(), s3.frSecretKey());
        String config = "vault.stores.primary.endpoint=" + s3.frEndpoint() + "\nvault.stores.primary.credentials-file=" + credentials
                + "\nvault.stores.primary.bucket=" + prefix + "-objects\nvault.stores.audit.bucket=" + prefix + "-audit\n"
                + "vault.stores.backup.endpoint=" + s3.frEndpoint() + "\nvault.stores.backup.credentials-file=" + credentials
                + "\nvault.stores.backup.bucket=" + prefix + "-backup\n"
                + "vault.audit.checkpoint-every=200\nvault.backup.cron=-\nvault.drill.cron=-\n"
                + "vault.shutdown.drain-delay=4s\nvault.http.trusted-proxies=127.0.0.1\n"
                + "vault.http.public-base-url=https://localhost:" + lbPort + "\n" + extraConfig;
        this.serve = new String[] {"--index-url", IndexDatabases.POSTGRES_URL + "?currentSchema=" + schema,
                "--tls-certificate", pki.resolve(DevPki.SERVER_CERT).toString(), "--tls-private-key", key.toString()};
        for (int i = 0; i < NODES; i++) {
            Path home = dir.resolve("node" + (i + 1));
            Files.createDirectories(home);
            Files.writeString(home.resolve("vault.properties"), config);
            homes.add(home);
            ports[i] = VaultProcess.freePort();
        }
        Process started = null;
        try {
            nodes[0] = startNode(0);
            for (int i = 1; i < NODES; i++) { // the same root key (an HSM would be shared)
                Files.createDirectories(homes.get(i).resolve("keys"));
                for (String file : List.of("root.p12", "root.passphrase")) {
                    Files.copy(homes.get(0).resolve("keys").resolve(file), homes.get(i).resolve("keys").resolve(file));
                }
            }
            List<CompletableFuture<VaultProcess>> others = new ArrayList<>();
            for (int i = 1; i < NODES; i++) {
                int node = i;
                others.add(CompletableFuture.supplyAsync(() -> {
                    try {
                        return startNode(node);
                    } catch (Exception e) {
                        throw new IllegalStateException("node" + (node + 1) + " did not start", e);
                    }
                }));
            }
            for (int i = 1; i < NODES; i++) {
                nodes[i] = others.get(i - 1).get(180, TimeUnit.SECONDS);
            }
            started = startHaproxy(lbPort, lbPem);
            this.haproxy = started;
            this.lb = new Balancer("https://localhost:" + lbPort, VaultHttps.trusting(ca));
            Set<String> names = new java.util.HashSet<>();
            for (int i = 0; i < NODES; i++) {
                names.add("node" + (i + 1));
            }
            assertThat(lb.awaitNodes(names, token(0, "dr-lb", "practitioner", "user/*.cruds"), Duration.ofSeconds(30)))
                    .as("every node serves through the balancer").isTrue();
        } catch (Throwable e) {
            if (started != null) {
                started.destroy();
            }
            stopNodes();
            dropSchema();
            throw e;
        }
    }

    private VaultProcess startNode(int i) throws Exception {
        return VaultProcess.startOn(homes.get(i), ports[i], ca, VaultMain.class, List.of(), env, serve);
    }

    /** A token issued by node {@code issuer} (0-based). */
    String token(int issuer, String subject, String role, String scopes) throws Exception {
        return TestTokens.ofVault(homes.get(issuer)).sign(subject, role, scopes, null);
    }

    /** SIGTERM to node {@code i}, then a start on the same directory and port, once it has exited. */
    void restart(int i) throws Exception {
        nodes[i].terminate();
        assertThat(nodes[i].awaitExit(Duration.ofSeconds(60))).as("node%d stopped on SIGTERM", i + 1).isTrue();
        nodes[i] = startNode(i);
    }

    /** The balancer's access log. */
    String accessLog() throws IOException {
        return Files.readString(dir.resolve("haproxy.log"));
    }

    /** Takes a node out of the balancer's rotation ({@code disable}) or puts it back ({@code enable}), on its admin socket. */
    void rotation(String node, boolean in) throws IOException {
        try (SocketChannel admin = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            admin.connect(UnixDomainSocketAddress.of(dir.resolve("haproxy.sock")));
            admin.write(ByteBuffer.wrap(((in ? "enable" : "disable") + " server vault_nodes/" + node + "\n")
                    .getBytes(StandardCharsets.US_ASCII)));
            ByteBuffer answer = ByteBuffer.allocate(4096);
            while (admin.read(answer) >= 0) {
                // HAProxy closes the connection after one command
            }
            String said = new String(answer.array(), 0, answer.position(), StandardCharsets.US_ASCII).trim();
            assertThat(said).as("HAProxy's answer to %s %s", in ? "enable" : "disable", node).isEmpty();
        }
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
    private Process startHaproxy(int lbPort, Path lbPem) throws IOException {
        Path config = HAPROXY_FILES.resolve("haproxy.cfg");
        assertThat(config).exists();
        ProcessBuilder builder = new ProcessBuilder("haproxy", "-db", "-f", config.toString()).redirectErrorStream(true)
                .redirectOutput(dir.resolve("haproxy.log").toFile());
        Map<String, String> vars = builder.environment();
        vars.put("VAULT_LB_BIND", "127.0.0.1:" + lbPort);
        vars.put("VAULT_LB_CERT", lbPem.toString());
        vars.put("VAULT_NODES_CA", ca.toString());
        vars.put("VAULT_NODES_NAME", "localhost");
        vars.put("VAULT_LB_ADMIN", dir.resolve("haproxy.sock").toString());
        vars.put("VAULT_LB_FILES", HAPROXY_FILES.toString());
        for (int i = 0; i < NODES; i++) {
            vars.put("VAULT_NODE" + (i + 1), "127.0.0.1:" + ports[i]);
        }
        return builder.start();
    }

    private void stopNodes() throws InterruptedException {
        for (VaultProcess node : nodes) {
            if (node != null) {
                node.close();
            }
        }
    }

    private void dropSchema() throws Exception {
        try (Connection admin = DriverManager.getConnection(IndexDatabases.POSTGRES_URL, IndexDatabases.POSTGRES_USER, "")) {
            admin.createStatement().execute("drop schema if exists " + schema + " cascade");
        }
    }

    @Override
    public void close() throws Exception {
        haproxy.destroy();
        haproxy.waitFor(10, TimeUnit.SECONDS);
        stopNodes();
        dropSchema();
    }

    /** The clients' side of the load balancer. */
    static final class Balancer {
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
}
