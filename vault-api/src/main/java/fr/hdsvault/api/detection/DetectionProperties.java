package fr.hdsvault.api.detection;

import java.net.URI;
import java.nio.file.Path;
import java.time.DayOfWeek;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalTime;
import java.time.ZoneId;
import java.time.ZonedDateTime;
import java.util.List;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;

/**
 * {@code vault.detection.*}: the detection rules over the audit trail and their thresholds
 * (docs/detection.md). A rule with a threshold of 0 is off.
 *
 * @param evaluateEvery how often, at most, an active agent's recent accesses are counted again
 * @param deliverEvery how often the sinks are sent what they have not received, besides at once when an alert is raised
 * @param sensitivePatients patients whose records raise an alert when anyone but themselves (or an auditor) reads them: ids or {@code Patient/id}
 * @param sensitiveLabels   patients whose record is labelled restricted ({@code meta.security} R or V) are sensitive too
 * @param sameFamilyName    an alert when a practitioner reads the record of a patient with its family name (or its own names)
 * @param tokenAddresses    an alert when one bearer token is used from more network addresses than this (0: off)
 * @param trailCheckEvery   how often the vault verifies its own audit trail, as {@code vault audit verify} does, and
 *                          raises {@code audit-trail-integrity} when it does not verify (0: never)
 * @param privilegedChanges an alert for each change of privileges (backend clients), keys (root key rotation, erasure) or custody
 *                          (restitution, destruction)
 */
@ConfigurationProperties("vault.detection")
public record DetectionProperties(
        @DefaultValue("true") boolean enabled,
        @DefaultValue("30s") Duration evaluateEvery,
        @DefaultValue MassAccess massAccess,
        @DefaultValue Enumeration enumeration,
        @DefaultValue Syslog syslog,
        @DefaultValue Webhook webhook,
        @DefaultValue("5s") Duration deliverEvery,
        @DefaultValue BreakGlass breakGlass,
        @DefaultValue List<String> sensitivePatients,
        @DefaultValue("true") boolean privilegedChanges,
        @DefaultValue OffHours offHours,
        @DefaultValue BulkExport bulkExport,
        @DefaultValue("true") boolean sensitiveLabels,
        @DefaultValue("true") boolean sameFamilyName,
        @DefaultValue("1") int tokenAddresses,
        @DefaultValue("1h") Duration trailCheckEvery) {

    /** The rules that are on, each with its threshold, as docs/detection.md names them (for the evidence report). */
    public List<String> rulesOn() {
        List<String> on = new java.util.ArrayList<>();
        if (massAccess.patients() > 0) {
            on.add("mass-access: more than " + massAccess.patients() + " patients per agent in " + massAccess.window());
        }
        if (enumeration.refusals() > 0) {
            on.add("enumeration: more than " + enumeration.refusals() + " refusals per agent in " + enumeration.window());
        }
        if (offHours.patients() > 0) {
            on.add("off-hours: more than " + offHours.patients() + " patients in one shift (" + offHours + ")");
        }
        if (bulkExport.patients() > 0) {
            on.add("bulk-export: more than " + bulkExport.patients() + " patients in one export");
        }
        if (breakGlass.alertEach()) {
            on.add("break-glass: each use");
        }
        if (breakGlass.minReason() > 0) {
            on.add("break-glass-reason: a reason under " + breakGlass.minReason() + " characters");
        }
        if (breakGlass.alertEach() && !breakGlass.careWithin().isZero() && !breakGlass.careWithin().isNegative()) {
            on.add("break-glass-no-care: no care recorded within " + breakGlass.careWithin() + " of a break-glass access");
        }
        if (breakGlass.patients() > 0) {
            on.add("break-glass-frequent: more than " + breakGlass.patients() + " patients in " + breakGlass.window());
        }
        if (!sensitivePatients.isEmpty() || sensitiveLabels) {
            on.add("sensitive-patient: " + sensitivePatients.size() + " patients listed" + (sensitiveLabels
                    ? ", and records labelled restricted" : ""));
        }
        if (sameFamilyName) {
            on.add("same-family-name and self-access: a practitioner's names (keyed hashes) equal the patient's");
        }
        if (!trailCheckEvery.isZero() && !trailCheckEvery.isNegative()) {
            on.add("audit-trail-integrity: the trail verified every " + trailCheckEvery);
        }
        if (tokenAddresses > 0) {
            on.add("token-addresses: one token used from more than " + tokenAddresses + " network addresses");
        }
        if (privilegedChanges) {
            on.add("privileged-change: each change of privileges, keys or custody");
        }
        return on;
    }

    /** More distinct patients than {@code patients} read or written by one agent within {@code window}. */
    public record MassAccess(@DefaultValue("200") int patients, @DefaultValue("1h") Duration window) {
    }

    /** More refused requests (4xx: not found, forbidden, invalid) than {@code refusals} for one agent within {@code window}. */
    public record Enumeration(@DefaultValue("50") int refusals, @DefaultValue("10m") Duration window) {
    }

    /**
     * Off hours: nights from {@code start} to {@code end} and, with {@code weekends}, Saturdays and
     * Sundays, in {@code zone}. More than {@code patients} distinct patients in one off-hours shift
     * (a night, or a weekend day from {@code end} to {@code start}) raise an alert (0: off).
     */
    public record OffHours(@DefaultValue("40") int patients, @DefaultValue("20:00") LocalTime start, @DefaultValue("07:00") LocalTime end,
                           @DefaultValue("true") boolean weekends, @DefaultValue("Europe/Paris") ZoneId zone) {

        /** The start of the off-hours shift {@code now} is in, or null in working hours. */
        public Instant shiftStart(Instant now) {
            ZonedDateTime t = now.atZone(zone);
            LocalTime time = t.toLocalTime();
            boolean night = start.isAfter(end) ? !time.isBefore(start) || time.isBefore(end) : !time.isBefore(start) && time.isBefore(end);
            if (night) {
                ZonedDateTime s = t.with(start);
                return (s.isAfter(t) ? s.minusDays(1) : s).toInstant();
            }
            if (weekends && (t.getDayOfWeek() == DayOfWeek.SATURDAY || t.getDayOfWeek() == DayOfWeek.SUNDAY)) {
                ZonedDateTime s = t.with(end);
                return (s.isAfter(t) ? t.with(LocalTime.MIDNIGHT) : s).toInstant();
            }
            return null;
        }

        @Override
        public String toString() {
            return start + "-" + end + (weekends ? " and weekends" : "") + ", " + zone;
        }
    }

    /** More than {@code patients} patients in one bulk export (0: off). */
    public record BulkExport(@DefaultValue("10000") int patients) {
    }

    /**
     * Break-glass: an alert for each use (once a day per agent and patient) when {@code alertEach},
     * one for a reason shorter than {@code minReason} characters, one when an agent broke the
     * glass on more than {@code patients} patients within {@code window} (0: off), and one when it
     * recorded no care in the record within {@code careWithin} (0: off; needs {@code alertEach}).
     */
    public record BreakGlass(@DefaultValue("true") boolean alertEach, @DefaultValue("15") int minReason, @DefaultValue("3") int patients,
                             @DefaultValue("7d") Duration window, @DefaultValue("24h") Duration careWithin) {
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
