package fr.hdsvault.api.backup;

import java.time.Instant;
import java.util.List;

/**
 * A restore drill's report: the evidence that a backup restores, kept in the index
 * ({@code restore_drill}) and served as JSON or text.
 * @param status        {@code running}, {@code passed} or {@code failed}
 * @param rtoSeconds    wall time of the restore (fetch, verify, load, decrypt every object, audit check)
 * @param rpoSeconds    age of the set's point in time when the drill started
 * @param failures      every check that failed, with the object key at fault where there is one
 */
public record DrillReport(String id, String status, String trigger, String backupId, Instant startedAt, Instant finishedAt,
                          Instant pointInTime, Double rtoSeconds, Double rpoSeconds, double rtoTargetSeconds,
                          double rpoTargetSeconds, long objectsVerified, long bytesVerified, long indexRows,
                          int sampleCompared, String auditTrail, boolean scratchRemoved, List<Failure> failures) {

    public static final String RUNNING = "running";
    public static final String PASSED = "passed";
    public static final String FAILED = "failed";

    /** One failed check: restore, object, sample, audit, rto or rpo. */
    public record Failure(String check, String objectKey, String problem) {
    }

    static DrillReport running(String id, String trigger, String backupId, Instant startedAt, double rtoTarget, double rpoTarget) {
        return new DrillReport(id, RUNNING, trigger, backupId, startedAt, null, null, null, null, rtoTarget, rpoTarget, 0, 0, 0,
                0, null, false, List.of());
    }

    /** The readable report. */
    public String text() {
        StringBuilder s = new StringBuilder();
        s.append("Restore drill ").append(id).append(": ").append(status.toUpperCase(java.util.Locale.ROOT)).append('\n');
        s.append("  trigger          ").append(trigger).append('\n');
        s.append("  backup set       ").append(backupId == null ? "-" : backupId).append('\n');
        s.append("  started          ").append(startedAt).append('\n');
        s.append("  finished         ").append(finishedAt == null ? "-" : finishedAt).append('\n');
        s.append("  point in time    ").append(pointInTime == null ? "-" : pointInTime).append('\n');
        s.append(String.format("  RTO              %s (target %.0f s)%n", rtoSeconds == null ? "-" : String.format("%.1f s", rtoSeconds), rtoTargetSeconds));
        s.append(String.format("  RPO              %s (target %.0f s)%n", rpoSeconds == null ? "-" : String.format("%.1f s", rpoSeconds), rpoTargetSeconds));
        s.append("  objects          ").append(objectsVerified).append(" decrypted and verified (").append(bytesVerified).append(" bytes)\n");
        s.append("  index rows       ").append(indexRows).append('\n');
        s.append("  sample compared  ").append(sampleCompared).append(" versions identical to the live vault\n");
        s.append("  audit trail      ").append(auditTrail == null ? "-" : auditTrail).append('\n');
        s.append("  scratch removed  ").append(scratchRemoved ? "yes" : "NO").append('\n');
        if (failures.isEmpty()) {
            s.append("  failures         none\n");
        } else {
            s.append("  failures         ").append(failures.size()).append('\n');
            for (Failure f : failures) {
                s.append("    - ").append(f.check()).append(f.objectKey() == null ? "" : " " + f.objectKey()).append(": ")
                        .append(f.problem()).append('\n');
            }
        }
        return s.toString();
    }
}
