package fr.hdsvault.api.detection;

import fr.hdsvault.api.audit.AuditEvents;
import fr.hdsvault.api.audit.AuditLog;
import fr.hdsvault.api.audit.AuditTrail;
import fr.hdsvault.api.audit.AuditUnavailableException;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Metrics;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.jdbc.core.JdbcTemplate;

/**
 * Evaluates the detection rules as events are recorded, off the request path: the audit
 * writer hands each durable group to this detector's queue and goes on. The detector's thread
 * judges each event by the {@link EventRules} (break-glass, sensitive patients, privileged
 * changes), notes which agents were active and, at most every {@code evaluateEvery} per agent,
 * counts their recent events in the shared audit table ({@link DetectionRule}). Alerts are
 * AuditEvents of the vault's alert type, appended to the same Merkle-chained trail
 * (docs/detection.md). Before raising one, the detector looks for the same alert (rule, agent,
 * patient) already in the table within the rule's window, so that the nodes of a cluster (or a
 * restarted node) do not repeat it; two nodes evaluating the same agent in the same instant may
 * both raise it, which errs on the side of the alert.
 */
public final class Detector implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(Detector.class);
    private static final String BULK_EXPORT_SUBTYPE = "bulk-export";
    private static final String BULK_EXPORT_RULE = "bulk-export";

    private final AuditTrail trail;
    private final AuditLog auditLog;
    private final AuditEvents events;
    private final JdbcTemplate jdbc;
    private final DetectionProperties properties;
    private final Clock clock;
    private final Runnable raised;
    private final List<DetectionRule> rules;
    private final EventRules eventRules;
    private final RecordRules recordRules;
    private final TokenAddresses tokenAddresses;
    private final BreakGlassCare breakGlassCare;
    /** Events of agents, waiting for the detector; full means it falls behind: counted, never blocking the trail. */
    private final BlockingQueue<AuditEvents.Entry> observed = new ArrayBlockingQueue<>(10_000);
    private final Counter dropped = Counter.builder("vault.detection.dropped")
            .description("audit events not handed to the detection rules (queue full)").register(Metrics.globalRegistry);
    private final Map<String, Instant> lastEvaluated = new HashMap<>();
    private final Map<String, Instant> pending = new HashMap<>();
    private final Thread thread;
    private final java.util.concurrent.ScheduledExecutorService trailWatch;
    private volatile boolean running = true;

    /** @param raised told after each alert is recorded (the sinks' outbox) */
    public Detector(AuditTrail trail, AuditLog auditLog, AuditEvents events, JdbcTemplate jdbc, DetectionProperties properties,
                    RecordRules recordRules, fr.hdsvault.api.audit.AuditVerifier verifier, Runnable raised, Clock clock) {
        this.trail = trail;
        this.auditLog = auditLog;
        this.events = events;
        this.jdbc = jdbc;
        this.properties = properties;
        this.clock = clock;
        this.raised = raised;
        this.rules = java.util.Arrays.stream(DetectionRule.values()).filter(r -> r.enabled(properties)).toList();
        this.eventRules = new EventRules(properties);
        this.recordRules = recordRules;
        this.tokenAddresses = new TokenAddresses(jdbc, auditLog, properties.tokenAddresses());
        this.breakGlassCare = new BreakGlassCare(jdbc, auditLog, properties.breakGlass().alertEach()
                ? properties.breakGlass().careWithin() : Duration.ZERO);
        this.thread = new Thread(this::run, "detector");
        thread.setDaemon(true);
        thread.start();
        trail.onCommitted(this::observe);
        this.trailWatch = java.util.concurrent.Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "audit-trail-watch");
            t.setDaemon(true);
            return t;
        });
        Duration every = properties.trailCheckEvery();
        if (!every.isZero() && !every.isNegative()) {
            trailWatch.scheduleWithFixedDelay(() -> checkTrail(verifier), every.toMillis(), every.toMillis(), TimeUnit.MILLISECONDS);
        }
    }

    /** Called by the audit writer with each durable group: hands the agents' events over, never blocks. */
    void observe(List<AuditEvents.Entry> entries) {
        for (AuditEvents.Entry e : entries) {
            if (e.agent() != null && !e.subtype().startsWith("alert-") && !observed.offer(e)) {
                dropped.increment();
            }
        }
    }

    private void run() {
        List<AuditEvents.Entry> batch = new ArrayList<>();
        while (running) {
            try {
                AuditEvents.Entry first = observed.poll(200, TimeUnit.MILLISECONDS);
                Instant now = clock.instant();
                if (first != null) {
                    batch.add(first);
                    observed.drainTo(batch);
                    Map<String, String> exports = new HashMap<>(); // job entity -> agent
                    for (AuditEvents.Entry e : batch) {
                        pending.putIfAbsent(e.agent(), now);
                        List<EventRules.Finding> findings = new ArrayList<>(eventRules.check(e));
                        findings.addAll(recordRules.check(e));
                        EventRules.Finding replayed = tokenAddresses.check(e, now);
                        if (replayed != null) {
                            findings.add(replayed);
                        }
                        for (EventRules.Finding f : findings) {
                            raiseOnce(f.rule(), f.display(), e.agent(), f.patient(), f.measured(), f.once(), now);
                        }
                        if (BULK_EXPORT_SUBTYPE.equals(e.subtype()) && e.entity() != null) {
                            exports.put(e.entity(), e.agent());
                        }
                    }
                    exports.forEach((job, agent) -> evaluateExport(job, agent, now));
                }
                evaluateDue(now);
                tokenAddresses.prune(now);
                for (BreakGlassCare.Uncared u : breakGlassCare.due(now, false)) {
                    raiseOnce(BreakGlassCare.RULE, "Break-glass with no care afterwards", u.agent(), u.patient(), "no care recorded in "
                            + "the record within " + breakGlassCare.within() + " of a break-glass access", Duration.ofDays(1), now);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            } catch (RuntimeException e) { // a rule that fails is retried with the agent's next events
                log.warn("detection rules not evaluated: {}", e.getClass().getName());
            } finally {
                batch.clear();
            }
        }
    }

    static final String TRAIL_RULE = "audit-trail-integrity";

    /**
     * The trail verified as {@code vault audit verify} does it (every event against the signed
     * checkpoints, in the database and the bucket): a rewritten, deleted or truncated event, or a
     * checkpoint removed, raises an alert naming the first divergent position, once a day, and
     * counts an integrity failure. The agent of the alert is the vault itself.
     */
    private void checkTrail(fr.hdsvault.api.audit.AuditVerifier verifier) {
        try {
            fr.hdsvault.api.audit.AuditVerifier.Result result = verifier.verify();
            if (!result.ok()) {
                fr.hdsvault.api.metrics.IntegrityFailures.count(fr.hdsvault.api.metrics.IntegrityFailures.Kind.AUDIT);
                raiseOnce(TRAIL_RULE, "The audit trail does not verify", "hds-vault", null, result.message(), Duration.ofDays(1),
                        clock.instant());
            }
        } catch (RuntimeException e) { // the database or the bucket away: the next round tries again
            log.warn("the audit trail could not be verified: {}", e.getClass().getName());
        }
    }

    /** Evaluates every pending agent not evaluated within {@code evaluateEvery}; the others wait their turn. */
    private void evaluateDue(Instant now) {
        var it = pending.keySet().iterator();
        while (it.hasNext()) {
            String agent = it.next();
            Instant last = lastEvaluated.get(agent);
            if (last != null && last.plus(properties.evaluateEvery()).isAfter(now)) {
                continue;
            }
            it.remove();
            lastEvaluated.put(agent, now);
            evaluate(agent, now);
        }
        // Agents idle for longer than every window are forgotten: the map stays the size of the active staff.
        Instant forget = now.minus(properties.massAccess().window().plus(properties.enumeration().window()));
        lastEvaluated.values().removeIf(t -> t.isBefore(forget));
    }

    private void evaluate(String agent, Instant now) {
        String agentToken = auditLog.token("agent", agent);
        for (DetectionRule rule : rules) {
            String measured = rule.passed(jdbc, agentToken, now, properties);
            if (measured != null) {
                raiseOnce(rule.code, rule.display, agent, null, measured, rule.window(properties), now);
            }
        }
    }

    /**
     * A bulk export's volume: its patients (one event each, all naming the job) counted from the
     * job's own index range, up to one past the threshold; one alert per agent and day.
     */
    private void evaluateExport(String job, String agent, Instant now) {
        int threshold = properties.bulkExport().patients();
        if (threshold <= 0) {
            return;
        }
        Long n = jdbc.queryForObject("select count(*) from (select 1 from audit_event where entity_token = ? and recorded_at >= ? "
                + "order by recorded_at desc limit ?) e", Long.class, auditLog.token("entity", job),
                OffsetDateTime.ofInstant(now.minus(Duration.ofDays(1)), ZoneOffset.UTC), threshold + 1);
        if (n != null && n > threshold) {
            raiseOnce(BULK_EXPORT_RULE, "Bulk export above the volume", agent, null, "more than " + threshold
                    + " patients in one bulk export", Duration.ofDays(1), now);
        }
    }

    /** Raises the alert unless the same one (rule, agent, patient) is in the trail within {@code once} (null: always raises). */
    private void raiseOnce(String rule, String display, String agent, String patient, String measured, Duration once, Instant now) {
        String agentToken = auditLog.token("agent", agent);
        if (once != null && raisedSince(rule, agentToken, patient, now.minus(once)) > 0) {
            return;
        }
        try {
            trail.record(List.of(events.alert(rule, display, agent, patient, measured, now)));
        } catch (AuditUnavailableException e) { // evaluated again with the agent's next events
            log.error("security alert not recorded: rule {}: {}", rule, e.getMessage());
            return;
        }
        Metrics.counter("vault.detection.alerts", "rule", rule).increment();
        raised.run();
        log.warn("security alert raised: rule {} (AuditEvent?subtype={}|{})", rule, AuditEvents.ALERT_SYSTEM, rule);
        if (EventRules.BREAK_GLASS.equals(rule) && eventRules.countsBreakGlass()) {
            var breakGlass = eventRules.breakGlass();
            if (raisedSince(EventRules.BREAK_GLASS, agentToken, null, now.minus(breakGlass.window())) > breakGlass.patients()) {
                raiseOnce(EventRules.BREAK_GLASS_FREQUENT, EventRules.BREAK_GLASS_FREQUENT_DISPLAY, agent, null, "break-glass on more than "
                        + breakGlass.patients() + " patients' records in " + breakGlass.window(), breakGlass.window(), now);
            }
        }
    }

    /** The alerts of a rule about an agent (and a patient) since a time: few rows, read from the alerts' own index range. */
    private long raisedSince(String rule, String agentToken, String patient, Instant since) {
        String sql = "select count(*) from audit_event where entity_token = ? and recorded_at >= ? and subtype = ? and agent_token = ?";
        List<Object> args = new ArrayList<>(List.of(auditLog.token("entity", AuditEvents.ALERT_ENTITY),
                OffsetDateTime.ofInstant(since, ZoneOffset.UTC), AuditEvents.alertSubtype(rule), agentToken));
        if (patient != null) {
            sql += " and patient_token = ?";
            args.add(auditLog.token("patient", patient));
        }
        Long n = jdbc.queryForObject(sql, Long.class, args.toArray());
        return n == null ? 0 : n;
    }

    @Override
    public void close() {
        trailWatch.shutdownNow();
        running = false;
        thread.interrupt();
    }
}
