package fr.hdsvault.backup;

import java.time.Instant;

/**
 * The outcome of one backup run.
 * @param status          {@code complete} or {@code failed}
 * @param objects         objects the set references
 * @param bytes           their total size
 * @param objectsCopied   objects copied by this run (the others were already in the target)
 * @param bytesCopied     bytes copied by this run, objects and items
 * @param error           why it failed, or null
 */
public record BackupSummary(String id, String status, Instant startedAt, Instant finishedAt, Instant pointInTime,
                            long objects, long bytes, long objectsCopied, long bytesCopied, int items,
                            long durationMillis, double bytesPerSecond, String error) {

    public static final String COMPLETE = "complete";
    public static final String FAILED = "failed";

    public boolean ok() {
        return COMPLETE.equals(status);
    }

    /** One line for logs and the command line. */
    public String describe() {
        if (!ok()) {
            return "backup " + id + " FAILED after " + durationMillis + " ms: " + error;
        }
        return String.format("backup %s complete: %d objects (%d bytes), %d copied (%d bytes incl. %d items) in %d ms, %.1f MB/s",
                id, objects, bytes, objectsCopied, bytesCopied, items, durationMillis, bytesPerSecond / 1e6);
    }
}
