package fr.hdsvault.api;

import static org.assertj.core.api.Assertions.assertThat;

import fr.hdsvault.api.home.VaultHome;
import fr.hdsvault.api.security.TokenIssuer;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Prometheus metrics, as an operator's scraper reads them: behind an operator's token, by
 * interaction and status with latency histograms, the audit trail's queue and commits, the
 * integrity failures, the backups' age and the last drill; and nothing a request contained.
 */
class MetricsTest {

    @TempDir
    static Path dir;
    static VaultHttps vault;
    static TokenIssuer issuer;

    @BeforeAll
    static void start() throws Exception {
        vault = new VaultHttps(dir.resolve("vault"));
        issuer = TokenIssuer.forHome(VaultHome.prepare(dir.resolve("vault")));
    }

    @AfterAll
    static void stop() {
        vault.close();
    }

    private static String token(String role) {
        return issuer.issue(new TokenIssuer.Grant("metrics-" + role, role, null, null, Duration.ofMinutes(10)));
    }

    @Test
    void operatorsScrapeFiguresThatSayNothingOfTheRequests() throws Exception {
        String practitioner = token("practitioner");
        String operator = token("operator");
        HttpResponse<String> created = vault.send("POST", "/fhir/Patient", practitioner,
                "{\"resourceType\":\"Patient\",\"identifier\":[{\"system\":\"urn:oid:1.2.250.1.213.1.4.8\",\"value\":\"INS-77331\"}],"
                        + "\"name\":[{\"family\":\"Zorglubovitch\"}]}");
        assertThat(created.statusCode()).isEqualTo(201);
        String id = created.headers().firstValue("Location").orElseThrow().replaceAll(".*/Patient/([^/]+)/.*", "$1");
        assertThat(vault.get("/fhir/Patient/" + id, practitioner).statusCode()).isEqualTo(200);
        assertThat(vault.get("/fhir/Patient?identifier=INS-77331", practitioner).statusCode()).isEqualTo(200);
        assertThat(vault.get("/fhir/Patient?nickname=Zorglubovitch", practitioner).statusCode()).isEqualTo(400);
        assertThat(vault.get("/fhir/Patient/no-such-" + id, practitioner).statusCode()).isEqualTo(404);
        assertThat(vault.get("/fhir/Zorglubovitch/1", practitioner).statusCode()).isIn(400, 404);
        assertThat(vault.get("/fhir/Patient/" + id, null).statusCode()).isEqualTo(401);
        assertThat(vault.send("POST", "/admin/backups", operator, null).statusCode()).isEqualTo(200);
        HttpResponse<String> drill = vault.send("POST", "/admin/restore-drills", operator, null);
        assertThat(drill.body()).contains("\"status\":\"passed\"");

        assertThat(vault.get("/actuator/prometheus", null).statusCode()).as("anonymous").isEqualTo(401);
        assertThat(vault.get("/actuator/prometheus", practitioner).statusCode()).as("a practitioner").isEqualTo(403);
        assertThat(vault.get("/actuator/prometheus", token("auditor")).statusCode()).as("an auditor").isEqualTo(403);
        HttpResponse<String> scraped = vault.get("/actuator/prometheus", operator);
        assertThat(scraped.statusCode()).isEqualTo(200);
        String metrics = scraped.body();

        assertThat(count(metrics, "vault_fhir_requests_seconds_count", "interaction=\"create\"", "status=\"201\"", "type=\"Patient\""))
                .isEqualTo(1);
        assertThat(count(metrics, "vault_fhir_requests_seconds_count", "interaction=\"read\"", "status=\"200\"", "type=\"Patient\""))
                .isEqualTo(1);
        assertThat(count(metrics, "vault_fhir_requests_seconds_count", "interaction=\"read\"", "status=\"404\"")).isEqualTo(1);
        assertThat(count(metrics, "vault_fhir_requests_seconds_count", "interaction=\"search-type\"", "status=\"200\"")).isEqualTo(1);
        assertThat(count(metrics, "vault_fhir_requests_seconds_count", "status=\"400\"")).isGreaterThanOrEqualTo(1);
        assertThat(count(metrics, "vault_fhir_requests_seconds_count", "interaction=\"none\"", "status=\"401\"")).isEqualTo(1);
        assertThat(metrics).contains("vault_fhir_requests_seconds_bucket{").contains("le=\"+Inf\"");
        assertThat(count(metrics, "vault_audit_commit_seconds_count")).isGreaterThanOrEqualTo(1);
        assertThat(metrics).containsPattern("(?m)^vault_audit_queue\\{[^}]*\\} \\d");
        assertThat(count(metrics, "vault_integrity_failures_total", "kind=\"record\"")).isZero();
        assertThat(count(metrics, "vault_integrity_failures_total", "kind=\"audit\"")).isZero();
        assertThat(value(metrics, "vault_backup_age_seconds")).isBetween(0.0, 300.0);
        assertThat(value(metrics, "vault_drill_last_result")).isEqualTo(1.0);
        assertThat(value(metrics, "vault_drill_last_rto_seconds")).isGreaterThan(0.0);
        assertThat(metrics).containsPattern("vault_node=\"[0-9a-f-]{36}\"");

        // Nothing of what the requests carried: no name, identifier, id or unknown type.
        assertThat(metrics).doesNotContain("Zorglubovitch").doesNotContain("77331").doesNotContain(id)
                .doesNotContain("nickname");
    }

    /** The value of the one series of {@code name} whose labels include every one of {@code labels}; 0 when there is none. */
    private static double count(String metrics, String name, String... labels) {
        Matcher m = Pattern.compile("(?m)^" + name + "\\{([^}]*)\\} (\\S+)$").matcher(metrics);
        double total = 0;
        while (m.find()) {
            boolean all = true;
            for (String label : labels) {
                all &= m.group(1).contains(label);
            }
            if (all) {
                total += Double.parseDouble(m.group(2));
            }
        }
        return total;
    }

    private static double value(String metrics, String name) {
        Matcher m = Pattern.compile("(?m)^" + name + "\\{[^}]*\\} (\\S+)$").matcher(metrics);
        assertThat(m.find()).as("%s in %s", name, metrics.length()).isTrue();
        return Double.parseDouble(m.group(1).replace("+Inf", "Infinity"));
    }
}
