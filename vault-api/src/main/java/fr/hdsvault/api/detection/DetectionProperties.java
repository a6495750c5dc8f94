package fr.hdsvault.api.detection;

import java.time.Duration;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;

/**
 * {@code vault.detection.*}: the detection rules over the audit trail and their thresholds
 * (docs/detection.md). A rule with a threshold of 0 is off.
 *
 * @param evaluateEvery how often, at most, an active agent's recent accesses are counted again
 */
@ConfigurationProperties("vault.detection")
public record DetectionProperties(
        @DefaultValue("true") boolean enabled,
        @DefaultValue("30s") Duration evaluateEvery,
        @DefaultValue MassAccess massAccess,
        @DefaultValue Enumeration enumeration) {

    /** More distinct patients than {@code patients} read or written by one agent within {@code window}. */
    public record MassAccess(@DefaultValue("200") int patients, @DefaultValue("1h") Duration window) {
    }

    /** More refused requests (4xx: not found, forbidden, invalid) than {@code refusals} for one agent within {@code window}. */
    public record Enumeration(@DefaultValue("50") int refusals, @DefaultValue("10m") Duration window) {
    }
}
