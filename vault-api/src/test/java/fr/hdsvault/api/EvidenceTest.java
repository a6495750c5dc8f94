package fr.hdsvault.api;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import fr.hdsvault.api.audit.AuditKeys;
import fr.hdsvault.api.cli.EvidenceCommand;
import fr.hdsvault.api.evidence.ClientChecks;
import fr.hdsvault.api.evidence.EvidenceCheck;
import fr.hdsvault.api.evidence.EvidenceReport;
import fr.hdsvault.api.security.TokenIssuer;
import fr.hdsvault.api.storage.StoresProperties;
import fr.hdsvault.api.storage.VaultStores;
import fr.hdsvault.crypto.pki.DevPki;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import javax.net.ssl.SSLContext;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.jdbc.core.JdbcTemplate;
import picocli.CommandLine;
import tools.jackson.databind.json.JsonMapper;

/**
 * The evidence report end to end: {@code vault evidence} on a healthy vault (records, a backup,
 * a drill, a webhook receiving alerts) passes all ten checks, writes a report that
 * {@code evidence verify} accepts offline and refuses once altered, and whose SHA-256 the trail
 * records; then a fault is planted for one check after another and exactly the checks planted so
 * far fail: an unreachable alert receiver, an object stored in clear, a rewritten audit event (which
 * the vault's own watch on its trail also alerts),
 * an interrupted root key rotation, a backup object deleted, then a drill on that set. A vault
 * accepting TLS 1.2 with a CBC suite fails the TLS check, one accepting expired tokens (a lax clock skew) fails access
 * control, one not recording accesses fails traceability (a store outside France: ResidencyEvidenceTest).
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class EvidenceTest {

    static final JsonMapper JSON = JsonMapper.builder().build();
    static final List<String> NAMES = List.of("Evidencia", "Preuvelle", "Temoinard");

    @TempDir
    static Path dir;
    static VaultHttps vault;
    static TestTokens tokens;
    static HttpsServer webhook;
    static final AtomicBoolean receiverUp = new AtomicBoolean(true);
    static final AtomicInteger received = new AtomicInteger();
    static Path report;

    @BeforeAll
    static void start() throws Exception {
        char[] password = "evidence-test".toCharArray();
        DevPki.Material pki = new DevPki(Clock.systemUTC()).ensure(dir.resolve("receiver-pki"), password, List.of("localhost"),
                List.of("127.0.0.1"));
        SSLContext server = fr.hdsvault.api.detection.AlertSinksTest.serverTls(pki.pkcs12(), password);
        webhook = HttpsServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        webhook.setHttpsConfigurator(new HttpsConfigurator(server));
        webhook.createContext("/alerts", exchange -> {
            exchange.getRequestBody().readAllBytes();
            boolean up = receiverUp.get();
            if (up) {
                received.incrementAndGet();
            }
            exchange.sendResponseHeaders(up ? 200 : 503, -1);
            exchange.close();
        });
        webhook.start();
        Map<String, Object> settings = new HashMap<>();
        settings.put("vault.detection.deliver-every", "1s");
        settings.put("vault.detection.webhook.url", "https://127.0.0.1:" + webhook.getAddress().getPort() + "/alerts");
        settings.put("vault.detection.webhook.trusted-ca", pki.directory().resolve(DevPki.CA_CERT).toString());
        settings.put("vault.evidence.delivery-timeout", "4s");
        settings.put("vault.detection.trail-check-every", "1s");
        vault = new VaultHttps(dir.resolve("vault"), settings);
        tokens = TestTokens.ofVault(vault.dataDir);
        String practitioner = tokens.sign("dr-evidence", "practitioner", "user/*.cruds", null);
        for (String name : NAMES) {
            assertThat(vault.send("POST", "/fhir/Patient", practitioner, "{\"resourceType\":\"Patient\",\"name\":[{\"family\":\""
                    + name + "\",\"given\":[\"Alberte\"]}],\"birthDate\":\"1961-07-19\"}").statusCode()).isEqualTo(201);
        }
        String operator = tokens.sign("ops-evidence", "operator", null, null);
        assertThat(vault.send("POST", "/admin/backups", operator, null).statusCode()).isEqualTo(200);
        assertThat(vault.send("POST", "/admin/restore-drills", operator, null).body()).contains("\"status\":\"passed\"");
    }

    @AfterAll
    static void stop() throws Exception {
        if (vault != null) {
            vault.close();
        }
        if (webhook != null) {
            webhook.stop(0);
        }
    }

    @Test
    @Order(1)
    void aHealthyVaultPassesEveryCheckAndTheSignedReportVerifiesOffline() throws Exception {
        report = dir.resolve("evidence.json");
        StringWriter out = new StringWriter();
        int alertsBefore = received.get();
        int exit = cli(new EvidenceCommand(), out, "--data-dir", vault.dataDir.toString(), "--url", vault.base, "--out",
                report.toString());
        assertThat(exit).as(out.toString()).isZero();
        Map<String, Object> fields = EvidenceReport.verify(Files.readString(report), publicKey());
        assertThat(fields.get("allPassed")).isEqualTo(true);
        assertThat(checks(fields).keySet()).containsExactly("tls", "residency", "encryption-at-rest", "integrity", "traceability",
                "access-control", "backups", "recovery", "key-management", "detection");
        assertThat(checks(fields).values()).allSatisfy(c -> {
            assertThat(c.get("passed")).as(String.valueOf(c)).isEqualTo(true);
            assertThat((String) c.get("collectedSha256")).matches("[0-9a-f]{64}");
        });
        assertThat((String) checks(fields).get("tls").get("result")).contains("TLSv1.3 accepted").contains("refused: SSLv3, TLSv1, "
                + "TLSv1.1, TLSv1.2");
        assertThat((String) checks(fields).get("encryption-at-rest").get("result")).startsWith("3 objects read");
        assertThat(checks(fields).get("tls").get("observer")).isEqualTo("client");
        assertThat(checks(fields).get("backups").get("observer")).isEqualTo("vault");
        assertThat(received.get()).as("the test alert reached the webhook").isGreaterThan(alertsBefore);

        // The readable page, and neither it nor the report names a patient.
        String html = Files.readString(report.resolveSibling("evidence.html"));
        assertThat(html).contains("Every check passed").contains("id=\"key-management\"");
        for (String name : NAMES) {
            assertThat(Files.readString(report)).doesNotContain(name);
            assertThat(html).doesNotContain(name);
        }
        assertThat(Files.readString(report)).doesNotContain("1961-07-19");

        // The trail records the report's SHA-256: it cannot be made up afterwards.
        String digest = fr.hdsvault.api.lifecycle.SignedStatement.sha256(((String) JSON.readValue(Files.readString(report), Map.class)
                .get("certificate")).getBytes(StandardCharsets.UTF_8));
        String auditor = tokens.sign("officer", "auditor", null, null);
        assertThat(vault.get("/fhir/AuditEvent?agent=vault-cli", auditor).body()).contains("evidence report: 10 of 10 checks passed, "
                + "sha256 " + digest);

        StringWriter verified = new StringWriter();
        assertThat(cli(new EvidenceCommand(), verified, "verify", "--data-dir", vault.dataDir.toString(), report.toString()))
                .as(verified.toString()).isZero();
        assertThat(verified.toString()).contains("signature valid").contains(digest).contains("10 checks passed, 0 failed");
    }

    @Test
    @Order(2)
    @SuppressWarnings("unchecked")
    void anAlteredReportIsRefused() throws Exception {
        Map<String, Object> file = JSON.readValue(Files.readString(report), Map.class);
        Map<String, Object> statement = JSON.readValue((String) file.get("certificate"), Map.class);
        ((List<Map<String, Object>>) statement.get("checks")).get(6).put("passed", false); // any change at all
        file.put("certificate", JSON.writeValueAsString(statement));
        Path altered = dir.resolve("altered.json");
        Files.writeString(altered, JSON.writeValueAsString(file));
        StringWriter out = new StringWriter();
        assertThat(cli(new EvidenceCommand(), out, "verify", "--data-dir", vault.dataDir.toString(), altered.toString())).isEqualTo(1);
        assertThat(out.toString()).contains("does not verify");

        // Signed by the vault's audit key, not by a key of the reader's choosing.
        Path otherKey = dir.resolve("other.pub");
        Files.writeString(otherKey, java.util.Base64.getEncoder().encodeToString(
                fr.hdsvault.crypto.sign.Ed25519.SigningKey.generate().publicKey()));
        assertThat(cli(new EvidenceCommand(), new StringWriter(), "verify", "--public-key", otherKey.toString(), report.toString()))
                .isEqualTo(1);
    }

    @Test
    @Order(3)
    void eachPlantedFaultFailsItsOwnCheck() throws Exception {
        JdbcTemplate jdbc = vault.context.getBean(JdbcTemplate.class);
        VaultStores stores = vault.context.getBean(VaultStores.class);
        Set<String> planted = new TreeSet<>();

        // Detection: the alert receiver answers 503; the test alert is not acknowledged.
        receiverUp.set(false);
        assertThat(failing(vaultChecks())).containsExactly("detection");
        receiverUp.set(true);
        assertThat(failing(vaultChecks())).isEmpty();

        // Encryption at rest: one record's object replaced by its clear JSON.
        VaultStores.StoreBucket primary = stores.bucket(StoresProperties.Role.PRIMARY);
        String key = jdbc.queryForObject("select min(object_key) from resource_version where resource_type = 'Patient'", String.class);
        primary.store().put(primary.bucket(), key, ("{\"resourceType\":\"Patient\",\"name\":[{\"family\":\"" + NAMES.get(0)
                + "\"}]}").getBytes(StandardCharsets.UTF_8), Map.of());
        planted.add("encryption-at-rest");
        Map<String, Map<String, Object>> checks = vaultChecks();
        assertThat(failing(checks)).isEqualTo(planted);
        assertThat((String) checks.get("encryption-at-rest").get("result")).contains("object " + key + " is not an envelope")
                .contains("clear JSON").doesNotContain(NAMES.get(0));

        // Integrity: an audit event's outcome rewritten in the database.
        jdbc.update("update audit_event set outcome = 4 where seq = 1");
        planted.add("integrity");
        checks = vaultChecks();
        assertThat(failing(checks)).isEqualTo(planted);
        assertThat((String) checks.get("integrity").get("result")).contains("position 1");
        // The vault's own watch on its trail alerts too, without waiting for anyone to ask: the SIEM hears of it.
        String auditor = tokens.sign("officer", "auditor", null, null);
        long deadline = System.nanoTime() + 15_000_000_000L;
        String alerts;
        do {
            Thread.sleep(300);
            alerts = vault.get("/fhir/AuditEvent?subtype=urn:hds-vault:alert%7Caudit-trail-integrity", auditor).body();
        } while (!alerts.contains("position 1") && System.nanoTime() < deadline);
        assertThat(alerts).contains("audit trail FAILED at position 1").contains("hds-vault");

        // Key management: a root key rotation that left one key-encryption key under the old root version.
        String operator = tokens.sign("ops-evidence", "operator", null, null);
        assertThat(vault.send("POST", "/admin/keys/root/rotate", operator, null).statusCode()).isEqualTo(200);
        assertThat(failing(vaultChecks())).isEqualTo(planted);
        jdbc.update("update kek_registry set root_key_version = 1 where kek_id = (select min(kek_id) from kek_registry)");
        planted.add("key-management");
        checks = vaultChecks();
        assertThat(failing(checks)).isEqualTo(planted);
        assertThat((String) checks.get("key-management").get("result")).contains("1 wrapped under an older root version");

        // Backups: an object of the newest set deleted from the backup store.
        VaultStores.StoreBucket backup = stores.bucket(StoresProperties.Role.BACKUP);
        String backedUp = backup.store().list(backup.bucket(), "objects/", null, 1).objects().get(0).key();
        backup.store().delete(backup.bucket(), backedUp);
        planted.add("backups");
        checks = vaultChecks();
        assertThat(failing(checks)).isEqualTo(planted);
        assertThat((String) checks.get("backups").get("result")).contains("verification FAILED");

        // Recovery: a drill of that set fails, and is now the last drill.
        assertThat(vault.send("POST", "/admin/restore-drills", operator, null).body()).contains("\"status\":\"failed\"");
        planted.add("recovery");
        checks = vaultChecks();
        assertThat(failing(checks)).isEqualTo(planted);
        assertThat((String) checks.get("recovery").get("result")).contains(" failed, ");
    }

    @Test
    @Order(4)
    void anEndpointAcceptingTls12WithACbcSuiteFailsTheTlsCheck() throws Exception {
        // As an operator's configuration would (system properties rank above the vault's application.properties); cleared once bound.
        System.setProperty("server.ssl.enabled-protocols", "TLSv1.2,TLSv1.3");
        System.setProperty("server.ssl.ciphers", "TLS_AES_128_GCM_SHA256,TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,"
                + "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256");
        VaultHttps started;
        try {
            started = new VaultHttps(dir.resolve("weak-tls"));
        } finally {
            System.clearProperty("server.ssl.enabled-protocols");
            System.clearProperty("server.ssl.ciphers");
        }
        try (VaultHttps weak = started) {
            EvidenceCheck tls = clientChecks(weak).get("tls");
            assertThat(tls.passed()).as(tls.result()).isFalse();
            assertThat(tls.result()).contains("WEAK: TLSv1.2 TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256")
                    .contains("TLSv1.2 accepted with").contains("TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256");
        }
    }

    @Test
    @Order(5)
    void aVaultAcceptingExpiredTokensFailsAccessControlAndOneNotRecordingAccessesFailsTraceability() throws Exception {
        // A clock skew of 15 minutes, as an operator fighting a drifting clock might set: the probe's token, expired 10 minutes
        // ago, is let in.
        try (VaultHttps lax = new VaultHttps(dir.resolve("lax-skew"), Map.of("vault.security.tokens.clock-skew", "15m"))) {
            Map<String, EvidenceCheck> checks = clientChecks(lax);
            assertThat(checks.get("access-control").passed()).as(checks.get("access-control").result()).isFalse();
            assertThat(checks.get("access-control").result()).contains("1 of 12 probes NOT refused")
                    .contains("an expired token: GET /fhir/Patient/{random id} -> 404 (expected [401])");
            assertThat(checks.get("traceability").passed()).as(checks.get("traceability").result()).isTrue();
        }
        // The audit filter off (the load benchmark's switch, read once at start): accesses answered, none recorded.
        System.setProperty("hds-vault.benchmark.audit-off", "true");
        VaultHttps started;
        try {
            started = new VaultHttps(dir.resolve("unaudited"));
        } finally {
            System.clearProperty("hds-vault.benchmark.audit-off");
        }
        try (VaultHttps unaudited = started) {
            Map<String, EvidenceCheck> checks = clientChecks(unaudited);
            assertThat(checks.get("traceability").passed()).isFalse();
            assertThat(checks.get("traceability").result()).contains("(answered 404) was NOT found in the trail within 10 s");
            assertThat(checks.get("access-control").passed()).as(checks.get("access-control").result()).isTrue();
        }
    }

    /** The client's checks (TLS, access control, traceability) against another vault, by id. */
    static Map<String, EvidenceCheck> clientChecks(VaultHttps other) throws Exception {
        Map<String, EvidenceCheck> byId = new LinkedHashMap<>();
        new ClientChecks(other.base, DevPki.clientContext(other.dataDir.resolve("tls").resolve(DevPki.CA_CERT)),
                TokenIssuer.forHome(fr.hdsvault.api.home.VaultHome.prepare(other.dataDir))).run().forEach(c -> byId.put(c.id(), c));
        return byId;
    }

    /** The vault's own checks, from its endpoint, by id. */
    @SuppressWarnings("unchecked")
    static Map<String, Map<String, Object>> vaultChecks() throws Exception {
        var answer = vault.send("POST", "/admin/audit/evidence", tokens.sign("officer", "auditor", null, null), null);
        assertThat(answer.statusCode()).as(answer.body()).isEqualTo(200);
        Map<String, Object> fields = EvidenceReport.verify(answer.body(), publicKey());
        assertThat(fields.get("allPassed")).as("three client checks are missing").isEqualTo(false);
        return checks(fields);
    }

    @SuppressWarnings("unchecked")
    static Map<String, Map<String, Object>> checks(Map<String, Object> fields) {
        Map<String, Map<String, Object>> byId = new LinkedHashMap<>();
        ((List<Map<String, Object>>) fields.get("checks")).forEach(c -> byId.put((String) c.get("id"), c));
        return byId;
    }

    static Set<String> failing(Map<String, Map<String, Object>> checks) {
        return checks.values().stream().filter(c -> !Boolean.TRUE.equals(c.get("passed"))).map(c -> (String) c.get("id"))
                .collect(Collectors.toCollection(TreeSet::new));
    }

    static byte[] publicKey() throws Exception {
        return AuditKeys.readPublic(vault.dataDir.resolve("keys").resolve(AuditKeys.PUBLIC_FILE));
    }

    static int cli(Object command, StringWriter out, String... args) {
        return new CommandLine(command).setOut(new PrintWriter(out, true)).setErr(new PrintWriter(out, true)).execute(args);
    }
}
