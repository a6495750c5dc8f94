package fr.hdsvault.storage;

/**
 * What a bucket really does, found by trying rather than by reading its configuration:
 * versioning is enforced when overwriting a key keeps the old version; Object Lock is enforced
 * when deleting a locked version is refused. The region is the one the server reports, or, for
 * the embedded server which stores no region, the one declared in configuration
 * ({@code regionVerified} false).
 */
public record StoreCapabilities(String bucket, boolean versioningEnforced, boolean objectLockEnforced,
                                String region, boolean regionVerified) {

    /** One line for start-up logs and audit evidence. */
    public String describe() {
        return "bucket " + bucket + ": versioning " + (versioningEnforced ? "enforced" : "NOT enforced")
                + ", Object Lock " + (objectLockEnforced ? "enforced (compliance)" : "NOT enforced") + ", " + residency();
    }

    /** The region and where it comes from: the server's answer, or a declaration nothing checked. */
    public String residency() {
        return "region " + region + (regionVerified ? " (reported by the server)" : " (declared, not verified)");
    }
}
