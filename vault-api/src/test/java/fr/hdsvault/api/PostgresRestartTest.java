package fr.hdsvault.api;

import static org.assertj.core.api.Assertions.assertThat;

import fr.hdsvault.api.index.IndexDatabases;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The index database restarted under load: while PostgreSQL is down, every request answers
 * 503 with an OperationOutcome (never a 500, never a hang); once it is back the vault serves
 * again without being restarted; every acknowledged write reads back with its AuditEvent, and
 * the audit trail verifies.
 */
class PostgresRestartTest {

    static final Pattern LOCATION = Pattern.compile("/Patient/([^/]+)/_history/1$");

    @TempDir
    Path dir;

    @Test
    void aRestartOfPostgresqlUnderLoadIs503ThenServiceResumesAndNothingAcknowledgedIsLost() throws Exception {
        String why = IndexDatabases.postgresUnavailable();
        String cluster = IndexDatabases.localCluster();
        if ((why != null || cluster == null) && "true".equals(System.getenv("CI"))) {
            throw new IllegalStateException("CI must run the PostgreSQL restart test: " + (why != null ? why : "no pg_ctlcluster"));
        }
        Assumptions.assumeTrue(why == null && cluster != null, "no local PostgreSQL cluster to restart: test skipped");
        String schema = "restart_" + UUID.randomUUID().toString().replace("-", "");
        try (Connection admin = DriverManager.getConnection(IndexDatabases.POSTGRES_URL, IndexDatabases.POSTGRES_USER, "")) {
            admin.createStatement().execute("create schema " + schema);
        }
        Map<String, Object> settings = new HashMap<>(BackupRestoreTest.SETTINGS);
        settings.put("spring.datasource.url", IndexDatabases.POSTGRES_URL + "?currentSchema=" + schema);
        settings.put("spring.datasource.username", IndexDatabases.POSTGRES_USER);
        Path home = dir.resolve("vault");
        try (VaultHttps vault = new VaultHttps(home, settings)) {
            String token = BackupRestoreTest.practitioner(home);
            Set<String> acknowledged = ConcurrentHashMap.newKeySet();
            ConcurrentLinkedQueue<String> wrong = new ConcurrentLinkedQueue<>();
            Map<Integer, Integer> statuses = new ConcurrentHashMap<>();
            AtomicBoolean stop = new AtomicBoolean();
            List<Thread> writers = new ArrayList<>();
            for (int w = 0; w < 3; w++) {
                Thread t = new Thread(() -> {
                    while (!stop.get()) {
                        try {
                            HttpResponse<String> r = vault.send("POST", "/fhir/Patient", token, "{\"resourceType\":\"Patient\"}");
                            statuses.merge(r.statusCode(), 1, Integer::sum);
                            if (r.statusCode() == 201) {
                                Matcher m = LOCATION.matcher(r.headers().firstValue("Location").orElse(""));
                                if (m.find()) {
                                    acknowledged.add(m.group(1));
                                }
                            } else if (r.statusCode() != 503 || !r.body().contains("\"resourceType\":\"OperationOutcome\"")) {
                                wrong.add(r.statusCode() + " " + r.body());
                            }
                        } catch (Exception e) {
                            wrong.add(e.getClass().getSimpleName() + ": " + e.getMessage());
                        }
                    }
                });
                t.start();
                writers.add(t);
            }
            awaitCount(acknowledged, 30);
            IndexDatabases.pgctl(cluster, "stop");
            try {
                Thread.sleep(4_000); // down: writers keep sending
                HttpResponse<String> read = vault.get("/fhir/Patient/" + acknowledged.iterator().next(), token);
                assertThat(read.statusCode()).as("a read while the index is down: %s", read.body()).isEqualTo(503);
                assertThat(read.body()).contains("OperationOutcome");
            } finally {
                IndexDatabases.pgctl(cluster, "start");
            }
            int before = acknowledged.size();
            awaitCount(acknowledged, before + 30); // served again, the vault never restarted
            stop.set(true);
            for (Thread t : writers) {
                t.join();
            }
            assertThat(wrong).as("answers other than 201, or 503 with an OperationOutcome").isEmpty();
            assertThat(statuses).as("statuses").containsKey(503);
            // The connections made after the restart have the vault's session settings too (index.PostgresSessions).
            assertThat(vault.context.getBean(org.springframework.jdbc.core.JdbcTemplate.class)
                    .queryForObject("show plan_cache_mode", String.class)).isEqualTo("force_custom_plan");

            String auditor = TestTokens.ofVault(home).sign("aud-restart", "auditor", null, null);
            for (String id : acknowledged) {
                HttpResponse<String> r = vault.get("/fhir/Patient/" + id, token);
                assertThat(r.statusCode()).as("acknowledged Patient/%s: %s", id, r.body()).isEqualTo(200);
            }
            Set<String> audited = DurableAcknowledgementTest.auditedCreates(vault::get, auditor);
            assertThat(audited).containsAll(acknowledged.stream().map(id -> "Patient/" + id).toList());
            HttpResponse<String> verify = vault.get("/admin/audit/verify", auditor);
            assertThat(verify.body()).as(verify.body()).contains("\"ok\":true");
        } finally {
            try (Connection admin = DriverManager.getConnection(IndexDatabases.POSTGRES_URL, IndexDatabases.POSTGRES_USER, "")) {
                admin.createStatement().execute("drop schema if exists " + schema + " cascade");
            }
        }
    }

    private static void awaitCount(Set<String> acknowledged, int count) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
        while (acknowledged.size() < count) {
            assertThat(System.nanoTime()).as("%d writes acknowledged, waiting for %d", acknowledged.size(), count).isLessThan(deadline);
            Thread.sleep(50);
        }
    }
}
