package fr.hdsvault.api.audit;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.hl7.fhir.r4.model.AuditEvent;
import org.hl7.fhir.r4.model.Extension;
import org.hl7.fhir.r4.model.IntegerType;
import org.hl7.fhir.r4.model.Period;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Repeated identical refusals from one source are recorded as one AuditEvent with a count, so
 * that a flood of bad tokens cannot grow the trail without bound while every attempt is still
 * accounted for. "Identical": same client address, agent, method, path and status (401, 403,
 * 429). The first refusal of a window is recorded as usual, durably, before its answer; the
 * repeats within {@code window} are counted in memory, and when the window closes one event
 * says how many there were and over which period ({@code AuditEvent.period}, extension
 * {@value #REPEATS}). A crash loses at most the counts of open windows, never a first refusal,
 * and never anything served.
 */
public final class RefusalAggregator implements AutoCloseable {

    public static final String REPEATS = "urn:hds-vault:repeated-refusals";
    private static final Logger log = LoggerFactory.getLogger(RefusalAggregator.class);
    private static final int MAX_WINDOWS = 10_000;

    /** What makes two refusals identical. */
    public record Key(String address, String agent, String method, String path, int status) {
    }

    private record Window(Instant opened, List<AuditEvents.Entry> first, int repeats, Instant lastRepeat) {
        Window repeated(Instant now) {
            return new Window(opened, first, repeats + 1, now);
        }
    }

    private final AuditTrail trail;
    private final Duration window;
    private final Clock clock;
    private final Map<Key, Window> windows = new ConcurrentHashMap<>();
    private final ScheduledExecutorService flusher;

    public RefusalAggregator(AuditTrail trail, Duration window, Clock clock) {
        this.trail = trail;
        this.window = window;
        this.clock = clock;
        this.flusher = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "audit-refusal-counts");
            t.setDaemon(true);
            return t;
        });
        long period = Math.max(200, Math.min(1000, window.toMillis() / 4));
        flusher.scheduleWithFixedDelay(() -> flush(false), period, period, TimeUnit.MILLISECONDS);
    }

    public static boolean aggregates(int status) {
        return status == 401 || status == 403 || status == 429;
    }

    /**
     * Whether this refusal opens a window (record it now), or repeats one already open (it is
     * counted, and recorded with the window's summary). Beyond {@value #MAX_WINDOWS} open windows,
     * every refusal is recorded on its own.
     */
    public boolean opens(Key key, List<AuditEvents.Entry> entries) {
        Instant now = clock.instant();
        boolean[] opened = {false};
        if (windows.size() >= MAX_WINDOWS && !windows.containsKey(key)) {
            return true;
        }
        windows.compute(key, (k, open) -> {
            if (open == null || !now.isBefore(open.opened().plus(window))) {
                if (open != null && open.repeats() > 0) {
                    record(open, now); // a window closing as the next one opens
                }
                opened[0] = true;
                return new Window(now, entries, 0, null);
            }
            return open.repeated(now);
        });
        return opened[0];
    }

    /** Records the summaries of closed windows (all open windows, at shutdown). */
    void flush(boolean all) {
        Instant now = clock.instant();
        for (Key key : List.copyOf(windows.keySet())) {
            windows.computeIfPresent(key, (k, open) -> {
                if (!all && now.isBefore(open.opened().plus(window))) {
                    return open;
                }
                if (open.repeats() > 0) {
                    record(open, now);
                }
                return null;
            });
        }
    }

    private void record(Window w, Instant now) {
        try {
            trail.record(w.first().stream().map(e -> summary(e, w, now)).toList());
        } catch (RuntimeException e) {
            log.error("the count of {} repeated refusals could not be recorded: {}", w.repeats(), e.getClass().getSimpleName());
        }
    }

    private static AuditEvents.Entry summary(AuditEvents.Entry first, Window w, Instant now) {
        AuditEvent event = first.event().copy();
        event.setId((String) null);
        event.setRecorded(Date.from(now));
        event.setPeriod(new Period().setStart(Date.from(w.opened())).setEnd(Date.from(w.lastRepeat())));
        event.setOutcomeDesc(first.event().getOutcomeDesc() + ", repeated " + w.repeats() + " more times from the same source");
        event.addExtension(new Extension(REPEATS, new IntegerType(w.repeats())));
        return new AuditEvents.Entry(event, first.action(), first.outcome(), first.subtype(), first.agent(), first.patient(),
                first.entity());
    }

    @Override
    public void close() {
        flusher.shutdownNow();
        flush(true);
    }
}
