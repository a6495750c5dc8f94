package fr.hdsvault.api.evidence;

import fr.hdsvault.api.evidence.EvidenceCheck.Kind;
import fr.hdsvault.api.lifecycle.SignedStatement;
import fr.hdsvault.crypto.sign.Ed25519;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The evidence report: every check's outcome, signed by the vault's audit key as a
 * {@link SignedStatement} of type {@value #TYPE} under its own context, so that it cannot pass
 * for a checkpoint, a certificate of destruction or an attestation. Anyone holding the audit
 * public key checks it offline ({@code vault evidence verify}); the SHA-256 of the signed text
 * is recorded in the audit trail, so that a report cannot be made up later either.
 */
public final class EvidenceReport {

    public static final String TYPE = "evidence-report";
    static final String SIGNING_CONTEXT = "hds-vault evidence report v1\n";
    /** The checks only a client can make (from outside, over the network); the vault makes the others. */
    public static final Set<Kind> CLIENT_KINDS = EnumSet.of(Kind.TLS, Kind.ACCESS_CONTROL, Kind.TRACEABILITY);
    private static final int MAX_TEXT = 4_000;

    private EvidenceReport() {
    }

    /** The report's fields, checks in the order of {@link Kind}. */
    static Map<String, Object> fields(String vaultId, String requestedBy, String target, Instant generatedAt, List<EvidenceCheck> checks) {
        List<EvidenceCheck> ordered = new ArrayList<>(checks);
        ordered.sort(java.util.Comparator.comparing(c -> kind(c.id()).ordinal()));
        long passed = ordered.stream().filter(EvidenceCheck::passed).count();
        Map<String, Object> f = new LinkedHashMap<>();
        f.put("type", TYPE);
        f.put("formatVersion", 1);
        f.put("vaultId", vaultId);
        f.put("generatedAt", generatedAt.toString());
        f.put("requestedBy", requestedBy);
        f.put("target", target);
        f.put("passed", passed);
        f.put("failed", ordered.size() - passed);
        f.put("allPassed", passed == ordered.size() && ordered.size() == Kind.values().length);
        f.put("checks", ordered.stream().map(EvidenceReport::fields).toList());
        return f;
    }

    /** A check as the report and the request that carries a client's checks write it. */
    public static Map<String, Object> fields(EvidenceCheck c) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", c.id());
        m.put("requirement", c.requirement());
        m.put("passed", c.passed());
        m.put("result", c.result());
        m.put("method", c.method());
        m.put("observer", c.observer());
        m.put("checkedAt", c.checkedAt().toString());
        m.put("collectedSha256", c.collectedSha256());
        return m;
    }

    static SignedStatement sign(Map<String, Object> fields, Ed25519.SigningKey key) {
        return SignedStatement.sign(SIGNING_CONTEXT, fields, key);
    }

    /**
     * Checks a report file against the audit public key the reader holds.
     * @return its fields
     * @throws IllegalArgumentException when it is not a report signed by that key
     */
    public static Map<String, Object> verify(String file, byte[] auditPublicKey) {
        return SignedStatement.verify(file, SIGNING_CONTEXT, TYPE, auditPublicKey);
    }

    /**
     * A check the client reports (one of {@link #CLIENT_KINDS}), taken as it says but for its
     * requirement, which the vault names, and its observer, which is the client.
     * @throws IllegalArgumentException for another kind, or a field missing or too long
     */
    static EvidenceCheck fromClient(Map<?, ?> m) {
        Kind kind = kind(text(m, "id"));
        if (!CLIENT_KINDS.contains(kind)) {
            throw new IllegalArgumentException("the " + kind.id + " check is made by the vault, not reported by a client");
        }
        if (!(m.get("passed") instanceof Boolean passed)) {
            throw new IllegalArgumentException("a check's passed must be true or false");
        }
        String sha = text(m, "collectedSha256");
        if (!sha.matches("[0-9a-f]{64}")) {
            throw new IllegalArgumentException("collectedSha256 must be 64 lower-case hex digits");
        }
        return new EvidenceCheck(kind.id, kind.requirement, text(m, "method"), passed, text(m, "result"),
                Instant.parse(text(m, "checkedAt")), sha, EvidenceCheck.CLIENT);
    }

    private static String text(Map<?, ?> m, String field) {
        if (!(m.get(field) instanceof String s) || s.isBlank() || s.length() > MAX_TEXT) {
            throw new IllegalArgumentException("a check's " + field + " must be a text of at most " + MAX_TEXT + " characters");
        }
        return s;
    }

    static Kind kind(String id) {
        for (Kind k : Kind.values()) {
            if (k.id.equals(id)) {
                return k;
            }
        }
        throw new IllegalArgumentException("no evidence check is called " + (id != null && id.matches("[a-z-]{1,40}") ? id : "that"));
    }

    /** The report as a page a person reads (self-contained HTML, every text escaped). */
    @SuppressWarnings("unchecked")
    public static String html(Map<String, Object> fields, String signatureStatus) {
        StringBuilder h = new StringBuilder();
        h.append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>hds-vault evidence report</title>\n")
                .append("<style>body{font-family:sans-serif;margin:2em;max-width:70em}table{border-collapse:collapse;width:100%}")
                .append("td,th{border:1px solid #999;padding:.4em;vertical-align:top;text-align:left}.pass{color:#060}.fail{color:#a00;")
                .append("font-weight:bold}code{font-size:.85em;word-break:break-all}</style></head><body>\n")
                .append("<h1>Evidence report</h1>\n<p>Vault <code>").append(esc(fields.get("vaultId"))).append("</code>, generated ")
                .append(esc(fields.get("generatedAt"))).append(" for ").append(esc(fields.get("requestedBy")));
        if (fields.get("target") != null) {
            h.append(", endpoint ").append(esc(fields.get("target")));
        }
        h.append(".</p>\n<p class=\"").append(Boolean.TRUE.equals(fields.get("allPassed")) ? "pass\">Every" : "fail\">Not every")
                .append(" check passed: ").append(esc(fields.get("passed"))).append(" passed, ").append(esc(fields.get("failed")))
                .append(" failed. ").append(esc(signatureStatus)).append("</p>\n<table><tr><th>Requirement</th><th>Result</th>")
                .append("<th>How it was checked</th><th>When, by whom, SHA-256 of what was collected</th></tr>\n");
        for (Map<String, Object> c : (List<Map<String, Object>>) fields.get("checks")) {
            boolean passed = Boolean.TRUE.equals(c.get("passed"));
            h.append("<tr id=\"").append(esc(c.get("id"))).append("\"><td>").append(esc(c.get("requirement"))).append("</td><td class=\"")
                    .append(passed ? "pass\">PASS" : "fail\">FAIL").append(": ").append(esc(c.get("result"))).append("</td><td>")
                    .append(esc(c.get("method"))).append("</td><td>").append(esc(c.get("checkedAt"))).append(", ").append(esc(c.get("observer")))
                    .append("<br><code>").append(esc(c.get("collectedSha256"))).append("</code></td></tr>\n");
        }
        return h.append("</table>\n</body></html>\n").toString();
    }

    private static String esc(Object o) {
        return org.springframework.web.util.HtmlUtils.htmlEscape(String.valueOf(o));
    }

    /** The SHA-256 of a signed report's text, as the audit trail records it. */
    public static String digest(SignedStatement report) {
        return SignedStatement.sha256(report.statement().getBytes(StandardCharsets.UTF_8));
    }
}
