package fr.hdsvault.api;

import static org.assertj.core.api.Assertions.assertThat;

import ca.uhn.fhir.context.FhirContext;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import org.hl7.fhir.r4.model.OperationOutcome;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.jdbc.core.JdbcTemplate;

/**
 * Well over a hundred malformed or hostile requests (bodies, ids, headers, queries, bundles,
 * methods), sent byte for byte over TLS so that no client library refuses or repairs them. Each
 * carries a unique marker. Every one is answered 4xx, never 5xx, with a FHIR OperationOutcome and
 * the security headers; none stores anything; and no marker reaches any log line, with the
 * vault's own loggers at DEBUG.
 */
@ExtendWith(OutputCaptureExtension.class)
class HostileInputTest {

    static final FhirContext FHIR = FhirContext.forR4Cached();
    static final int MAX_BODY = 64 * 1024;

    @TempDir
    static Path dir;
    static VaultHttps vault;
    static String practitioner;
    static String auditor;
    static String existing;

    /** One request: what it is, and its bytes (the marker is inside them). */
    record Hostile(String what, String marker, String request) {
    }

    @BeforeAll
    static void start() throws Exception {
        vault = new VaultHttps(dir.resolve("vault"), Map.of("vault.max-request-bytes", MAX_BODY, "logging.level.fr.hdsvault", "DEBUG",
                "vault.security.refusal-limit.per-second", "0"));
        TestTokens tokens = TestTokens.ofVault(vault.dataDir);
        practitioner = tokens.sign("dr-hostile", "practitioner", "user/*.cruds", null);
        auditor = tokens.sign("audit-hostile", "auditor", null, null);
        var r = vault.send("POST", "/fhir/Patient", practitioner, "{\"resourceType\":\"Patient\"}");
        existing = FHIR.newJsonParser().parseResource(r.body()).getIdElement().getIdPart();
    }

    @AfterAll
    static void stop() {
        vault.close();
    }

    private static final SecureRandom RANDOM = new SecureRandom();

    static String marker(int n) {
        byte[] b = new byte[4];
        RANDOM.nextBytes(b);
        return "Mk" + n + "Qz" + HexFormat.of().formatHex(b);
    }

    static String request(String method, String target, String token, String contentType, String body, String... headers) {
        StringBuilder r = new StringBuilder(method).append(' ').append(target).append(" HTTP/1.1\r\nHost: localhost\r\n");
        if (token != null) {
            r.append("Authorization: Bearer ").append(token).append("\r\n");
        }
        for (String h : headers) {
            r.append(h).append("\r\n");
        }
        byte[] bytes = body == null ? new byte[0] : body.getBytes(StandardCharsets.UTF_8);
        if (body != null) {
            r.append("Content-Type: ").append(contentType).append("\r\nContent-Length: ").append(bytes.length).append("\r\n");
        }
        r.append("Connection: close\r\n\r\n");
        return r + (body == null ? "" : new String(bytes, StandardCharsets.ISO_8859_1));
    }

    static String json(String method, String target, String body, String... headers) {
        return request(method, target, practitioner, "application/fhir+json", body, headers);
    }

    static String get(String target, String... headers) {
        return request("GET", target, practitioner, null, null, headers);
    }

    static String transaction(String entries) {
        return "{\"resourceType\":\"Bundle\",\"type\":\"transaction\",\"entry\":[" + entries + "]}";
    }

    static List<Hostile> corpus() {
        List<Hostile> all = new ArrayList<>();
        java.util.function.BiConsumer<String, java.util.function.Function<String, String>> add = (what, build) -> {
            String m = marker(all.size());
            all.add(new Hostile(what, m, build.apply(m)));
        };
        // Bodies
        add.accept("truncated JSON", m -> json("POST", "/fhir/Patient", "{\"resourceType\":\"Patient\",\"name\":[{\"family\":\"" + m));
        add.accept("JSON array", m -> json("POST", "/fhir/Patient", "[\"" + m + "\"]"));
        add.accept("JSON string", m -> json("POST", "/fhir/Patient", "\"" + m + "\""));
        add.accept("not JSON", m -> json("POST", "/fhir/Patient", m + " = yes"));
        add.accept("empty body", m -> json("POST", "/fhir/Patient?marker=" + m, ""));
        add.accept("no resourceType", m -> json("POST", "/fhir/Patient", "{\"name\":[{\"family\":\"" + m + "\"}]}"));
        add.accept("unknown resourceType", m -> json("POST", "/fhir/Patient", "{\"resourceType\":\"" + m + "\"}"));
        add.accept("another type than the URL", m -> json("POST", "/fhir/Patient", "{\"resourceType\":\"Observation\",\"status\":\"final\","
                + "\"code\":{\"text\":\"" + m + "\"}}"));
        add.accept("unknown element", m -> json("POST", "/fhir/Patient", "{\"resourceType\":\"Patient\",\"" + m + "\":1}"));
        add.accept("unknown nested element", m -> json("POST", "/fhir/Patient", "{\"resourceType\":\"Patient\",\"name\":[{\"" + m
                + "\":\"x\"}]}"));
        add.accept("invalid date", m -> json("POST", "/fhir/Patient", "{\"resourceType\":\"Patient\",\"birthDate\":\"" + m + "\"}"));
        add.accept("invalid dateTime", m -> json("POST", "/fhir/Observation", "{\"resourceType\":\"Observation\",\"status\":\"final\","
                + "\"code\":{\"text\":\"x\"},\"effectiveDateTime\":\"" + m + "\"}"));
        add.accept("invalid code", m -> json("POST", "/fhir/Patient", "{\"resourceType\":\"Patient\",\"gender\":\"" + m + "\"}"));
        add.accept("invalid boolean", m -> json("POST", "/fhir/Patient", "{\"resourceType\":\"Patient\",\"active\":\"" + m + "\"}"));
        add.accept("invalid integer", m -> json("POST", "/fhir/Patient", "{\"resourceType\":\"Patient\",\"multipleBirthInteger\":\"" + m
                + "\"}"));
        add.accept("huge number", m -> json("POST", "/fhir/Patient?m=" + m, "{\"resourceType\":\"Patient\",\"multipleBirthInteger\":"
                + "1" + "0".repeat(400) + "}"));
        add.accept("invalid decimal", m -> json("POST", "/fhir/Observation", "{\"resourceType\":\"Observation\",\"status\":\"final\","
                + "\"code\":{\"text\":\"x\"},\"valueQuantity\":{\"value\":\"" + m + "\"}}"));
        add.accept("object where a list belongs", m -> json("POST", "/fhir/Patient", "{\"resourceType\":\"Patient\",\"name\":{\"family\":\""
                + m + "\"}}"));
        add.accept("deep nesting", m -> json("POST", "/fhir/Patient?m=" + m, "{\"resourceType\":\"Patient\",\"extension\":"
                + "[".repeat(3000) + "]".repeat(3000) + "}"));
        add.accept("duplicate property", m -> json("POST", "/fhir/Patient", "{\"resourceType\":\"Patient\",\"gender\":\"male\","
                + "\"gender\":\"" + m + "\"}"));
        add.accept("oversized body", m -> json("POST", "/fhir/Patient", "{\"resourceType\":\"Patient\",\"name\":[{\"family\":\"" + m
                + "x".repeat(MAX_BODY) + "\"}]}"));
        add.accept("oversized declared length", m -> request("POST", "/fhir/Patient?m=" + m, practitioner, "application/fhir+json", null,
                "Content-Type: application/fhir+json", "Content-Length: 999999999"));
        add.accept("plain text body", m -> request("POST", "/fhir/Patient", practitioner, "text/plain", m));
        add.accept("form body", m -> request("POST", "/fhir/Patient", practitioner, "application/x-www-form-urlencoded", "a=" + m));
        add.accept("malformed XML", m -> request("POST", "/fhir/Patient", practitioner, "application/fhir+xml",
                "<Patient xmlns=\"http://hl7.org/fhir\"><name><family value=\"" + m + "\"></Patient>"));
        add.accept("XML external entity", m -> request("POST", "/fhir/Patient", practitioner, "application/fhir+xml",
                "<?xml version=\"1.0\"?><!DOCTYPE p [<!ENTITY e SYSTEM \"file:///etc/hostname\">]><Patient xmlns=\"http://hl7.org/fhir\">"
                        + "<name><family value=\"&e;" + m + "\"/></name></Patient>"));
        add.accept("XML of another namespace", m -> request("POST", "/fhir/Patient", practitioner, "application/fhir+xml",
                "<Patient xmlns=\"urn:" + m + "\"/>"));
        add.accept("XML unknown element", m -> request("POST", "/fhir/Patient", practitioner, "application/fhir+xml",
                "<Patient xmlns=\"http://hl7.org/fhir\"><" + m + " value=\"1\"/></Patient>"));
        add.accept("update id mismatch", m -> json("PUT", "/fhir/Patient/" + existing, "{\"resourceType\":\"Patient\",\"id\":\"" + m + "\"}"));
        add.accept("update without id in body", m -> json("PUT", "/fhir/Patient/" + m, "{\"resourceType\":\"Patient\"}"));
        add.accept("update of another type", m -> json("PUT", "/fhir/Patient/" + m, "{\"resourceType\":\"Observation\",\"id\":\"" + m
                + "\",\"status\":\"final\",\"code\":{\"text\":\"x\"}}"));
        add.accept("update with an invalid id", m -> json("PUT", "/fhir/Patient/" + m + "%21", "{\"resourceType\":\"Patient\",\"id\":\""
                + m + "!\"}"));
        add.accept("update with a stale If-Match", m -> json("PUT", "/fhir/Patient/" + existing, "{\"resourceType\":\"Patient\",\"id\":\""
                + existing + "\",\"name\":[{\"family\":\"" + m + "\"}]}", "If-Match: W/\"99\""));
        add.accept("update with a malformed If-Match", m -> json("PUT", "/fhir/Patient/" + existing, "{\"resourceType\":\"Patient\",\"id\":\""
                + existing + "\"}", "If-Match: " + m));
        add.accept("AuditEvent written by a client", m -> json("POST", "/fhir/AuditEvent", "{\"resourceType\":\"AuditEvent\",\"outcomeDesc\":\""
                + m + "\"}"));
        add.accept("create into another patient's compartment by a patient", m -> request("POST", "/fhir/Observation",
                patientToken(), "application/fhir+json", "{\"resourceType\":\"Observation\",\"status\":\"final\",\"code\":{\"text\":\""
                        + m + "\"},\"subject\":{\"reference\":\"Patient/" + existing + "\"}}"));
        add.accept("malformed If-None-Exist", m -> json("POST", "/fhir/Patient", "{\"resourceType\":\"Patient\"}",
                "If-None-Exist: identifier=%zz" + m));
        add.accept("unsupported If-None-Exist criteria", m -> json("POST", "/fhir/Patient", "{\"resourceType\":\"Patient\"}",
                "If-None-Exist: name=" + m));
        add.accept("empty If-None-Exist", m -> json("POST", "/fhir/Patient?m=" + m, "{\"resourceType\":\"Patient\"}", "If-None-Exist: "));
        // Bundles
        add.accept("bundle of type document", m -> json("POST", "/fhir", "{\"resourceType\":\"Bundle\",\"type\":\"document\",\"id\":\""
                + m + "\"}"));
        add.accept("bundle without type", m -> json("POST", "/fhir", "{\"resourceType\":\"Bundle\",\"id\":\"" + m + "\"}"));
        add.accept("not a bundle at the base", m -> json("POST", "/fhir", "{\"resourceType\":\"Patient\",\"id\":\"" + m + "\"}"));
        add.accept("entry without request", m -> json("POST", "/fhir", transaction("{\"resource\":{\"resourceType\":\"Patient\",\"id\":\""
                + m + "\"}}")));
        add.accept("entry of an unknown type", m -> json("POST", "/fhir", transaction("{\"resource\":{\"resourceType\":\"Patient\"},"
                + "\"request\":{\"method\":\"POST\",\"url\":\"" + m + "\"}}")));
        add.accept("entry type differs from its URL", m -> json("POST", "/fhir", transaction("{\"resource\":{\"resourceType\":\"Patient\","
                + "\"id\":\"" + m + "\"},\"request\":{\"method\":\"POST\",\"url\":\"Observation\"}}")));
        add.accept("entry PUT id differs", m -> json("POST", "/fhir", transaction("{\"resource\":{\"resourceType\":\"Patient\",\"id\":\""
                + m + "\"},\"request\":{\"method\":\"PUT\",\"url\":\"Patient/other\"}}")));
        add.accept("entry PATCH", m -> json("POST", "/fhir", transaction("{\"resource\":{\"resourceType\":\"Patient\",\"id\":\"" + m
                + "\"},\"request\":{\"method\":\"PATCH\",\"url\":\"Patient/" + m + "\"}}")));
        add.accept("entry with a conditional URL", m -> json("POST", "/fhir", transaction("{\"resource\":{\"resourceType\":\"Patient\"},"
                + "\"request\":{\"method\":\"PUT\",\"url\":\"Patient?identifier=" + m + "\"}}")));
        add.accept("entry with If-None-Exist", m -> json("POST", "/fhir", transaction("{\"resource\":{\"resourceType\":\"Patient\"},"
                + "\"request\":{\"method\":\"POST\",\"url\":\"Patient\",\"ifNoneExist\":\"identifier=" + m + "\"}}")));
        add.accept("entry with an invalid id", m -> json("POST", "/fhir", transaction("{\"resource\":{\"resourceType\":\"Patient\",\"id\":\""
                + m + "!\"},\"request\":{\"method\":\"PUT\",\"url\":\"Patient/" + m + "!\"}}")));
        add.accept("entry with a path", m -> json("POST", "/fhir", transaction("{\"resource\":{\"resourceType\":\"Patient\"},"
                + "\"request\":{\"method\":\"POST\",\"url\":\"Patient/../" + m + "\"}}")));
        add.accept("unresolved urn:uuid", m -> json("POST", "/fhir", transaction("{\"resource\":{\"resourceType\":\"Observation\","
                + "\"status\":\"final\",\"code\":{\"text\":\"x\"},\"subject\":{\"reference\":\"urn:uuid:" + m + "\"}},\"request\":"
                + "{\"method\":\"POST\",\"url\":\"Observation\"}}")));
        add.accept("duplicate fullUrl", m -> json("POST", "/fhir", transaction("{\"fullUrl\":\"urn:uuid:" + m + "\",\"resource\":"
                + "{\"resourceType\":\"Patient\"},\"request\":{\"method\":\"POST\",\"url\":\"Patient\"}},{\"fullUrl\":\"urn:uuid:" + m
                + "\",\"resource\":{\"resourceType\":\"Patient\"},\"request\":{\"method\":\"POST\",\"url\":\"Patient\"}}")));
        add.accept("the same resource twice", m -> json("POST", "/fhir", transaction("{\"resource\":{\"resourceType\":\"Patient\",\"id\":\""
                + m + "\"},\"request\":{\"method\":\"PUT\",\"url\":\"Patient/" + m + "\"}},{\"resource\":{\"resourceType\":\"Patient\","
                + "\"id\":\"" + m + "\"},\"request\":{\"method\":\"PUT\",\"url\":\"Patient/" + m + "\"}}")));
        add.accept("conditional reference matching nothing", m -> json("POST", "/fhir", transaction("{\"resource\":{\"resourceType\":"
                + "\"Observation\",\"status\":\"final\",\"code\":{\"text\":\"x\"},\"subject\":{\"reference\":\"Patient?identifier=urn:x|"
                + m + "\"}},\"request\":{\"method\":\"POST\",\"url\":\"Observation\"}}")));
        add.accept("conditional reference on an unsupported parameter", m -> json("POST", "/fhir", transaction("{\"resource\":"
                + "{\"resourceType\":\"Observation\",\"status\":\"final\",\"code\":{\"text\":\"x\"},\"subject\":{\"reference\":"
                + "\"Patient?name=" + m + "\"}},\"request\":{\"method\":\"POST\",\"url\":\"Observation\"}}")));
        add.accept("a valid entry then a bad one", m -> json("POST", "/fhir", transaction("{\"resource\":{\"resourceType\":\"Patient\"},"
                + "\"request\":{\"method\":\"POST\",\"url\":\"Patient\"}},{\"resource\":{\"resourceType\":\"Patient\",\"birthDate\":\"" + m
                + "\"},\"request\":{\"method\":\"POST\",\"url\":\"Patient\"}}")));
        add.accept("a valid entry then a forbidden one", m -> request("POST", "/fhir", patientToken(), "application/fhir+json",
                transaction("{\"resource\":{\"resourceType\":\"Observation\",\"status\":\"final\",\"code\":{\"text\":\"" + m + "\"},"
                        + "\"subject\":{\"reference\":\"Patient/" + existing + "\"}},\"request\":{\"method\":\"POST\",\"url\":\"Observation\"}}")));
        // Ids and paths
        add.accept("id with an invalid character", m -> get("/fhir/Patient/" + m + "%21"));
        add.accept("id of 65 characters", m -> get("/fhir/Patient/" + m + "a".repeat(65)));
        add.accept("id of 10000 characters", m -> get("/fhir/Patient/" + m + "a".repeat(10_000)));
        add.accept("encoded ../", m -> get("/fhir/Patient/%2e%2e%2f" + m));
        add.accept("encoded slash", m -> get("/fhir/Patient/" + m + "%2F" + m));
        add.accept("NUL byte", m -> get("/fhir/Patient/%00" + m));
        add.accept("backslash", m -> get("/fhir/Patient/%5C" + m));
        add.accept("raw ../", m -> get("/fhir/../admin/" + m));
        add.accept("non-ASCII id", m -> get("/fhir/Patient/%C3%A9" + m));
        add.accept("broken UTF-8 in the path", m -> get("/fhir/Patient/%C3" + m));
        add.accept("unknown resource type", m -> get("/fhir/" + m));
        add.accept("unknown resource type with id", m -> get("/fhir/" + m + "/1"));
        add.accept("non-numeric version", m -> get("/fhir/Patient/" + existing + "/_history/" + m));
        add.accept("unknown version", m -> get("/fhir/Patient/" + existing + "/_history/99?m=" + m));
        add.accept("unknown operation", m -> get("/fhir/Patient/" + existing + "/$" + m));
        add.accept("unknown system operation", m -> json("POST", "/fhir/$" + m, "{\"resourceType\":\"Parameters\"}"));
        add.accept("unknown id", m -> get("/fhir/Patient/" + m));
        add.accept("everything of an unknown patient", m -> get("/fhir/Patient/" + m + "/$everything"));
        add.accept("history of an unknown resource", m -> get("/fhir/Patient/" + m + "/_history"));
        add.accept("request line with spaces", m -> "GET /fhir/Patient/" + m + " x HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
        add.accept("HTTP/0.9 style line", m -> "GET /fhir/" + m + "\r\n\r\n");
        add.accept("unknown HTTP version", m -> "GET /fhir/Patient/" + m + " HTTP/9.9\r\nHost: localhost\r\nConnection: close\r\n\r\n");
        add.accept("unknown method", m -> request("FROB", "/fhir/Patient/" + m, practitioner, null, null));
        add.accept("TRACE", m -> request("TRACE", "/fhir/Patient/" + m, practitioner, null, null));
        add.accept("PATCH", m -> json("PATCH", "/fhir/Patient/" + existing, "[{\"op\":\"replace\",\"path\":\"/gender\",\"value\":\"" + m
                + "\"}]"));
        add.accept("conditional delete", m -> request("DELETE", "/fhir/Patient?identifier=" + m, practitioner, null, null));
        add.accept("delete of the type", m -> request("DELETE", "/fhir/Patient?m=" + m, practitioner, null, null));
        add.accept("conditional update", m -> json("PUT", "/fhir/Patient?identifier=" + m, "{\"resourceType\":\"Patient\"}"));
        add.accept("delete of an invalid id", m -> request("DELETE", "/fhir/Patient/" + m + "%21", practitioner, null, null));
        add.accept("delete of an unknown id", m -> request("DELETE", "/fhir/Patient/" + m, practitioner, null, null));
        add.accept("admin path with a bad parameter", m -> request("GET", "/admin/audit/proof/inclusion?index=" + m + "&treeSize=1",
                auditor, null, null));
        add.accept("admin path out of range", m -> request("GET", "/admin/audit/proof/inclusion?index=0&treeSize=999999&m=" + m,
                auditor, null, null));
        add.accept("unknown admin path", m -> request("GET", "/admin/" + m, auditor, null, null));
        add.accept("unknown path", m -> get("/" + m));
        // Headers
        add.accept("64 KiB header", m -> get("/fhir/Patient/" + existing, "X-Big: " + m + "a".repeat(64 * 1024)));
        add.accept("2000 headers", m -> {
            String[] many = new String[2000];
            for (int i = 0; i < many.length; i++) {
                many[i] = "X-H" + i + ": " + m;
            }
            return get("/fhir/Patient/" + existing, many);
        });
        add.accept("header without a colon", m -> get("/fhir/Patient/" + existing, "X-Broken " + m));
        add.accept("header with a control character", m -> get("/fhir/Patient/" + existing, "X-Ctl: a\u0001" + m));
        add.accept("bad token", m -> request("GET", "/fhir/Patient/" + existing, m + "." + m + "." + m, null, null));
        add.accept("basic credentials", m -> request("GET", "/fhir/Patient/" + existing, null, null, null, "Authorization: Basic " + m));
        add.accept("two bearer tokens", m -> request("GET", "/fhir/Patient/" + existing, practitioner, null, null,
                "Authorization: Bearer " + m));
        add.accept("no token", m -> request("GET", "/fhir/Patient/" + existing + "?m=" + m, null, null, null));
        add.accept("break-glass while disabled", m -> get("/fhir/Patient/" + existing, "X-Break-Glass-Reason: " + m));
        add.accept("forwarded for an unknown id", m -> get("/fhir/Patient/" + m, "X-Forwarded-For: " + m, "X-Forwarded-Host: " + m));
        add.accept("unparsable If-Modified-Since on an unknown id", m -> get("/fhir/Patient/" + m, "If-Modified-Since: " + m));
        add.accept("unparsable If-None-Match on an unknown id", m -> get("/fhir/Patient/" + m, "If-None-Match: " + m));
        add.accept("negative Content-Length", m -> request("POST", "/fhir/Patient?m=" + m, practitioner, null, null,
                "Content-Type: application/fhir+json", "Content-Length: -5"));
        add.accept("two Content-Lengths", m -> request("POST", "/fhir/Patient?m=" + m, practitioner, null, null,
                "Content-Type: application/fhir+json", "Content-Length: 2", "Content-Length: 3") + "{}");
        add.accept("bad chunked body", m -> request("POST", "/fhir/Patient?m=" + m, practitioner, null, null,
                "Content-Type: application/fhir+json", "Transfer-Encoding: chunked") + "zz\r\n" + m + "\r\n0\r\n\r\n");
        add.accept("unsupported Accept on an unknown id", m -> get("/fhir/Patient/" + m, "Accept: application/" + m));
        add.accept("unknown _format", m -> get("/fhir/Patient/" + m + "?_format=" + m));
        // Queries
        for (String q : List.of("%s=1", "_tag:text=%s", "_security:below=%s", "_profile:below=%s", "gender:text=%s", "gender=",
                "_has:Observation:patient:code=%s", "_text=%s",
                "_content=%s", "_list=%s", "_filter=%s", "_source=%s", "_language=%s", "_query=%s", "_type=%s", "_include=%s",
                "_revinclude=%s", "name:contains=%s", "name:text=%s", "birthdate=%s", "birthdate:exact=%s", "general-practitioner.name=%s", "_lastUpdated=%s",
                "_lastUpdated=ap2020-%s", "_lastUpdated:missing=%s", "_count=%s", "_count=-1&m=%s", "_sort=%s", "_sort=-%s",
                "_id:%s=1", "_id:text=%s", "identifier:text=%s", "identifier:of-type=%s", "identifier:missing=%s", "identifier=",
                "_total=%s", "_summary=%s", "_contained=%s", "_elements=%s&_text=1", "_getpages=%s", "_at=%s")) {
            add.accept("query " + q, m -> get("/fhir/Patient?" + q.replace("%s", m)));
        }
        for (String q : List.of("patient=%s/1", "subject=%s", "code:identifier=%s", "subject:identifier=", "patient:%s=1", "patient:missing=%s",
                "code:below=%s", "code:in=%s", "code=", "patient.name.family=%s", "patient.%s=1", "_include=Observation:%s",
                "_revinclude=Provenance:%s", "_include=*&m=%s", "_id=%s%%21")) {
            add.accept("observation query " + q, m -> get("/fhir/Observation?" + q.replace("%s", m)));
        }
        for (String c : List.of("{", "}", "\"", "<", ">", "\\", "^", "`", " ")) {
            add.accept("unencoded " + c + " in a query", m -> get("/fhir/Patient?identifier=" + m + c + "x"));
        }
        add.accept("broken percent-encoding in a query", m -> get("/fhir/Patient?identifier=%zz" + m));
        add.accept("history with a bad _since", m -> get("/fhir/Patient/" + existing + "/_history?_since=" + m));
        add.accept("history with a bad _at", m -> get("/fhir/Patient/_history?_at=" + m));
        add.accept("history with an unknown parameter", m -> get("/fhir/Patient/_history?" + m + "=1"));
        add.accept("everything with an unknown parameter", m -> get("/fhir/Patient/" + existing + "/$everything?" + m + "=1"));
        add.accept("read with a search parameter", m -> get("/fhir/Patient/" + existing + "?identifier=" + m));
        add.accept("search by POST with an unknown parameter", m -> request("POST", "/fhir/Patient/_search", practitioner,
                "application/x-www-form-urlencoded", m + "=1"));
        add.accept("audit search with an unknown parameter", m -> request("GET", "/fhir/AuditEvent?" + m + "=1", auditor, null, null));
        add.accept("audit search with a bad outcome", m -> request("GET", "/fhir/AuditEvent?outcome=" + m, auditor, null, null));
        add.accept("audit search with an unsupported modifier", m -> request("GET", "/fhir/AuditEvent?agent:exact=" + m, auditor, null,
                null));
        return all;
    }

    private static String patientToken;

    static String patientToken() {
        if (patientToken == null) {
            try {
                patientToken = TestTokens.ofVault(vault.dataDir).sign("pat-hostile", "patient", "patient/*.rs", "someone-else");
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }
        return patientToken;
    }

    @Test
    void everyHostileRequestIs4xxWithAnOperationOutcomeStoresNothingAndLeavesNoTraceInTheLogs(CapturedOutput log) throws Exception {
        JdbcTemplate jdbc = vault.context.getBean(JdbcTemplate.class);
        long before = jdbc.queryForObject("select count(*) from resource_version", Long.class);
        List<Hostile> corpus = corpus();
        assertThat(corpus).hasSizeGreaterThanOrEqualTo(100);
        List<String> problems = new ArrayList<>();
        for (Hostile h : corpus) {
            VaultHttps.RawResponse r;
            try {
                r = vault.raw(h.request());
            } catch (Exception e) {
                problems.add(h.what() + ": no HTTP answer (" + e + ")");
                continue;
            }
            if (r.status() == -1) { // HTTP/0.9 carries neither status nor headers: the body alone must be the outcome
                if (!r.body().contains("\"resourceType\":\"OperationOutcome\"")) {
                    problems.add(h.what() + ": an HTTP/0.9 answer that is not an OperationOutcome: " + abbreviate(r.body()));
                }
                continue;
            }
            if (r.status() < 400 || r.status() >= 500) {
                problems.add(h.what() + ": HTTP " + r.status() + " " + abbreviate(r.body()));
                continue;
            }
            String contentType = String.valueOf(r.headers().get("content-type"));
            boolean xml = contentType.startsWith("application/fhir+xml"); // the answer of an XML request is XML
            if (!contentType.startsWith("application/fhir+json") && !xml) {
                problems.add(h.what() + ": HTTP " + r.status() + " with " + contentType + " " + abbreviate(r.body()));
                continue;
            }
            try {
                OperationOutcome oo = (xml ? FHIR.newXmlParser() : FHIR.newJsonParser()).parseResource(OperationOutcome.class, r.body());
                if (!oo.hasIssue() || !oo.getIssueFirstRep().hasDiagnostics()) {
                    problems.add(h.what() + ": an OperationOutcome without diagnostics");
                }
            } catch (RuntimeException e) {
                problems.add(h.what() + ": HTTP " + r.status() + ", not an OperationOutcome: " + abbreviate(r.body()));
                continue;
            }
            if (!"nosniff".equals(r.headers().get("x-content-type-options")) || r.headers().get("strict-transport-security") == null) {
                problems.add(h.what() + ": HTTP " + r.status() + " without the security headers");
            }
            if (r.body().contains("java.") || r.body().contains("Exception")) {
                problems.add(h.what() + ": HTTP " + r.status() + " shows Java internals: " + abbreviate(r.body()));
            }
        }
        assertThat(problems).as("requests not answered as they should be").isEmpty();
        assertThat(jdbc.queryForObject("select count(*) from resource_version", Long.class)).as("nothing stored").isEqualTo(before);
        List<String> lines = log.getAll().lines().toList();
        List<String> leaks = new ArrayList<>();
        for (Hostile h : corpus) {
            lines.stream().filter(l -> l.contains(h.marker())).findFirst().ifPresent(l -> leaks.add(h.what() + ": " + abbreviate(l)));
        }
        assertThat(leaks).as("request content found in the log").isEmpty();
    }

    static String abbreviate(String s) {
        return s.length() > 200 ? s.substring(0, 200) + "..." : s;
    }
}
