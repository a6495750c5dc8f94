package fr.hdsvault.api.evidence;

import java.time.Duration;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;

/**
 * {@code vault.evidence.*}: what the evidence report's checks hold the running vault to
 * (docs/evidence.md).
 *
 * @param sampleSize         raw record objects read through S3 for the encryption-at-rest check
 * @param maxCheckpointLag   the oldest audit event not yet under a signed checkpoint may be this old
 * @param maxDrillAge        the last restore drill may be this old (drills run weekly by default)
 * @param maxRootKeyAge      the current root key version may be this old (rotation)
 * @param requireHsm         whether a root key outside an HSM fails the key-management check
 * @param deliveryTimeout    how long a test alert may take to reach every configured sink
 */
@ConfigurationProperties("vault.evidence")
public record EvidenceProperties(
        @DefaultValue("50") int sampleSize,
        @DefaultValue("5m") Duration maxCheckpointLag,
        @DefaultValue("8d") Duration maxDrillAge,
        @DefaultValue("365d") Duration maxRootKeyAge,
        @DefaultValue("false") boolean requireHsm,
        @DefaultValue("30s") Duration deliveryTimeout) {
}
