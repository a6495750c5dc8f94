package fr.hdsvault.api;

import static org.assertj.core.api.Assertions.assertThat;

import fr.hdsvault.api.index.IndexDatabases;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Matcher;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two vault processes on one PostgreSQL database and one S3 server (a RADOS Gateway) append to
 * one audit log: writes on both at once are all acknowledged (no node fails the other's
 * sequence), each node reads what the other wrote and serves the next page of a search the
 * other ran (to the same grants only), one node killed with SIGKILL under load loses nothing it
 * acknowledged, and the whole trail verifies, its checkpoints signed by both nodes matching one
 * to one in the database and the bucket. The two nodes are one vault: one identity, and tokens
 * issued by either accepted by both.
 */
class ClusterAuditTest {

    @TempDir
    Path dir;

    @Test
    void twoNodesAppendToOneAuditLogThroughConcurrentWritesAndAKill() throws Exception {
        ExternalStores s3 = ExternalStores.fromEnvironment();
        String why = IndexDatabases.postgresUnavailable();
        if (why != null && "true".equals(System.getenv("CI"))) {
            throw new IllegalStateException("CI must run the cluster tests: " + why);
        }
        Assumptions.assumeTrue(why == null, () -> why + ": cluster tests skipped");
        String schema = "cluster_" + UUID.randomUUID().toString().replace("-", "");
        try (Connection admin = DriverManager.getConnection(IndexDatabases.POSTGRES_URL, IndexDatabases.POSTGRES_USER, "")) {
            admin.createStatement().execute("create schema " + schema);
        }
        String prefix = ExternalStores.freshBucket("cl");
        Path credentials = ExternalStores.credentialsFile(dir, "fr", s3.frAccessKey(), s3.frSecretKey());
        String config = "vault.stores.primary.endpoint=" + s3.frEndpoint() + "\nvault.stores.primary.credentials-file=" + credentials
                + "\nvault.stores.primary.bucket=" + prefix + "-objects\nvault.stores.audit.bucket=" + prefix + "-audit\n"
                + "vault.audit.checkpoint-every=50\nvault.backup.cron=-\nvault.drill.cron=-\n";
        Path a = dir.resolve("node-a");
        Path b = dir.resolve("node-b");
        for (Path home : List.of(a, b)) {
            Files.createDirectories(home);
            Files.writeString(home.resolve("vault.properties"), config);
        }
        String[] serve = {"--index-url", IndexDatabases.POSTGRES_URL + "?currentSchema=" + schema};
        Map<String, String> env = Map.of("VAULT_INDEX_USER", IndexDatabases.POSTGRES_USER);
        try (VaultProcess first = VaultProcess.start(a, VaultMain.class, List.of(), env, serve)) {
            // The second node holds the same root key (a copy, as from the key's custody; an HSM would be shared).
            Files.createDirectories(b.resolve("keys"));
            for (String file : List.of("root.p12", "root.passphrase")) {
                Files.copy(a.resolve("keys").resolve(file), b.resolve("keys").resolve(file));
            }
            VaultProcess second = VaultProcess.start(b, VaultMain.class, List.of(), env, serve);
            try {
                // One vault: the second node adopted the first's identity, and each accepts the other's tokens.
                assertThat(Files.readString(b.resolve("vault-id"))).isEqualTo(Files.readString(a.resolve("vault-id")));
                for (VaultProcess node : List.of(first, second)) {
                    for (Path issuer : List.of(a, b)) {
                        HttpResponse<String> r = node.send("GET", "/fhir/Patient?_count=1", token(issuer), null);
                        assertThat(r.statusCode()).as("a token of %s on %s: %s", issuer, node.home, r.body()).isEqualTo(200);
                    }
                }
                Map<VaultProcess, String> tokens = Map.of(first, token(b), second, token(a));
                Set<String> acknowledged = ConcurrentHashMap.newKeySet();
                ConcurrentLinkedQueue<String> refused = new ConcurrentLinkedQueue<>();
                write(List.of(first, second), tokens, acknowledged, refused, 4_000, null);
                assertThat(refused).as("answers other than 201 while both nodes write").isEmpty();
                assertThat(acknowledged).hasSizeGreaterThan(20);
                for (String id : acknowledged) { // each node serves what the other wrote
                    for (VaultProcess node : List.of(first, second)) {
                        assertThat(node.send("GET", "/fhir/Patient/" + id, tokens.get(node), null).statusCode())
                                .as("Patient/%s on %s", id, node.home).isEqualTo(200);
                    }
                }
                // A search run on one node pages on the other, for the same grants only.
                HttpResponse<String> page1 = first.send("GET", "/fhir/Patient?_count=3", tokens.get(first), null);
                Matcher next = java.util.regex.Pattern.compile("\"relation\":\"next\",\"url\":\"https://[^/]+(/[^\"]+)\"")
                        .matcher(page1.body());
                assertThat(next.find()).as(page1.body()).isTrue();
                String nextPage = next.group(1).replace("\\u0026", "&");
                HttpResponse<String> page2 = second.send("GET", nextPage, tokens.get(second), null);
                assertThat(page2.statusCode()).as(page2.body()).isEqualTo(200);
                assertThat(page2.body()).contains("\"resourceType\":\"Patient\"");
                String stranger = TestTokens.ofVault(b).sign("dr-other", "practitioner", "user/*.cruds", null);
                assertThat(second.send("GET", nextPage, stranger, null).statusCode()).as("another user's replay").isEqualTo(410);
                // The second node is killed while both write; what it acknowledged stays, on the first.
                Set<String> beforeKill = Set.copyOf(acknowledged);
                write(List.of(first, second), tokens, acknowledged, new ConcurrentLinkedQueue<>(), 2_500, second);
                assertThat(acknowledged.size()).isGreaterThan(beforeKill.size());
                for (String id : acknowledged) {
                    HttpResponse<String> r = first.send("GET", "/fhir/Patient/" + id, tokens.get(first), null);
                    assertThat(r.statusCode()).as("acknowledged Patient/%s: %s", id, r.body()).isEqualTo(200);
                }
            } finally {
                second.close();
            }
            String auditor = TestTokens.ofVault(a).sign("aud-cluster", "auditor", null, null);
            Set<String> audited = DurableAcknowledgementTest.auditedCreates((path, token) -> first.send("GET", path, token, null), auditor);
            HttpResponse<String> verify = first.send("GET", "/admin/audit/verify", auditor, null);
            assertThat(verify.body()).as(verify.body()).contains("\"ok\":true").contains("the same in the audit bucket");
            assertThat(audited).as("every create recorded, whichever node served it").hasSizeGreaterThan(20);
        } finally {
            try (Connection admin = DriverManager.getConnection(IndexDatabases.POSTGRES_URL, IndexDatabases.POSTGRES_USER, "")) {
                admin.createStatement().execute("drop schema if exists " + schema + " cascade");
            }
        }
    }

    private static String token(Path home) throws Exception {
        return TestTokens.ofVault(home).sign("dr-cluster", "practitioner", "user/*.cruds", null);
    }

    /**
     * Two writers per node create Patients for {@code millis}; {@code killed}, when not null, is
     * killed halfway (its in-flight requests fail, and are not counted as refusals).
     */
    private static void write(List<VaultProcess> nodes, Map<VaultProcess, String> tokens, Set<String> acknowledged,
                              ConcurrentLinkedQueue<String> refused, long millis, VaultProcess killed) throws Exception {
        AtomicBoolean stop = new AtomicBoolean();
        List<Thread> writers = new ArrayList<>();
        for (VaultProcess node : nodes) {
            for (int w = 0; w < 2; w++) {
                Thread t = new Thread(() -> {
                    while (!stop.get()) {
                        try {
                            HttpResponse<String> r = node.send("POST", "/fhir/Patient", tokens.get(node), "{\"resourceType\":\"Patient\"}");
                            if (r.statusCode() == 201) {
                                Matcher m = DurableAcknowledgementTest.LOCATION.matcher(r.headers().firstValue("Location").orElse(""));
                                if (m.find()) {
                                    acknowledged.add(m.group(1));
                                }
                            } else {
                                refused.add(node.home.getFileName() + ": " + r.statusCode() + " " + r.body());
                            }
                        } catch (Exception e) {
                            if (node != killed) {
                                refused.add(node.home.getFileName() + ": " + e);
                            }
                        }
                    }
                });
                t.start();
                writers.add(t);
            }
        }
        Thread.sleep(millis / 2);
        if (killed != null) {
            killed.kill();
        }
        Thread.sleep(millis / 2);
        stop.set(true);
        for (Thread t : writers) {
            t.join();
        }
    }
}
