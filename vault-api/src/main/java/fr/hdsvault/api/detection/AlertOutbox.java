package fr.hdsvault.api.detection;

import fr.hdsvault.api.audit.AuditEvents;
import fr.hdsvault.api.audit.AuditLog;
import fr.hdsvault.api.audit.AuditTrail;
import io.micrometer.core.instrument.Metrics;
import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import org.hl7.fhir.r4.model.AuditEvent;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.dao.DuplicateKeyException;
import org.springframework.jdbc.core.JdbcTemplate;

/**
 * Feeds the alert sinks from the audit trail: each sink has a cursor in {@code alert_delivery}
 * (the position and time of the last alert it received), and this thread sends it the alerts
 * recorded after that, in order, when the detector raises one and every few seconds. An alert
 * raised while a sink is down, or by another node, or before a restart, is sent once the sink
 * answers again: the trail is the outbox. A sink that fails is tried again after a back-off
 * (1 s doubling to 1 min). Delivery is at least once: a cursor moves after the sink has the
 * alert, so a crash in between, or two nodes delivering together, sends it twice with the same id.
 */
public final class AlertOutbox implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(AlertOutbox.class);
    /**
     * Alerts are read from the cursor's time less this margin, by position: another node may have
     * taken a later position with a clock slightly behind (nodes keep NTP time, docs/deploy.md).
     */
    static final Duration CLOCK_MARGIN = Duration.ofMinutes(5);
    private static final Duration MAX_BACKOFF = Duration.ofMinutes(1);

    private record Cursor(long seq, OffsetDateTime at) {
    }

    private final JdbcTemplate jdbc;
    private final AuditLog auditLog;
    private final AuditTrail trail;
    private final List<AlertSink> sinks;
    private final Clock clock;
    private final Duration every;
    private final Semaphore wake = new Semaphore(0);
    private final Map<String, Instant> retryAt = new HashMap<>();
    private final Map<String, Duration> backoff = new HashMap<>();
    private final Thread thread;
    private volatile boolean running = true;

    public AlertOutbox(JdbcTemplate jdbc, AuditLog auditLog, AuditTrail trail, List<AlertSink> sinks, Duration every, Clock clock) {
        this.jdbc = jdbc;
        this.auditLog = auditLog;
        this.trail = trail;
        this.sinks = List.copyOf(sinks);
        this.every = every;
        this.clock = clock;
        // Cursors exist before the detector raises anything: a new sink's first alert is never skipped.
        this.sinks.forEach(sink -> cursor(sink.name(), clock.instant()));
        this.thread = new Thread(this::run, "alert-outbox");
        thread.setDaemon(true);
        if (!this.sinks.isEmpty()) {
            thread.start();
        }
    }

    /** The configured sinks' names (syslog, webhook). */
    public List<String> sinkNames() {
        return sinks.stream().map(AlertSink::name).toList();
    }

    /** Whether every sink has received the alert at trail position {@code seq} (by any node: the cursors are shared). */
    public boolean deliveredEverywhere(long seq) {
        return sinks.stream().allMatch(sink -> jdbc.queryForList("select delivered_seq from alert_delivery where sink = ?", Long.class,
                sink.name()).stream().anyMatch(delivered -> delivered >= seq));
    }

    /** An alert was just recorded: deliver without waiting for the next round. */
    public void wake() {
        wake.release();
    }

    private void run() {
        while (running) {
            try {
                wake.tryAcquire(every.toMillis(), TimeUnit.MILLISECONDS);
                wake.drainPermits();
                Instant now = clock.instant();
                for (AlertSink sink : sinks) {
                    if (!retryAt.getOrDefault(sink.name(), Instant.EPOCH).isAfter(now)) {
                        deliverPending(sink, now);
                    }
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            } catch (RuntimeException e) { // the database is away: the next round tries again
                log.warn("alert delivery did not run: {}", e.getClass().getName());
            }
        }
    }

    private void deliverPending(AlertSink sink, Instant now) {
        Cursor cursor = cursor(sink.name(), now);
        while (running) {
            List<Long> positions = jdbc.queryForList("select seq from audit_event where entity_token = ? and recorded_at >= ? "
                    + "and seq > ? order by seq limit 100", Long.class, auditLog.token("entity", AuditEvents.ALERT_ENTITY),
                    cursor.at().minus(CLOCK_MARGIN), cursor.seq());
            if (positions.isEmpty()) {
                return;
            }
            List<AuditEvent> events = auditLog.read(positions);
            for (int i = 0; i < positions.size(); i++) {
                SecurityAlert alert = SecurityAlert.of(positions.get(i), events.get(i));
                try {
                    sink.deliver(alert);
                } catch (IOException | RuntimeException e) {
                    Duration wait = backoff.merge(sink.name(), Duration.ofSeconds(1), (a, b) -> min(a.multipliedBy(2), MAX_BACKOFF));
                    retryAt.put(sink.name(), now.plus(wait));
                    Metrics.counter("vault.detection.delivery.failures", "sink", sink.name()).increment();
                    log.warn("alert {} not delivered to the {} sink ({}); next try in {}", alert.id(), sink.name(), e.getMessage(), wait);
                    return;
                }
                backoff.remove(sink.name());
                Metrics.counter("vault.detection.delivered", "sink", sink.name()).increment();
                Cursor next = new Cursor(alert.id(), OffsetDateTime.ofInstant(alert.recorded(), ZoneOffset.UTC));
                jdbc.update("update alert_delivery set delivered_seq = ?, delivered_at = ?, updated_at = ? where sink = ?", next.seq(),
                        next.at(), OffsetDateTime.ofInstant(now, ZoneOffset.UTC), sink.name());
                cursor = next;
            }
        }
    }

    /**
     * The sink's cursor; a sink configured for the first time starts at the end of the trail: it
     * receives the alerts raised from then on, not the history (which the auditor searches).
     */
    private Cursor cursor(String sink, Instant now) {
        List<Cursor> found = jdbc.query("select delivered_seq, delivered_at from alert_delivery where sink = ?",
                (rs, n) -> new Cursor(rs.getLong(1), rs.getObject(2, OffsetDateTime.class)), sink);
        if (!found.isEmpty()) {
            return found.get(0);
        }
        OffsetDateTime at = OffsetDateTime.ofInstant(now, ZoneOffset.UTC);
        try {
            jdbc.update("insert into alert_delivery (sink, delivered_seq, delivered_at, updated_at) values (?, ?, ?, ?)", sink,
                    trail.size() - 1, at, at);
        } catch (DuplicateKeyException e) { // another node made it first
            return cursor(sink, now);
        }
        log.info("alert sink {}: delivers the alerts recorded from now on", sink);
        return cursor(sink, now);
    }

    private static Duration min(Duration a, Duration b) {
        return a.compareTo(b) <= 0 ? a : b;
    }

    @Override
    public void close() {
        running = false;
        thread.interrupt();
        try {
            thread.join(5_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        sinks.forEach(AlertSink::close);
    }
}
