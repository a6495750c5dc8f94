package fr.hdsvault.api.evidence;

import fr.hdsvault.api.lifecycle.SignedStatement;
import java.nio.charset.StandardCharsets;
import java.time.Instant;

/**
 * One live check of the evidence report: which HDS requirement it demonstrates, how it was made,
 * what it found, when, and the SHA-256 of what it collected (the raw material an assessor could
 * ask to see again). Results name counts, versions, regions, statuses and opaque ids, never a
 * patient or a clinical value.
 *
 * @param id          a stable name: tls, residency, encryption-at-rest, integrity, traceability,
 *                    access-control, backups, recovery, key-management, detection
 * @param requirement the HDS requirement and the ISO 27001:2022 control it stands for
 * @param method      how the check was made, in one or two sentences
 * @param observer    {@code vault} (run by the vault on itself) or {@code client} (run by
 *                    {@code vault evidence} from outside, over the network, as any client would)
 */
public record EvidenceCheck(String id, String requirement, String method, boolean passed, String result, Instant checkedAt,
                            String collectedSha256, String observer) {

    public static final String VAULT = "vault";
    public static final String CLIENT = "client";

    /** A check's outcome and the text it collected (hashed, not kept). */
    public static EvidenceCheck of(Kind kind, String method, boolean passed, String result, String collected, String observer) {
        return new EvidenceCheck(kind.id, kind.requirement, method, passed, result, Instant.now(), SignedStatement.sha256(collected.getBytes(StandardCharsets.UTF_8)), observer);
    }

    /** The checks the report makes, each with the requirement it demonstrates. */
    public enum Kind {
        TLS("tls", "Encryption in transit (HDS: data flows encrypted; ISO 27001 A.8.24, A.8.20)"),
        RESIDENCY("residency", "Hosting in the EEA, France preferred (HDS v2 data location; ISO 27001 A.5.34)"),
        ENCRYPTION_AT_REST("encryption-at-rest", "Confidentiality at rest (HDS: encryption of stored data; ISO 27001 A.8.24)"),
        INTEGRITY("integrity", "Tamper-evident audit logs (HDS: integrity of traces; ISO 27001 A.8.15)"),
        TRACEABILITY("traceability", "Traceability of every access (HDS; CSP L.1111-8; ISO 27001 A.8.15)"),
        ACCESS_CONTROL("access-control", "Access control and authentication (HDS; ISO 27001 A.5.15, A.8.3, A.8.5)"),
        BACKUPS("backups", "Regular backups (HDS; ISO 27001 A.8.13)"),
        RECOVERY("recovery", "A tested recovery plan (HDS: continuity; ISO 27001 A.5.30)"),
        KEY_MANAGEMENT("key-management", "Key management (HDS; ISO 27001 A.8.24)"),
        DETECTION("detection", "Detection of misuse and intrusions (HDS; ISO 27001 A.8.16)");

        public final String id;
        public final String requirement;

        Kind(String id, String requirement) {
            this.id = id;
            this.requirement = requirement;
        }
    }
}
