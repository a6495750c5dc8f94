package fr.hdsvault.api.detection;

import fr.hdsvault.api.audit.AuditEvents;
import fr.hdsvault.api.audit.AuditLog;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import org.hl7.fhir.r4.model.AuditEvent;
import org.springframework.jdbc.core.JdbcTemplate;

/**
 * Break-glass with no care afterwards: a practitioner who opened a patient's record by breaking
 * the glass and then recorded nothing in it (no create, update, transaction or batch naming that
 * patient) within {@code within}. An emergency leaves traces of care; a look without any is what
 * a curious or malicious access looks like. Found from the {@code break-glass} alerts in the shared
 * trail once their time is up, so that any node (or a restarted one) finds them; each is judged
 * once per node and raised at most once per agent and patient.
 */
final class BreakGlassCare {

    static final String RULE = "break-glass-no-care";
    private static final Duration SCAN_EVERY = Duration.ofSeconds(30);

    /** A break-glass access whose time for care has passed without any. */
    record Uncared(String agent, String patient) {
    }

    private final JdbcTemplate jdbc;
    private final AuditLog auditLog;
    private final Duration within;
    private Instant scannedTo;
    private Instant lastScan = Instant.EPOCH;

    BreakGlassCare(JdbcTemplate jdbc, AuditLog auditLog, Duration within) {
        this.jdbc = jdbc;
        this.auditLog = auditLog;
        this.within = within;
    }

    Duration within() {
        return within;
    }

    /** The break-glass accesses whose care window closed since the last scan with no care recorded; every 30 s at most. */
    List<Uncared> due(Instant now, boolean force) {
        Duration every = within.compareTo(SCAN_EVERY) < 0 ? within : SCAN_EVERY; // a short window (tests) is scanned as often
        if (within.isZero() || within.isNegative() || !force && lastScan.plus(every).isAfter(now)) {
            return List.of();
        }
        lastScan = now;
        Instant to = now.minus(within);
        // At start, one more window back: a restarted node judges what closed while it was down (alerts are raised once anyway).
        Instant from = scannedTo != null ? scannedTo : to.minus(within);
        List<Uncared> found = new ArrayList<>();
        if (!to.isAfter(from)) {
            return found;
        }
        List<Long> alerts = jdbc.queryForList("select seq from audit_event where entity_token = ? and recorded_at >= ? and recorded_at < ? "
                + "and subtype = ? order by seq limit 10000", Long.class, auditLog.token("entity", AuditEvents.ALERT_ENTITY),
                utc(from), utc(to), AuditEvents.alertSubtype(EventRules.BREAK_GLASS));
        for (AuditEvent alert : auditLog.read(alerts)) {
            String agent = alert.getAgentFirstRep().getWho().getIdentifier().getValue();
            String patient = alert.getEntity().stream().filter(e -> e.getWhat().hasReference()).map(e -> e.getWhat().getReference())
                    .findFirst().orElse(null);
            if (agent == null || patient == null) {
                continue;
            }
            Instant opened = alert.getRecorded().toInstant().minus(Duration.ofMinutes(1)); // the access came just before its alert
            Long care = jdbc.queryForObject("select count(*) from audit_event where agent_token = ? and recorded_at > ? "
                    + "and outcome = 0 and patient_token = ? and (action in ('C', 'U') or subtype in ('transaction', 'batch'))",
                    Long.class, auditLog.token("agent", agent), utc(opened), auditLog.token("patient", patient));
            if (care == null || care == 0) {
                found.add(new Uncared(agent, patient));
            }
        }
        scannedTo = to;
        return found;
    }

    private static OffsetDateTime utc(Instant t) {
        return OffsetDateTime.ofInstant(t, ZoneOffset.UTC);
    }
}
