package fr.hdsvault.api.detection;

import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.function.Function;
import java.util.function.IntUnaryOperator;
import java.util.function.ToIntFunction;
import org.springframework.jdbc.core.JdbcTemplate;

/**
 * One rule over one agent's recent events in the shared audit table: counted from the blind
 * tokens and outcomes every node writes there, so that the nodes of a cluster count the same
 * events. A rule never reads an event's content.
 *
 * <p>Each rule reads at most its cap of the agent's newest events in the window, newest first
 * through the index {@code audit_event_agent_outcome} (agent, time, outcome, patient, subtype): the cost of
 * an evaluation is bounded whatever the agent did, and the ordered read keeps PostgreSQL on the
 * index even when one agent wrote most of the trail. An agent that reaches the cap has passed
 * the rule too (docs/detection.md).
 */
enum DetectionRule {

    /**
     * Many distinct patients' records touched by one agent: BALP's one event per patient makes this
     * a count of patient tokens, among the agent's newest successful accesses (100 per patient of
     * the threshold; more accesses than that in the window are beyond any clinical use and alert too).
     * Bulk exports and imports are not counted: they move many patients by design, and the
     * {@code bulk-export} rule watches their volume.
     */
    MASS_ACCESS("mass-access", "Mass access to patient records", "distinct patients", "successful accesses to patients' records",
            "select count(distinct patient_token), count(*) from (select patient_token from audit_event where agent_token = ? "
                    + "and recorded_at >= ? and outcome = 0 and patient_token is not null and subtype not in ('bulk-export', 'bulk-import') "
                    + "order by recorded_at desc limit ?) e",
            p -> p.massAccess().patients(), p -> p.massAccess().window(), threshold -> threshold * 100),

    /** Refusal storms: ids tried one after another (404), records outside the agent's rights (403), probing (400). */
    ENUMERATION("enumeration", "Enumeration or probing: many refused requests", "refused requests", "refused requests",
            "select count(*), count(*) from (select 1 from audit_event where agent_token = ? and recorded_at >= ? and outcome = 4 "
                    + "order by recorded_at desc limit ?) e",
            p -> p.enumeration().refusals(), p -> p.enumeration().window(), threshold -> threshold + 1),

    /**
     * Many distinct patients' records touched by one agent within the current off-hours shift (a
     * night, or a weekend day): counted as mass access is, from the shift's start; nothing outside
     * off hours. The window (a day) bounds the look-back and the repeats of the alert.
     */
    OFF_HOURS("off-hours", "Many patients' records accessed off hours", "distinct patients", "successful accesses to patients' records",
            MASS_ACCESS.countSql, p -> p.offHours().patients(), p -> Duration.ofDays(1), threshold -> threshold * 100) {
        @Override
        Instant since(Instant now, DetectionProperties p) {
            return p.offHours().shiftStart(now);
        }

        @Override
        String span(DetectionProperties p) {
            return "off hours (" + p.offHours() + ")";
        }
    };

    final String code;
    final String display;
    private final String counted;
    private final String read;
    private final String countSql;
    private final ToIntFunction<DetectionProperties> threshold;
    private final Function<DetectionProperties, Duration> window;
    private final IntUnaryOperator cap;

    DetectionRule(String code, String display, String counted, String read, String countSql, ToIntFunction<DetectionProperties> threshold,
                  Function<DetectionProperties, Duration> window, IntUnaryOperator cap) {
        this.code = code;
        this.display = display;
        this.counted = counted;
        this.read = read;
        this.countSql = countSql;
        this.threshold = threshold;
        this.window = window;
        this.cap = cap;
    }

    int threshold(DetectionProperties p) {
        return threshold.applyAsInt(p);
    }

    boolean enabled(DetectionProperties p) {
        return threshold(p) > 0;
    }

    /**
     * What the agent's window ending now shows past the rule's threshold, as the alert says it
     * (counts and durations, never a patient or a record); null when the rule is not passed.
     */
    String passed(JdbcTemplate jdbc, String agentToken, Instant now, DetectionProperties p) {
        Instant from = since(now, p);
        if (from == null) {
            return null;
        }
        int limit = cap.applyAsInt(threshold(p));
        OffsetDateTime since = OffsetDateTime.ofInstant(from, ZoneOffset.UTC);
        long[] counts = jdbc.queryForObject(countSql, (rs, n) -> new long[] {rs.getLong(1), rs.getLong(2)}, agentToken, since, limit);
        if (counts[0] > threshold(p)) {
            return "more than " + threshold(p) + " " + counted + " " + span(p);
        }
        return counts[1] >= limit ? "more than " + limit + " " + read + " " + span(p) : null;
    }

    /** Where the count starts at {@code now}, or null when the rule does not apply now. */
    Instant since(Instant now, DetectionProperties p) {
        return now.minus(window(p));
    }

    /** The counted span, as the alert says it. */
    String span(DetectionProperties p) {
        return "in " + window(p);
    }

    Duration window(DetectionProperties p) {
        return window.apply(p);
    }
}
