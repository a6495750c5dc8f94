package fr.hdsvault.api.metrics;

import fr.hdsvault.api.backup.BackupService;
import fr.hdsvault.api.backup.DrillReport;
import fr.hdsvault.backup.BackupSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Comparator;
import java.util.Objects;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What an operator alerts on about backups: the age of the newest complete set, and the newest
 * finished restore drill's result, RTO and age. Read from the backup bucket and the database at
 * most once a minute, whatever the scrape interval; every node reports the cluster's figures.
 *
 * <ul>
 *   <li>{@code vault.backup.age} (seconds): now minus the newest complete set's point in time;
 *       +Inf when there is none, so that "older than a day" fires on a vault never backed up.</li>
 *   <li>{@code vault.drill.last.result}: 1 passed, 0 failed; NaN before the first drill.</li>
 *   <li>{@code vault.drill.last.rto} (seconds): the restore time that drill measured.</li>
 *   <li>{@code vault.drill.last.age} (seconds): since that drill started.</li>
 * </ul>
 */
public final class BackupMetrics {

    private static final Duration REFRESH = Duration.ofMinutes(1);
    private static final Logger log = LoggerFactory.getLogger(BackupMetrics.class);

    private record State(Instant readAt, Instant newestSet, DrillReport lastDrill) {
    }

    private final BackupService backups;
    private final Clock clock;
    private volatile State state;

    public BackupMetrics(BackupService backups, Clock clock) {
        this.backups = backups;
        this.clock = clock;
    }

    public BackupMetrics register(MeterRegistry registry) {
        Gauge.builder("vault.backup.age", this, m -> m.secondsSince(m.state().newestSet())).baseUnit("seconds")
                .description("age of the newest complete backup set; +Inf when there is none").register(registry);
        Gauge.builder("vault.drill.last.result", this, m -> Optional.ofNullable(m.state().lastDrill())
                        .map(d -> DrillReport.PASSED.equals(d.status()) ? 1.0 : 0.0).orElse(Double.NaN))
                .description("the newest finished restore drill: 1 passed, 0 failed").register(registry);
        Gauge.builder("vault.drill.last.rto", this, m -> Optional.ofNullable(m.state().lastDrill()).map(DrillReport::rtoSeconds)
                        .orElse(Double.NaN)).baseUnit("seconds")
                .description("the restore time the newest finished drill measured").register(registry);
        Gauge.builder("vault.drill.last.age", this, m -> Optional.ofNullable(m.state().lastDrill())
                        .map(d -> m.secondsSince(d.startedAt())).orElse(Double.NaN)).baseUnit("seconds")
                .description("time since the newest finished drill started").register(registry);
        return this;
    }

    private double secondsSince(Instant then) {
        return then == null ? Double.POSITIVE_INFINITY : Duration.between(then, clock.instant()).toMillis() / 1000.0;
    }

    private State state() {
        State s = state;
        Instant now = clock.instant();
        if (s == null || now.isAfter(s.readAt().plus(REFRESH))) {
            s = read(now, s);
            state = s;
        }
        return s;
    }

    /** The figures now; when the bucket or the database does not answer, the last ones read (or none). */
    private State read(Instant now, State previous) {
        try {
            Instant newest = backups.list().stream().filter(set -> BackupSummary.COMPLETE.equals(set.status()))
                    .map(set -> set.pointInTime() != null ? set.pointInTime() : set.finishedAt()).filter(Objects::nonNull)
                    .max(Comparator.naturalOrder()).orElse(null);
            DrillReport drill = backups.drills(10).stream().filter(d -> !DrillReport.RUNNING.equals(d.status())).findFirst()
                    .orElse(null);
            return new State(now, newest, drill);
        } catch (RuntimeException e) {
            log.warn("backup metrics not refreshed: {}", e.getClass().getSimpleName());
            return previous != null ? new State(now, previous.newestSet(), previous.lastDrill())
                    : new State(now, null, null);
        }
    }
}
