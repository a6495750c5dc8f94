package fr.hdsvault.api.detection;

import fr.hdsvault.api.audit.AuditEvents;
import fr.hdsvault.api.audit.AuditLog;
import fr.hdsvault.api.audit.AuditTrail;
import fr.hdsvault.api.audit.AuditUnavailableException;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Metrics;
import java.time.Clock;
import java.time.Instant;
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
 * writer hands each durable group to this detector's queue and goes on; the detector's thread
 * notes which agents were active and, at most every {@code evaluateEvery} per agent, counts
 * their recent events in the shared audit table ({@link DetectionRule}). An agent over a rule's
 * threshold gets one alert per rule and window: an AuditEvent of the vault's alert type,
 * appended to the same Merkle-chained trail (docs/detection.md). Before raising one, the
 * detector looks for an alert already in the table for that agent and rule within the window,
 * so that the nodes of a cluster (or a restarted node) do not repeat it; two nodes evaluating
 * the same agent in the same instant may both raise it, which errs on the side of the alert.
 */
public final class Detector implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(Detector.class);

    private final AuditTrail trail;
    private final AuditLog auditLog;
    private final AuditEvents events;
    private final JdbcTemplate jdbc;
    private final DetectionProperties properties;
    private final Clock clock;
    private final Runnable raised;
    private final List<DetectionRule> rules;
    /** Agents seen since they were last evaluated; full means the detector falls behind: counted, never blocking the trail. */
    private final BlockingQueue<String> active = new ArrayBlockingQueue<>(10_000);
    private final Counter dropped = Counter.builder("vault.detection.dropped")
            .description("agents' activity not handed to the detection rules (queue full)").register(Metrics.globalRegistry);
    private final Map<String, Instant> lastEvaluated = new HashMap<>();
    private final Map<String, Instant> pending = new HashMap<>();
    private final Thread thread;
    private volatile boolean running = true;

    /** @param raised told after each alert is recorded (the sinks' outbox) */
    public Detector(AuditTrail trail, AuditLog auditLog, AuditEvents events, JdbcTemplate jdbc, DetectionProperties properties,
                    Runnable raised, Clock clock) {
        this.trail = trail;
        this.auditLog = auditLog;
        this.events = events;
        this.jdbc = jdbc;
        this.properties = properties;
        this.clock = clock;
        this.raised = raised;
        this.rules = java.util.Arrays.stream(DetectionRule.values()).filter(r -> r.enabled(properties)).toList();
        this.thread = new Thread(this::run, "detector");
        thread.setDaemon(true);
        thread.start();
        trail.onCommitted(this::observe);
    }

    /** Called by the audit writer with each durable group: notes the agents, never blocks. */
    void observe(List<AuditEvents.Entry> entries) {
        for (AuditEvents.Entry e : entries) {
            if (e.agent() != null && !e.subtype().startsWith("alert-") && !active.offer(e.agent())) {
                dropped.increment();
            }
        }
    }

    private void run() {
        while (running) {
            try {
                String agent = active.poll(200, TimeUnit.MILLISECONDS);
                Instant now = clock.instant();
                while (agent != null) {
                    pending.putIfAbsent(agent, now);
                    agent = active.poll();
                }
                evaluateDue(now);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            } catch (RuntimeException e) { // a rule that fails is retried with the agent's next events
                log.warn("detection rules not evaluated: {}", e.getClass().getName());
            }
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
            if (measured != null && !alreadyRaised(rule, agentToken, now)) {
                raise(rule, agent, measured, now);
            }
        }
    }

    private boolean alreadyRaised(DetectionRule rule, String agentToken, Instant now) {
        Long n = jdbc.queryForObject("select count(*) from audit_event where entity_token = ? and subtype = ? and agent_token = ? "
                        + "and recorded_at >= ?", Long.class, auditLog.token("entity", AuditEvents.ALERT_ENTITY),
                AuditEvents.alertSubtype(rule.code), agentToken, rule.since(now, properties));
        return n != null && n > 0;
    }

    private void raise(DetectionRule rule, String agent, String measured, Instant now) {
        try {
            trail.record(List.of(events.alert(rule.code, rule.display, agent, measured, now)));
            Metrics.counter("vault.detection.alerts", "rule", rule.code).increment();
            raised.run();
            log.warn("security alert raised: rule {} (AuditEvent?subtype={}|{})", rule.code, AuditEvents.ALERT_SYSTEM, rule.code);
        } catch (AuditUnavailableException e) { // evaluated again with the agent's next events
            log.error("security alert not recorded: rule {}: {}", rule.code, e.getMessage());
        }
    }

    @Override
    public void close() {
        running = false;
        thread.interrupt();
    }
}
