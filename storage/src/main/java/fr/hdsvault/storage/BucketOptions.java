package fr.hdsvault.storage;

import java.time.Duration;

/**
 * How a bucket is created: with versioning, and optionally with S3 Object Lock in compliance
 * mode and a default retention (nobody, not even the root account, can delete or overwrite a
 * locked version before its retention ends). Object Lock implies versioning.
 */
public record BucketOptions(boolean versioning, Duration complianceRetention) {

    public static BucketOptions plain() {
        return new BucketOptions(false, null);
    }

    public static BucketOptions versioned() {
        return new BucketOptions(true, null);
    }

    /** Versioned, locked in compliance mode for the given retention (whole days, at least one). */
    public static BucketOptions locked(Duration retention) {
        if (retention.toDays() < 1) {
            throw new IllegalArgumentException("Object Lock retention is set in whole days, at least 1");
        }
        return new BucketOptions(true, retention);
    }

    public boolean objectLock() {
        return complianceRetention != null;
    }
}
