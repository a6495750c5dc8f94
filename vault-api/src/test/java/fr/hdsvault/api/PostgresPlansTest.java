package fr.hdsvault.api;

import static org.assertj.core.api.Assertions.assertThat;

import fr.hdsvault.api.index.IndexDatabases;
import fr.hdsvault.api.index.IndexMaintenance;
import fr.hdsvault.api.index.SqlCapture;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.jdbc.datasource.DriverManagerDataSource;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Every query the vault runs on PostgreSQL keeps an index-backed plan at scale. The vault runs
 * its FHIR interactions (reads, searches of every kind, histories, $everything, transactions,
 * updates, deletes, audit searches, refusals) on a small index, recording each statement with
 * its parameters; the index then grows past 50,000 resources (clones of the same shapes: each
 * clone its own patients and references, codes shared), and PostgreSQL explains and runs every
 * recorded statement:
 * <ul>
 *   <li>on stale statistics (gathered when the index was small, as between two analyses), and</li>
 *   <li>on fresh statistics, after {@link IndexMaintenance} found the grown tables and analyzed them.</li>
 * </ul>
 * A plan fails when it scans a whole vault table or throws away more than a few thousand rows
 * in filters (a nested loop over a whole table: what made {@code Observation?patient=} take
 * 78 s). Tables never analyzed (what autovacuum, off here, leaves) are found and analyzed too.
 */
class PostgresPlansTest {

    static final int CLONES = 2_200;
    static final long MAX_ROWS_FILTERED = 5_000;
    static final Set<String> VAULT_TABLES = Set.of("resource_current", "resource_version", "search_token", "compartment_kek",
            "kek_registry", "audit_event", "audit_checkpoint");
    static final JsonMapper JSON = JsonMapper.builder().build();

    @TempDir
    Path dir;

    @Test
    void everyQueryKeepsAnIndexBackedPlanPastFiftyThousandResourcesOnStaleAndFreshStatistics() throws Exception {
        String why = IndexDatabases.postgresUnavailable();
        if (why != null && "true".equals(System.getenv("CI"))) {
            throw new IllegalStateException("CI must run the PostgreSQL plan tests: " + why);
        }
        Assumptions.assumeTrue(why == null, () -> why + ": PostgreSQL plan tests skipped");
        String schema = "plans_" + UUID.randomUUID().toString().replace("-", "");
        String url = IndexDatabases.POSTGRES_URL + "?currentSchema=" + schema;
        try (Connection admin = DriverManager.getConnection(IndexDatabases.POSTGRES_URL, IndexDatabases.POSTGRES_USER, "")) {
            admin.createStatement().execute("create schema " + schema);
        }
        try {
            SqlCapture.CAPTURED.clear();
            Map<String, Object> settings = new HashMap<>(BackupRestoreTest.SETTINGS);
            settings.put("spring.datasource.url", url);
            settings.put("spring.datasource.username", IndexDatabases.POSTGRES_USER);
            settings.put(SqlCapture.PROPERTY, "true");
            // The detection rules count each agent's events after every request, low thresholds so that both raise an alert.
            settings.put("vault.detection.enabled", "true");
            settings.put("vault.detection.evaluate-every", "0s");
            settings.put("vault.detection.mass-access.patients", "2");
            settings.put("vault.detection.enumeration.refusals", "1");
            settings.put("vault.detection.webhook.url", "https://127.0.0.1:9/alerts"); // nothing listens: the outbox reads and retries
            Path home = dir.resolve("vault");
            try (VaultHttps vault = new VaultHttps(home, settings)) {
                runEveryInteraction(vault, home);
            }
            Map<String, SqlCapture.Statement> statements = new LinkedHashMap<>();
            for (SqlCapture.Statement s : SqlCapture.CAPTURED) {
                statements.putIfAbsent(s.sql().replaceAll("\\s+", " ").strip(), s);
            }
            SqlCapture.CAPTURED.clear();
            assertThat(statements).as("statements recorded").hasSizeGreaterThan(30);
            assertThat(statements.keySet()).as("both detection rules' counts recorded")
                    .anyMatch(sql -> sql.contains("count(distinct patient_token)")).anyMatch(sql -> sql.contains("and outcome = 4 order by"))
                    .anyMatch(sql -> sql.contains("and seq > ? order by seq limit 100")); // the alert outbox

            DriverManagerDataSource db = new DriverManagerDataSource(url, IndexDatabases.POSTGRES_USER, "");
            try (Connection c = db.getConnection()) {
                // What autovacuum would have left (it is off here): tables never analyzed are found and analyzed.
                assertThat(neverAnalyzed(c)).as("tables never analyzed after the small run").contains("resource_current", "audit_event");
                // Statistics gathered when the index held a tenth of what it will: stale, as between two analyses.
                grow(c, 1, CLONES / 10);
                IndexMaintenance.analyzeAll(db);
                Object earlierAnalysis = lastAnalyzed(c, "search_token");
                long resources = grow(c, CLONES / 10 + 1, CLONES);
                assertThat(resources).isGreaterThanOrEqualTo(50_000);

                List<String> stale = violations(c, statements);
                assertThat(stale).as("plans on stale statistics").isEmpty();

                // The vault's own check finds the grown tables (PostgreSQL publishes its change counts within a second or so).
                long deadline = System.nanoTime() + 20_000_000_000L;
                while (earlierAnalysis.equals(lastAnalyzed(c, "search_token")) && System.nanoTime() < deadline) {
                    Thread.sleep(500);
                    IndexMaintenance.start(db).close();
                }
                assertThat(lastAnalyzed(c, "search_token")).as("the vault's check analyzed the grown tables").isNotEqualTo(earlierAnalysis);
                List<String> fresh = violations(c, statements);
                assertThat(fresh).as("plans on fresh statistics").isEmpty();
            }
        } finally {
            try (Connection admin = DriverManager.getConnection(IndexDatabases.POSTGRES_URL, IndexDatabases.POSTGRES_USER, "")) {
                admin.createStatement().execute("drop schema if exists " + schema + " cascade");
            }
        }
    }

    /** The FHIR interactions whose queries must scale, on three patients' records. */
    private static void runEveryInteraction(VaultHttps vault, Path home) throws Exception {
        String token = BackupRestoreTest.practitioner(home);
        for (int p = 0; p < 3; p++) {
            String patient = "plan-p" + p;
            ok(vault.send("PUT", "/fhir/Patient/" + patient, token, "{\"resourceType\":\"Patient\",\"id\":\"" + patient
                    + "\",\"identifier\":[{\"system\":\"urn:plan\",\"value\":\"" + patient + "\"}],\"name\":[{\"family\":\"Plan\"}]}"));
            StringBuilder bundle = new StringBuilder("{\"resourceType\":\"Bundle\",\"type\":\"transaction\",\"entry\":[");
            for (int o = 0; o < 6; o++) {
                bundle.append(o == 0 ? "" : ",").append("{\"fullUrl\":\"urn:uuid:").append(UUID.randomUUID())
                        .append("\",\"resource\":{\"resourceType\":\"Observation\",\"status\":\"final\",\"code\":{\"coding\":[{\"system\":"
                                + "\"http://loinc.org\",\"code\":\"").append(o % 2 == 0 ? "8867-4" : "8310-5")
                        .append("\"}]},\"subject\":{\"reference\":\"Patient/").append(patient)
                        .append("\"}},\"request\":{\"method\":\"POST\",\"url\":\"Observation\"}}");
            }
            bundle.append(",{\"fullUrl\":\"urn:uuid:").append(UUID.randomUUID()).append("\",\"resource\":{\"resourceType\":\"Condition\","
                    + "\"subject\":{\"reference\":\"Patient/").append(patient).append("\"}},\"request\":{\"method\":\"POST\",\"url\":\"Condition\"}}]}");
            ok(vault.send("POST", "/fhir", token, bundle.toString()));
            ok(vault.send("PUT", "/fhir/Observation/" + patient + "-o", token, AccessControlTest.observation(patient + "-o", patient)));
        }
        String obs = "/fhir/Observation/plan-p0-o";
        ok(vault.send("PUT", obs, token, AccessControlTest.observation("plan-p0-o", "plan-p0").replace("final", "amended")));
        ok(vault.send("DELETE", "/fhir/Observation/plan-p1-o", token, null));
        ok(vault.send("POST", "/fhir/Patient", token, "{\"resourceType\":\"Patient\"}", "If-None-Exist", "identifier=urn:plan|plan-p2"));
        String since = Instant.now().minusSeconds(3600).toString();
        for (String query : List.of(obs, obs + "/_history/1", obs + "/_history", "/fhir/Observation/_history?_since=" + since,
                "/fhir/Observation/_history?_at=" + since, obs + "/_history?_since=" + since, "/fhir/Patient/plan-p0",
                "/fhir/Observation?patient=plan-p0", "/fhir/Observation?subject=Patient/plan-p1", "/fhir/Observation?patient=plan-p0"
                        + "&code=http://loinc.org|8867-4", "/fhir/Observation?code=8310-5&patient=plan-p2",
                "/fhir/Observation?_id=plan-p0-o", "/fhir/Observation?_id:not=plan-p0-o&patient=plan-p0",
                "/fhir/Observation?patient:missing=true&_lastUpdated=gt" + since, "/fhir/Observation?_lastUpdated=lt" + since,
                "/fhir/Observation?patient=plan-p0&_sort=-_lastUpdated", "/fhir/Patient?identifier=urn:plan|plan-p1",
                "/fhir/Condition?patient=plan-p2", "/fhir/Patient/plan-p0/$everything", "/fhir/Observation?patient=plan-p0&_count=2")) {
            HttpResponse<String> r = vault.get(query.replace("|", "%7C"), token);
            assertThat(r.statusCode()).as(query + ": " + r.body()).isLessThan(300);
            String next = nextLink(r.body());
            if (next != null) {
                ok(vault.get(next.replaceFirst("^https://[^/]+", ""), token));
            }
        }
        assertThat(vault.get("/fhir/Observation/plan-p1-o", token).statusCode()).isEqualTo(410);
        // A patient sees its own compartment only; another patient's record does not exist for it (the refusal is audited).
        String patient = TestTokens.ofVault(home).sign("plan-p0", "patient", "patient/*.rs", "plan-p0");
        ok(vault.get("/fhir/Observation?code=8867-4", patient));
        ok(vault.get("/fhir/Observation/plan-p0-o/_history", patient));
        assertThat(vault.get("/fhir/Observation/plan-p2-o", patient).statusCode()).isEqualTo(404); // not revealed to a patient
        assertThat(vault.get("/fhir/Observation/plan-p1-o", patient).statusCode()).isEqualTo(404);
        String auditor = TestTokens.ofVault(home).sign("aud-plan", "auditor", null, null);
        for (String query : List.of("/fhir/AuditEvent?patient=Patient/plan-p0", "/fhir/AuditEvent?agent=dr-backup",
                "/fhir/AuditEvent?date=ge" + since, "/fhir/AuditEvent?entity=Observation/plan-p0-o", "/fhir/AuditEvent/1",
                "/admin/audit/checkpoints")) {
            ok(vault.get(query, auditor));
        }
        // The practitioner read three patients' records and the patient was refused twice: one alert each, searched by the auditor.
        long deadline = System.nanoTime() + 10_000_000_000L;
        String alerts = "/fhir/AuditEvent?subtype=urn:hds-vault:alert%7C";
        while (!vault.get(alerts, auditor).body().contains("enumeration") || !vault.get(alerts, auditor).body().contains("mass-access")) {
            assertThat(System.nanoTime()).as("both detection rules alerted").isLessThan(deadline);
            Thread.sleep(100);
        }
    }

    private static void ok(HttpResponse<String> r) {
        assertThat(r.statusCode()).as(r.uri() + ": " + r.body()).isLessThan(300);
    }

    private static String nextLink(String bundle) {
        JsonNode links = JSON.readTree(bundle).path("link");
        for (JsonNode link : links) {
            if ("next".equals(link.path("relation").asString())) {
                return link.path("url").asString();
            }
        }
        return null;
    }

    private static List<String> neverAnalyzed(Connection c) throws Exception {
        List<String> tables = new ArrayList<>();
        try (ResultSet rs = c.createStatement().executeQuery("select relname from pg_stat_user_tables where schemaname = "
                + "current_schema() and last_analyze is null and last_autoanalyze is null")) {
            while (rs.next()) {
                tables.add(rs.getString(1));
            }
        }
        return tables;
    }

    private static Object lastAnalyzed(Connection c, String table) throws Exception {
        try (PreparedStatement s = c.prepareStatement("select last_analyze from pg_stat_user_tables where schemaname = "
                + "current_schema() and relname = ?")) {
            s.setString(1, table);
            try (ResultSet rs = s.executeQuery()) {
                return rs.next() ? rs.getObject(1) : null;
            }
        }
    }

    /**
     * Clones the small vault's resources, versions, tokens, keys and audit events, clones
     * {@code from} to {@code to}: clone g has its own ids, compartments and per-patient tokens
     * (references, identifiers); tokens that many resources share (codes) stay shared. Returns
     * the current resources.
     */
    private static long grow(Connection c, int from, int to) throws Exception {
        // "-clone": never inside a UUID (hex), so originals whose random id holds "-c" are not taken for clones.
        String suffix = "'-clone' || g";
        String original = " where resource_id not like '%-clone%'";
        String clones = ", generate_series(" + from + ", " + to + ") g";
        String compartment = "case when compartment like 'Patient/%' then compartment || " + suffix + " else compartment end";
        try (var s = c.createStatement()) {
            s.execute("create temporary table if not exists shared_token as select tenant, resource_type, param, token from search_token "
                    + "group by tenant, resource_type, param, token having count(distinct resource_id) > 8");
            s.execute("insert into resource_current select tenant, resource_type, resource_id || " + suffix + ", version_id, deleted, "
                    + "last_updated - g * interval '1 second', " + compartment + " from resource_current" + clones + original);
            s.execute("insert into resource_version (tenant, resource_type, resource_id, version_id, object_key, deleted, last_updated, "
                    + "compartment) select tenant, resource_type, resource_id || " + suffix + ", version_id, object_key, deleted, "
                    + "last_updated - g * interval '1 second', " + compartment + " from resource_version" + clones + original);
            s.execute("insert into search_token select t.tenant, t.resource_type, t.resource_id || " + suffix + ", t.param, "
                    + "case when exists (select 1 from shared_token x where x.tenant = t.tenant and x.resource_type = t.resource_type "
                    + "and x.param = t.param and x.token = t.token) then t.token else encode(sha256((t.token || g)::bytea), 'hex') end "
                    + "from search_token t" + clones + " where t.resource_id not like '%-clone%'");
            s.execute("insert into compartment_kek select tenant, compartment || " + suffix + ", md5(kek_id || g) from compartment_kek"
                    + clones + " where compartment like 'Patient/%' and compartment not like '%-clone%'");
            s.execute("insert into kek_registry select md5(r.kek_id || g), r.version, r.root_key_version, r.wrapped_key, r.created_at, "
                    + "r.destroyed_at from kek_registry r join compartment_kek k on k.kek_id = r.kek_id and k.compartment like 'Patient/%' "
                    + "and k.compartment not like '%-clone%'" + clones);
            // Audit events: a twentieth as many clones (each request records one or more).
            s.execute("insert into audit_event select (select max(seq) from audit_event) + row_number() over (), recorded_at - g * "
                    + "interval '1 second', action, outcome, subtype, agent_token, case when patient_token is null then null else "
                    + "encode(sha256((patient_token || g)::bytea), 'hex') end, case when entity_token is null then null else "
                    + "encode(sha256((entity_token || g)::bytea), 'hex') end, envelope, leaf_hash from audit_event, generate_series("
                    + (from + 19) / 20 + ", " + to / 20 + ") g where seq <= (select min(seq) + 500 from audit_event)");
            try (ResultSet rs = s.executeQuery("select count(*) from resource_current")) {
                rs.next();
                return rs.getLong(1);
            }
        }
    }

    /** Each recorded statement, explained and run (then rolled back) with its parameters; what its plan does wrong. */
    private static List<String> violations(Connection c, Map<String, SqlCapture.Statement> statements) throws Exception {
        List<String> problems = new ArrayList<>();
        c.setAutoCommit(false);
        try {
            for (SqlCapture.Statement s : statements.values()) {
                String sql = s.sql().strip();
                String lower = sql.toLowerCase(Locale.ROOT);
                if (!(lower.startsWith("select") || lower.startsWith("with") || lower.startsWith("update") || lower.startsWith("delete"))
                        || lower.contains("pg_stat") || lower.contains("flyway") || readsWholeTableByDesign(lower)) {
                    continue;
                }
                JsonNode plan;
                try (PreparedStatement explain = c.prepareStatement("explain (analyze, format json) " + sql)) {
                    for (int i = 0; i < s.parameters().size(); i++) {
                        explain.setObject(i + 1, s.parameters().get(i));
                    }
                    try (ResultSet rs = explain.executeQuery()) {
                        rs.next();
                        plan = JSON.readTree(rs.getString(1)).get(0).get("Plan");
                    }
                } finally {
                    c.rollback();
                }
                long[] filtered = new long[1];
                List<String> scans = new ArrayList<>();
                walk(plan, filtered, scans);
                for (String table : List.copyOf(scans)) {
                    if (rows(c, table) < 1_000) { // a few checkpoints or keys: read whole, whatever the plan
                        scans.remove(table);
                    }
                }
                // A search with only negative clauses (:not, :missing=true) and no positive one examines every resource of
                // its type (in its _lastUpdated range) by nature: through an index, one probe each, but all of them.
                boolean onlyNegative = lower.contains("not exists (select 1 from search_token") && !lower.contains("from search_token d");
                if (!scans.isEmpty() || filtered[0] > MAX_ROWS_FILTERED && !onlyNegative) {
                    problems.add(sql + "\n  scans " + scans + ", rows filtered out " + filtered[0] + "\n  " + plan);
                }
            }
        } finally {
            c.setAutoCommit(true);
        }
        return problems;
    }

    private static long rows(Connection c, String table) throws Exception {
        try (ResultSet rs = c.createStatement().executeQuery("select count(*) from " + table)) {
            rs.next();
            return rs.getLong(1);
        }
    }

    /**
     * Statements that read a whole table on purpose: the audit tree is rebuilt from every leaf
     * at start-up, and locks, drills and checkpoint copies are small tables read whole.
     */
    private static boolean readsWholeTableByDesign(String sql) {
        return sql.startsWith("select leaf_hash from audit_event where seq >= ? order by seq")
                || sql.contains("from vault_lock") || sql.contains("from restore_drill") || sql.contains("from audit_prune");
    }

    private static void walk(JsonNode node, long[] filtered, List<String> scans) {
        long loops = Math.max(1, node.path("Actual Loops").asLong(1));
        filtered[0] += (node.path("Rows Removed by Filter").asLong(0) + node.path("Rows Removed by Join Filter").asLong(0)) * loops;
        String relation = node.path("Relation Name").asString("");
        if ("Seq Scan".equals(node.path("Node Type").asString("")) && VAULT_TABLES.contains(relation)) {
            scans.add(relation);
        }
        for (JsonNode child : node.path("Plans")) {
            walk(child, filtered, scans);
        }
    }
}
