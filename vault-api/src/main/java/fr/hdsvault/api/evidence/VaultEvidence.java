package fr.hdsvault.api.evidence;

import fr.hdsvault.api.VaultApplication;
import fr.hdsvault.api.audit.AuditCheckpoints;
import fr.hdsvault.api.audit.AuditEvents;
import fr.hdsvault.api.audit.AuditTrail;
import fr.hdsvault.api.audit.AuditVerifier;
import fr.hdsvault.api.backup.BackupService;
import fr.hdsvault.api.backup.DrillReport;
import fr.hdsvault.api.detection.AlertOutbox;
import fr.hdsvault.api.detection.DetectionProperties;
import fr.hdsvault.api.evidence.EvidenceCheck.Kind;
import fr.hdsvault.api.resources.VaultRepository;
import fr.hdsvault.api.storage.StoresProperties;
import fr.hdsvault.api.storage.VaultStores;
import fr.hdsvault.backup.BackupSummary;
import fr.hdsvault.backup.BackupVerifier;
import fr.hdsvault.crypto.EnvelopeCipher;
import fr.hdsvault.crypto.EnvelopeException;
import fr.hdsvault.crypto.Keyring;
import fr.hdsvault.crypto.root.Pkcs11RootKeyProvider;
import fr.hdsvault.crypto.root.RootKeyProvider;
import fr.hdsvault.storage.ResidencyViolationException;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Supplier;
import org.springframework.jdbc.core.JdbcTemplate;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The checks of the evidence report that the vault runs on itself, live, with what only it can
 * reach: its stores through S3, its root key, its audit trail, its backup sets and drills, its
 * alert sinks. Each answers pass or fail with what it found; a check that cannot run fails,
 * naming why. Nothing a check collects names a patient or holds a clinical value: record
 * objects are opened in memory to prove they decrypt and that none of their values is in the
 * stored bytes, and only counts and opaque keys leave this class.
 */
public final class VaultEvidence {

    /** The alert rule of the test alert the detection check sends through every sink. */
    public static final String TEST_ALERT_RULE = "delivery-test";
    private static final byte[] ENVELOPE_MAGIC = {'H', 'D', 'S', 'E'};
    /** Decrypted values shorter than this are too common to say anything when found in ciphertext. */
    private static final int MIN_VALUE_LENGTH = 4;

    private final VaultStores stores;
    private final JdbcTemplate jdbc;
    private final Keyring keyring;
    private final AuditTrail trail;
    private final AuditVerifier verifier;
    private final AuditCheckpoints checkpoints;
    private final AuditEvents events;
    private final BackupService backups;
    private final DetectionProperties detection;
    private final AlertOutbox outbox;
    private final EvidenceProperties settings;
    private final Clock clock;
    private final SecureRandom random = new SecureRandom();
    private final JsonMapper json = JsonMapper.builder().build();

    /**
     * @param detection the detection settings, null when detection is off
     * @param outbox    the alert outbox, null when detection is off
     */
    public VaultEvidence(VaultStores stores, JdbcTemplate jdbc, Keyring keyring, AuditTrail trail, AuditVerifier verifier,
                         AuditCheckpoints checkpoints, AuditEvents events, BackupService backups, DetectionProperties detection,
                         AlertOutbox outbox, EvidenceProperties settings, Clock clock) {
        this.stores = stores;
        this.jdbc = jdbc;
        this.keyring = keyring;
        this.trail = trail;
        this.verifier = verifier;
        this.checkpoints = checkpoints;
        this.events = events;
        this.backups = backups;
        this.detection = detection;
        this.outbox = outbox;
        this.settings = settings;
        this.clock = clock;
    }

    /** Every check of the vault's own, in the report's order; {@code requester} is the auditor asking (named in the test alert). */
    public List<EvidenceCheck> run(String requester) {
        return List.of(
                guarded(Kind.RESIDENCY, this::residency),
                guarded(Kind.ENCRYPTION_AT_REST, this::encryptionAtRest),
                guarded(Kind.INTEGRITY, this::integrity),
                guarded(Kind.BACKUPS, () -> backups(requester)),
                guarded(Kind.RECOVERY, this::recovery),
                guarded(Kind.KEY_MANAGEMENT, this::keyManagement),
                guarded(Kind.DETECTION, () -> detection(requester)));
    }

    /** A check that throws fails with the error's class and message (which name no patient data). */
    private static EvidenceCheck guarded(Kind kind, Supplier<EvidenceCheck> check) {
        try {
            return check.get();
        } catch (RuntimeException e) {
            String why = e.getClass().getSimpleName() + ": " + e.getMessage();
            return EvidenceCheck.of(kind, "the check could not run", false, "could not run: " + why, why, EvidenceCheck.VAULT);
        }
    }

    /** Each bucket's region asked of its server now (GetBucketLocation), against the residency policy. */
    EvidenceCheck residency() {
        List<String> lines = new ArrayList<>();
        boolean ok = true;
        for (StoresProperties.Role role : StoresProperties.Role.values()) {
            VaultStores.StoreBucket b = stores.bucket(role);
            String name = role.name().toLowerCase(java.util.Locale.ROOT);
            try {
                String region = b.store().checkResidency(b.bucket());
                lines.add(name + " bucket " + b.bucket() + ": region " + region + (b.external()
                        ? " (reported by the server at " + b.location() + ")" : " (declared: the embedded store on this host's disk)"));
            } catch (ResidencyViolationException e) {
                ok = false;
                lines.add(name + ": " + e.getMessage());
            }
        }
        String text = String.join("; ", lines);
        return EvidenceCheck.of(Kind.RESIDENCY, "asked each bucket's server for its region through the S3 API "
                + "(GetBucketLocation) and checked it against the allowed regions [" + stores.settings().residency() + "]", ok, text, text,
                EvidenceCheck.VAULT);
    }

    private record Sampled(String type, String id, long version, String objectKey) {
    }

    /**
     * A random sample of record versions, each object read raw through S3: it must be an
     * envelope (not JSON or XML), open under its record's context (authenticated: any change or
     * swap fails), and hold none of its decrypted values in its stored bytes.
     */
    EvidenceCheck encryptionAtRest() {
        int n = settings.sampleSize();
        // Object keys are random hex: starting at a random prefix gives a uniform sample without a scan of every key.
        String start = "r/" + HexFormat.of().toHexDigits((byte) random.nextInt(256)) + "/";
        String sql = "select resource_type, resource_id, version_id, object_key from resource_version where tenant = ? "
                + "and object_key is not null and object_key %s ? order by object_key limit %d";
        org.springframework.jdbc.core.RowMapper<Sampled> row = (rs, i) -> new Sampled(rs.getString(1), rs.getString(2), rs.getLong(3),
                rs.getString(4));
        List<Sampled> sample = new ArrayList<>(jdbc.query(sql.formatted(">=", n), row, VaultApplication.TENANT, start));
        if (sample.size() < n) {
            sample.addAll(jdbc.query(sql.formatted("<", n - sample.size()), row, VaultApplication.TENANT, start));
        }
        String method = "read a random sample of up to " + n + " record objects raw through the S3 API; each must be an envelope, "
                + "open under its own record's context (AES-256-GCM, authenticated), and contain none of its decrypted values "
                + "(strings of " + MIN_VALUE_LENGTH + " characters or more) in its stored bytes";
        if (sample.isEmpty()) {
            return EvidenceCheck.of(Kind.ENCRYPTION_AT_REST, method, false, "no record stored yet: nothing demonstrates encryption at rest",
                    "", EvidenceCheck.VAULT);
        }
        VaultStores.StoreBucket bucket = stores.bucket(StoresProperties.Role.PRIMARY);
        EnvelopeCipher envelopes = new EnvelopeCipher(keyring);
        StringBuilder collected = new StringBuilder();
        List<String> problems = new ArrayList<>();
        long values = 0;
        for (Sampled s : sample) {
            byte[] raw = bucket.store().getBytes(bucket.bucket(), s.objectKey());
            collected.append(s.objectKey()).append(' ').append(fr.hdsvault.api.lifecycle.SignedStatement.sha256(raw)).append('\n');
            if (!startsWith(raw, ENVELOPE_MAGIC)) {
                problems.add("object " + s.objectKey() + " is not an envelope" + (raw.length > 0 && (raw[0] == '{' || raw[0] == '<')
                        ? " (it reads as clear JSON or XML)" : ""));
                continue;
            }
            byte[] plain;
            try {
                plain = envelopes.open(VaultRepository.recordContext(VaultApplication.TENANT, s.type(), s.id(), s.version()), raw);
            } catch (EnvelopeException e) {
                problems.add("object " + s.objectKey() + " does not open under its record's context (" + e.getClass().getSimpleName() + ")");
                continue;
            }
            String stored = new String(raw, StandardCharsets.ISO_8859_1);
            List<String> leaves = new ArrayList<>();
            try {
                strings(json.readTree(plain), leaves);
            } catch (RuntimeException e) { // a parser's message quotes the text it read: the record's content, never reported
                problems.add("object " + s.objectKey() + " opened but does not hold a JSON resource");
                continue;
            }
            values += leaves.size();
            // Compared byte for byte: the UTF-8 bytes of each value, read as ISO-8859-1 on both sides.
            long inClear = leaves.stream().filter(v -> stored.contains(new String(v.getBytes(StandardCharsets.UTF_8),
                    StandardCharsets.ISO_8859_1))).count();
            if (inClear > 0) {
                problems.add("object " + s.objectKey() + " holds " + inClear + " of its values in clear");
            }
        }
        String result = problems.isEmpty()
                ? sample.size() + " objects read from bucket " + bucket.bucket() + ": every one an envelope that opened under its "
                + "record's context, none holding any of its " + values + " decrypted values in clear"
                : problems.size() + " of " + sample.size() + " objects failed: " + String.join("; ", problems.subList(0,
                Math.min(problems.size(), 10)));
        return EvidenceCheck.of(Kind.ENCRYPTION_AT_REST, method, problems.isEmpty(), result, collected.toString(), EvidenceCheck.VAULT);
    }

    private static void strings(JsonNode node, List<String> out) {
        if (node.isString()) {
            if (node.asString().length() >= MIN_VALUE_LENGTH) {
                out.add(node.asString());
            }
        } else {
            node.values().forEach(child -> strings(child, out));
        }
    }

    private static boolean startsWith(byte[] bytes, byte[] prefix) {
        return bytes.length >= prefix.length && java.util.Arrays.equals(bytes, 0, prefix.length, prefix, 0, prefix.length);
    }

    /**
     * How far the signed checkpoints lag behind the trail (the oldest event not yet under one),
     * then the full verification {@code vault audit verify} makes, on the live trail.
     */
    EvidenceCheck integrity() {
        List<Map<String, Object>> latest = checkpoints.list(1);
        long covered = latest.isEmpty() ? 0 : ((Number) latest.get(0).get("tree_size")).longValue();
        OffsetDateTime oldestUncovered = jdbc.queryForObject("select min(recorded_at) from audit_event where seq >= ?",
                OffsetDateTime.class, covered);
        Duration lag = oldestUncovered == null ? Duration.ZERO : Duration.between(oldestUncovered.toInstant(), clock.instant());
        trail.checkpoint();
        AuditVerifier.Result verified = verifier.verify();
        boolean lagOk = lag.compareTo(settings.maxCheckpointLag()) <= 0;
        String result = verified.message() + "; before this check the latest signed checkpoint covered " + covered + " events, "
                + (oldestUncovered == null ? "all of them" : "the oldest event after it recorded " + round(lag) + " ago")
                + " (at most " + settings.maxCheckpointLag() + " allowed)";
        String note = latest.isEmpty() ? "" : String.valueOf(latest.get(0).get("note"));
        return EvidenceCheck.of(Kind.INTEGRITY, "measured the lag of the signed checkpoints behind the trail, then recomputed the "
                + "Merkle tree from every stored event and checked every signed checkpoint, in the database and the audit bucket "
                + "(as vault audit verify does)", verified.ok() && lagOk, result, note + "\n" + verified.message(), EvidenceCheck.VAULT);
    }

    /** The newest complete backup set: its age against the RPO, and its signed manifest and objects verified now. */
    EvidenceCheck backups(String requester) {
        String method = "took the newest complete backup set, compared its point in time with the RPO ("
                + backups.rpoTarget() + ") and verified its signed manifest and the presence and size of every object now";
        Optional<BackupService.SetView> newest = backups.list().stream().filter(s -> BackupSummary.COMPLETE.equals(s.status())
                && s.pointInTime() != null).max(Comparator.comparing(BackupService.SetView::pointInTime));
        if (newest.isEmpty()) {
            return EvidenceCheck.of(Kind.BACKUPS, method, false, "no complete backup set", "", EvidenceCheck.VAULT);
        }
        BackupService.SetView set = newest.get();
        Duration age = Duration.between(set.pointInTime(), clock.instant());
        BackupVerifier.Report report = backups.verify(set.id(), false, requester);
        boolean fresh = age.compareTo(backups.rpoTarget()) <= 0;
        String result = "set " + set.id() + " (" + set.objects() + " objects), point in time " + round(age) + " ago "
                + (fresh ? "within" : "BEYOND") + " the RPO of " + backups.rpoTarget() + "; verification "
                + (report.ok() ? "passed" : "FAILED") + " (" + report.objectsChecked() + " objects checked)";
        return EvidenceCheck.of(Kind.BACKUPS, method, fresh && report.ok(), result, report.describe(), EvidenceCheck.VAULT);
    }

    /** The last finished restore drill: passed, within the RTO, and recent enough. */
    EvidenceCheck recovery() {
        String method = "read the last finished restore drill's report: it must have passed (every object restored, decrypted and "
                + "compared, the audit trail verified), within the RTO (" + backups.rtoTarget() + "), and be at most "
                + settings.maxDrillAge() + " old";
        Optional<DrillReport> last = backups.drills(20).stream().filter(d -> !DrillReport.RUNNING.equals(d.status())).findFirst();
        if (last.isEmpty()) {
            return EvidenceCheck.of(Kind.RECOVERY, method, false, "no restore drill has run", "", EvidenceCheck.VAULT);
        }
        DrillReport d = last.get();
        Duration age = Duration.between(d.finishedAt(), clock.instant());
        boolean passed = DrillReport.PASSED.equals(d.status());
        boolean inRto = d.rtoSeconds() != null && d.rtoSeconds() <= d.rtoTargetSeconds();
        boolean recent = age.compareTo(settings.maxDrillAge()) <= 0;
        String result = "drill " + d.id() + " " + d.status() + ", " + round(age) + " ago" + (recent ? "" : " (TOO OLD)") + ", RTO "
                + (d.rtoSeconds() == null ? "-" : String.format(java.util.Locale.ROOT, "%.1f s", d.rtoSeconds())) + " (target "
                + String.format(java.util.Locale.ROOT, "%.0f s", d.rtoTargetSeconds()) + (inRto ? ")" : ", MISSED)") + ", "
                + d.objectsVerified() + " objects verified, " + d.failures().size() + " failures";
        return EvidenceCheck.of(Kind.RECOVERY, method, passed && inRto && recent, result, d.text(), EvidenceCheck.VAULT);
    }

    /**
     * Where the root key lives, how old its current version is (since the last root key rotation
     * the trail records, else since the vault was created), and that every key-encryption key is
     * wrapped under that version.
     */
    EvidenceCheck keyManagement() {
        RootKeyProvider root = keyring.rootKeyProvider();
        boolean hsm = root instanceof Pkcs11RootKeyProvider;
        OffsetDateTime rotated = jdbc.queryForObject("select max(recorded_at) from audit_event where subtype = ? and outcome = 0",
                OffsetDateTime.class, "root-key-rotation");
        OffsetDateTime since = rotated != null ? rotated
                : jdbc.queryForObject("select created_at from vault_identity where singleton = 1", OffsetDateTime.class);
        Duration age = Duration.between(since.toInstant(), clock.instant());
        long keks = count("select count(*) from kek_registry where destroyed_at is null");
        long stale = count("select count(*) from kek_registry where destroyed_at is null and root_key_version < "
                + root.currentVersion());
        long destroyed = count("select count(*) from kek_registry where destroyed_at is not null");
        boolean young = age.compareTo(settings.maxRootKeyAge()) <= 0;
        boolean kindOk = hsm || !settings.requireHsm();
        String result = "root key " + root.description() + " (" + (hsm ? "hardware security module" : "software key store: "
                + (settings.requireHsm() ? "an HSM is REQUIRED here" : "accepted, an HSM is recommended in production")) + "), version "
                + root.currentVersion() + ", " + (rotated != null ? "last rotated " : "never rotated, created ") + round(age) + " ago"
                + (young ? "" : " (OLDER than " + settings.maxRootKeyAge() + ")") + "; " + keks + " key-encryption key versions in use, "
                + stale + " wrapped under an older root version, " + destroyed + " destroyed (crypto-shredded)";
        return EvidenceCheck.of(Kind.KEY_MANAGEMENT, "read the root key provider's kind and current version, the age of that version "
                        + "from the trail's last root key rotation, and the root version every key-encryption key is wrapped under",
                young && kindOk && stale == 0, result, result, EvidenceCheck.VAULT);
    }

    private long count(String sql) {
        Long n = jdbc.queryForObject(sql, Long.class);
        return n == null ? 0 : n;
    }

    /** The rules that are on, and a test alert raised in the trail and delivered to every configured sink. */
    EvidenceCheck detection(String requester) {
        String method = "listed the detection rules that are on, raised a test alert (rule " + TEST_ALERT_RULE + ") in the audit "
                + "trail and waited up to " + settings.deliveryTimeout() + " for every configured sink (SIEM syslog, webhook) to "
                + "acknowledge it";
        if (detection == null || outbox == null) {
            return EvidenceCheck.of(Kind.DETECTION, method, false, "detection is off (vault.detection.enabled=false)", "",
                    EvidenceCheck.VAULT);
        }
        List<String> rules = detection.rulesOn();
        List<String> sinks = outbox.sinkNames();
        if (sinks.isEmpty()) {
            String result = rules.size() + " rules on, but no SIEM syslog collector nor webhook is configured: alerts reach no one "
                    + "outside the vault (vault.detection.syslog.host, vault.detection.webhook.url)";
            return EvidenceCheck.of(Kind.DETECTION, method, false, result, String.join("\n", rules), EvidenceCheck.VAULT);
        }
        Instant raised = clock.instant();
        trail.record(List.of(events.alert(TEST_ALERT_RULE, "Delivery test (evidence report)", requester, null,
                "a test alert raised by the evidence report", raised)));
        Long seq = jdbc.queryForObject("select max(seq) from audit_event where subtype = ?", Long.class,
                AuditEvents.alertSubtype(TEST_ALERT_RULE));
        outbox.wake();
        long deadline = System.nanoTime() + settings.deliveryTimeout().toNanos();
        boolean delivered = outbox.deliveredEverywhere(seq);
        while (!delivered && System.nanoTime() < deadline) {
            try {
                Thread.sleep(200);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
            delivered = outbox.deliveredEverywhere(seq);
        }
        Duration took = Duration.between(raised, clock.instant());
        String result = rules.size() + " rules on (" + String.join("; ", rules) + "); test alert " + seq + " "
                + (delivered ? "delivered to " + String.join(" and ", sinks) + " in " + round(took)
                : "NOT acknowledged by every sink (" + String.join(", ", sinks) + ") within " + settings.deliveryTimeout());
        return EvidenceCheck.of(Kind.DETECTION, method, !rules.isEmpty() && delivered, result, String.join("\n", rules) + "\n" + seq,
                EvidenceCheck.VAULT);
    }

    /** A duration to the second (to the millisecond under a second), as ISO-8601. */
    static Duration round(Duration d) {
        return d.compareTo(Duration.ofSeconds(1)) < 0 ? Duration.ofMillis(d.toMillis()) : Duration.ofSeconds(d.toSeconds());
    }
}
