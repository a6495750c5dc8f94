package fr.hdsvault.api.detection;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;

/**
 * {@code vault.detection.*}: the detection rules over the audit trail and their thresholds
 * (docs/detection.md). A rule with a threshold of 0 is off.
 *
 * @param evaluateEvery how often, at most, an active agent's recent accesses are counted again
 * @param deliverEvery how often the sinks are sent what they have not received, besides at once when an alert is raised
 */
@ConfigurationProperties("vault.detection")
public record DetectionProperties(
        @DefaultValue("true") boolean enabled,
        @DefaultValue("30s") Duration evaluateEvery,
        @DefaultValue MassAccess massAccess,
        @DefaultValue Enumeration enumeration,
        @DefaultValue Syslog syslog,
        @DefaultValue Webhook webhook,
        @DefaultValue("5s") Duration deliverEvery) {

    /** More distinct patients than {@code patients} read or written by one agent within {@code window}. */
    public record MassAccess(@DefaultValue("200") int patients, @DefaultValue("1h") Duration window) {
    }

    /** More refused requests (4xx: not found, forbidden, invalid) than {@code refusals} for one agent within {@code window}. */
    public record Enumeration(@DefaultValue("50") int refusals, @DefaultValue("10m") Duration window) {
    }

    /** A SIEM's syslog collector over TLS (RFC 5425), off without a host; {@code trustedCa}: PEM CAs instead of the JDK's. */
    public record Syslog(String host, @DefaultValue("6514") int port, Path trustedCa) {
        boolean enabled() {
            return host != null && !host.isBlank();
        }
    }

    /** An HTTPS endpoint alerts are POSTed to, off without a URL; {@code secretFile}: the HMAC key that signs each body. */
    public record Webhook(URI url, Path trustedCa, Path secretFile) {
        boolean enabled() {
            return url != null;
        }
    }
}
