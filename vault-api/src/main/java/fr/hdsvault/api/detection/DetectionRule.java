package fr.hdsvault.api.detection;

import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.function.Function;
import java.util.function.ToIntFunction;
import org.springframework.jdbc.core.JdbcTemplate;

/**
 * One rule over one agent's recent events in the shared audit table: counted from the blind
 * tokens and outcomes every node writes there, so that the nodes of a cluster count the same
 * events. A rule never reads an event's content.
 */
enum DetectionRule {

    /** Many distinct patients' records touched by one agent: BALP's one event per patient makes this a count of patient tokens. */
    MASS_ACCESS("mass-access", "Mass access to patient records", "distinct patients",
            "select count(distinct patient_token) from audit_event where agent_token = ? and recorded_at >= ? "
                    + "and patient_token is not null and outcome = 0",
            p -> p.massAccess().patients(), p -> p.massAccess().window()),

    /** Refusal storms: ids tried one after another (404), records outside the agent's rights (403), probing (400). */
    ENUMERATION("enumeration", "Enumeration or probing: many refused requests", "refused requests",
            "select count(*) from audit_event where agent_token = ? and recorded_at >= ? and outcome = 4",
            p -> p.enumeration().refusals(), p -> p.enumeration().window());

    final String code;
    final String display;
    private final String counted;
    private final String countSql;
    private final ToIntFunction<DetectionProperties> threshold;
    private final Function<DetectionProperties, Duration> window;

    DetectionRule(String code, String display, String counted, String countSql, ToIntFunction<DetectionProperties> threshold,
                  Function<DetectionProperties, Duration> window) {
        this.code = code;
        this.display = display;
        this.counted = counted;
        this.countSql = countSql;
        this.threshold = threshold;
        this.window = window;
    }

    int threshold(DetectionProperties p) {
        return threshold.applyAsInt(p);
    }

    /** What the alert says it measured: counts and durations, never a patient or a record. */
    String measured(long count, DetectionProperties p) {
        return count + " " + counted + " in " + window.apply(p) + " (threshold " + threshold(p) + ")";
    }

    boolean enabled(DetectionProperties p) {
        return threshold(p) > 0;
    }

    /** The agent's count within the rule's window ending now. */
    long count(JdbcTemplate jdbc, String agentToken, Instant now, DetectionProperties p) {
        Long n = jdbc.queryForObject(countSql, Long.class, agentToken, since(now, p));
        return n == null ? 0 : n;
    }

    OffsetDateTime since(Instant now, DetectionProperties p) {
        return OffsetDateTime.ofInstant(now.minus(window.apply(p)), ZoneOffset.UTC);
    }
}
