package fr.hdsvault.api.evidence;

import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import fr.hdsvault.api.evidence.EvidenceCheck.Kind;
import fr.hdsvault.api.security.Role;
import fr.hdsvault.api.security.TokenIssuer;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import javax.net.ssl.SSLContext;

/**
 * The checks {@code vault evidence} makes from outside, over the network, as any client would:
 * what the TLS endpoint accepts, whether each role is refused where it must be (with tokens of
 * the vault's own issuer, a forged one and an expired one), and whether a probe access appears
 * in the audit trail. The probes read only records that do not exist (random ids): no clinical
 * content reaches the command.
 */
public final class ClientChecks {

    private static final Duration TRACE_WITHIN = Duration.ofSeconds(10);

    private final String base;
    private final HttpClient http;
    private final SSLContext trusting;
    private final TokenIssuer issuer;

    /**
     * @param base     the vault's URL as clients reach it
     * @param trusting a client TLS context trusting the vault's CA
     * @param issuer   the vault's token issuer (its data directory's key), to act as each role
     */
    public ClientChecks(String base, SSLContext trusting, TokenIssuer issuer) {
        this.base = base.replaceAll("/+$", "");
        this.trusting = trusting;
        this.http = HttpClient.newBuilder().sslContext(trusting).connectTimeout(Duration.ofSeconds(10)).build();
        this.issuer = issuer;
    }

    public List<EvidenceCheck> run() {
        return List.of(guarded(Kind.TLS, this::tls), guarded(Kind.ACCESS_CONTROL, this::accessControl),
                guarded(Kind.TRACEABILITY, this::traceability));
    }

    private interface Check {
        EvidenceCheck run() throws Exception;
    }

    private static EvidenceCheck guarded(Kind kind, Check check) {
        try {
            return check.run();
        } catch (Exception e) {
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
            }
            String why = e.getClass().getSimpleName() + ": " + e.getMessage();
            return EvidenceCheck.of(kind, "the check could not run", false, "could not run: " + why, why, EvidenceCheck.CLIENT);
        }
    }

    EvidenceCheck tls() throws Exception {
        URI uri = URI.create(base);
        TlsProbe.Result r = new TlsProbe(uri.getHost(), uri.getPort() < 0 ? 443 : uri.getPort(), trusting).probe();
        return EvidenceCheck.of(Kind.TLS, "connected to " + uri.getHost() + ":" + (uri.getPort() < 0 ? 443 : uri.getPort())
                        + " offering each protocol from SSL 3.0 to TLS 1.3 and, under each one accepted, every cipher suite until the "
                        + "server refused; passes when nothing below TLS 1.2 and no TLS 1.2 suite without forward secrecy and "
                        + "authenticated encryption is accepted, and the certificate verifies for the host",
                r.passed(), r.describe(), r.describe(), EvidenceCheck.CLIENT);
    }

    private record Probe(String who, String method, String path, String token, Set<Integer> expected) {
    }

    EvidenceCheck accessControl() throws Exception {
        String me = "evidence-probe-" + UUID.randomUUID().toString().substring(0, 8);
        String patient = "Patient/" + UUID.randomUUID();
        String other = "Patient/" + UUID.randomUUID();
        String practitioner = token(me, Role.PRACTITIONER, null, Duration.ofMinutes(5));
        String auditor = token(me, Role.AUDITOR, null, Duration.ofMinutes(5));
        String operator = token(me, Role.OPERATOR, null, Duration.ofMinutes(5));
        String patientToken = token(me, Role.PATIENT, id(patient), Duration.ofMinutes(5));
        List<Probe> probes = List.of(
                new Probe("no token", "GET", "/fhir/Patient/" + id(other), null, Set.of(401)),
                new Probe("a token signed by another key", "GET", "/fhir/Patient/" + id(other), forged(me), Set.of(401)),
                new Probe("an expired token", "GET", "/fhir/Patient/" + id(other), expired(me), Set.of(401)),
                new Probe("a patient, another patient's record", "GET", "/fhir/Patient/" + id(other), patientToken, Set.of(403, 404)),
                new Probe("a patient, a write", "POST", "/fhir/Patient", patientToken, Set.of(403)),
                new Probe("an auditor, a clinical record", "GET", "/fhir/Patient/" + id(other), auditor, Set.of(403)),
                new Probe("an operator, a clinical record", "GET", "/fhir/Patient/" + id(other), operator, Set.of(403)),
                new Probe("a practitioner, the backups", "GET", "/admin/backups", practitioner, Set.of(403)),
                new Probe("a practitioner, the audit checkpoints", "GET", "/admin/audit/checkpoints?limit=1", practitioner, Set.of(403)),
                new Probe("an operator, the audit checkpoints", "GET", "/admin/audit/checkpoints?limit=1", operator, Set.of(403)),
                // Controls: the same tokens are not refused where their role may go, so the refusals above are the policy's.
                new Probe("a practitioner, a record (control)", "GET", "/fhir/Patient/" + id(other), practitioner, Set.of(404)),
                new Probe("an auditor, the audit checkpoints (control)", "GET", "/admin/audit/checkpoints?limit=1", auditor, Set.of(200)));
        List<String> lines = new ArrayList<>();
        List<String> wrong = new ArrayList<>();
        for (Probe p : probes) {
            HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + p.path())).timeout(Duration.ofSeconds(30));
            if ("POST".equals(p.method())) {
                b.header("Content-Type", "application/fhir+json").POST(HttpRequest.BodyPublishers.ofString(
                        "{\"resourceType\":\"Patient\",\"active\":true}"));
            }
            if (p.token() != null) {
                b.header("Authorization", "Bearer " + p.token());
            }
            int status = http.send(b.build(), HttpResponse.BodyHandlers.discarding()).statusCode();
            String line = p.who() + ": " + p.method() + " " + p.path().replaceAll("[0-9a-f-]{36}", "{random id}") + " -> " + status;
            lines.add(line);
            if (!p.expected().contains(status)) {
                wrong.add(line + " (expected " + p.expected() + ")");
            }
        }
        String result = wrong.isEmpty() ? probes.size() + " probes answered as the policy says: " + String.join("; ", lines)
                : wrong.size() + " of " + probes.size() + " probes NOT refused as they must be: " + String.join("; ", wrong);
        return EvidenceCheck.of(Kind.ACCESS_CONTROL, "sent requests without a token, with a forged and an expired token, and with "
                        + "tokens of each role where that role must be refused (another patient's record, a clinical record for the "
                        + "host's staff, the admin API for practitioners, the audit API for operators), with two controls",
                wrong.isEmpty(), result, String.join("\n", lines), EvidenceCheck.CLIENT);
    }

    /** A read of a record that does not exist, then the auditor's search for it in the trail. */
    EvidenceCheck traceability() throws Exception {
        String me = "evidence-probe-" + UUID.randomUUID().toString().substring(0, 8);
        String target = "Patient/" + UUID.randomUUID();
        Instant sent = Instant.now();
        int status = http.send(HttpRequest.newBuilder(URI.create(base + "/fhir/" + target)).timeout(Duration.ofSeconds(30))
                .header("Authorization", "Bearer " + token(me, Role.PRACTITIONER, null, Duration.ofMinutes(5))).build(),
                HttpResponse.BodyHandlers.discarding()).statusCode();
        String auditor = token("evidence-auditor", Role.AUDITOR, null, Duration.ofMinutes(5));
        String found = null;
        Duration took = null;
        while (Duration.between(sent, Instant.now()).compareTo(TRACE_WITHIN) < 0) {
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(base + "/fhir/AuditEvent?agent=" + me))
                    .header("Authorization", "Bearer " + auditor).header("Accept", "application/fhir+json")
                    .timeout(Duration.ofSeconds(30)).build(), HttpResponse.BodyHandlers.ofString());
            if (r.statusCode() == 200 && r.body().contains(target)) {
                took = Duration.between(sent, Instant.now());
                found = r.body();
                break;
            }
            Thread.sleep(250);
        }
        String result = found != null
                ? "the probe's read (answered " + status + ") was found in the trail by the auditor's search within " + took.toMillis()
                + " ms, naming the record it aimed at"
                : "the probe's read (answered " + status + ") was NOT found in the trail within " + TRACE_WITHIN.toSeconds() + " s";
        return EvidenceCheck.of(Kind.TRACEABILITY, "read a record that does not exist as a practitioner with a fresh subject, then "
                        + "searched the trail as the auditor (AuditEvent?agent=) for an event naming that record, for up to "
                        + TRACE_WITHIN.toSeconds() + " s", found != null, result, found == null ? result : found, EvidenceCheck.CLIENT);
    }

    private String token(String subject, Role role, String patient, Duration ttl) {
        return issuer.issue(new TokenIssuer.Grant(subject, role.claimValue(), null, patient, ttl));
    }

    /**
     * A well-formed token that expired 10 minutes ago (issued 20 minutes ago for 10): only its
     * expiry is wrong, so that its refusal shows the expiry is checked (a token expiring before it
     * was issued would be refused as malformed whatever the expiry check does).
     */
    private String expired(String subject) {
        return issuer.at(Clock.offset(Clock.systemUTC(), Duration.ofMinutes(-20))).issue(new TokenIssuer.Grant(subject,
                Role.PRACTITIONER.claimValue(), null, null, Duration.ofMinutes(10)));
    }

    /** The claims the vault's issuer would sign, signed by a key of its own. */
    private String forged(String subject) throws Exception {
        RSAKey key = new RSAKeyGenerator(2048).keyID("forged").generate();
        Instant now = Instant.now();
        SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.RS256).keyID(key.getKeyID()).type(JOSEObjectType.JWT).build(),
                new JWTClaimsSet.Builder().issuer(issuer.issuer()).audience(TokenIssuer.AUDIENCE).subject(subject)
                        .issueTime(Date.from(now)).notBeforeTime(Date.from(now)).expirationTime(Date.from(now.plusSeconds(300)))
                        .jwtID(UUID.randomUUID().toString()).claim(TokenIssuer.ROLE_CLAIM, Role.PRACTITIONER.claimValue())
                        .claim("scope", Role.PRACTITIONER.defaultScopes()).build());
        jwt.sign(new RSASSASigner(key));
        return jwt.serialize();
    }

    private static String id(String reference) {
        return reference.substring(reference.indexOf('/') + 1);
    }
}
