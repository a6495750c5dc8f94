package fr.hdsvault.api.audit;

import ca.uhn.fhir.context.FhirContext;
import fr.hdsvault.api.index.IndexDurability;
import fr.hdsvault.crypto.EnvelopeCipher;
import fr.hdsvault.crypto.tlog.CompactRange;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;
import io.micrometer.core.instrument.Metrics;
import io.micrometer.core.instrument.Timer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * The write side of the append-only audit log. Callers block in {@link #record} until their
 * events are durable (committed and forced to disk); one writer thread commits whatever is
 * waiting in one transaction and one sync (group commit), so that durability stays cheap under
 * load. Each event is a leaf of an RFC 9162 Merkle tree, sealed under the audit KEK. Positions
 * come from the log's head in the database ({@link AuditHead}), locked by each group's
 * transaction: every node of a cluster appends to the same log. The same thread publishes a
 * checkpoint every {@code checkpointEvery} events or {@code checkpointInterval}
 * ({@link AuditCheckpoints}) and applies retention hourly ({@link AuditRetention}). Reads and
 * searches: {@link AuditLog}.
 */
public final class AuditTrail implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(AuditTrail.class);
    private static final int MAX_BATCH = 1000;

    /** Where events go and when checkpoints and retention run. */
    public record Settings(String kekId, int checkpointEvery, Duration checkpointInterval, Duration writeTimeout,
                           Duration retention) {
    }

    private record Pending(Prepared prepared, CompletableFuture<Void> done) {
    }

    private final JdbcTemplate jdbc;
    private final TransactionTemplate tx;
    private final IndexDurability durability;
    private final EnvelopeCipher envelopes;
    private final FhirContext fhir;
    private final AuditLog auditLog;
    private final AuditCheckpoints checkpoints;
    private final AuditRetention retention;
    private final Settings settings;
    private final Clock clock;
    private final BlockingQueue<Pending> queue = new ArrayBlockingQueue<>(100_000);
    /** One group commit: seal, append, store the head, force to disk (a metric, docs/metrics.md). */
    private final Timer commitTime = Timer.builder("vault.audit.commit").description("one group commit of audit events, sync included")
            .publishPercentileHistogram().register(Metrics.globalRegistry);
    private final Thread writer;
    private volatile boolean running = true;
    /** Told of each group once it is durable (the detection rules); called on the writer thread, so it must not block. */
    private final List<Consumer<List<AuditEvents.Entry>>> committed = new CopyOnWriteArrayList<>();
    /** Whether the last commit failed: writes are then refused before they change anything. */
    private volatile boolean failing;
    /** The log's size after this node's last group, and at the newest checkpoint this node knows of. */
    private long writtenSize;
    private long checkpointedSize;
    private Instant lastCheckpoint;
    private Instant lastPrune = Instant.EPOCH;

    public AuditTrail(JdbcTemplate jdbc, TransactionTemplate tx, IndexDurability durability, EnvelopeCipher envelopes,
                      FhirContext fhir, AuditLog auditLog, AuditCheckpoints checkpoints, AuditRetention retention, Settings settings,
                      Clock clock) {
        this.jdbc = jdbc;
        this.tx = tx;
        this.durability = durability;
        this.envelopes = envelopes;
        this.fhir = fhir;
        this.auditLog = auditLog;
        this.checkpoints = checkpoints;
        this.retention = retention;
        this.settings = settings;
        this.clock = clock;
        AuditHead.initialize(jdbc, tx, clock.instant());
        checkpoints.republishLatestIfMissing();
        this.writtenSize = AuditHead.read(jdbc).size();
        this.checkpointedSize = checkpoints.latestSize();
        this.lastCheckpoint = clock.instant();
        this.writer = new Thread(this::writeLoop, "audit-writer");
        writer.setDaemon(true);
        writer.start();
    }

    /** Blocks until every event is durable; throws {@link AuditUnavailableException} otherwise. */
    public void record(List<AuditEvents.Entry> entries) {
        List<CompletableFuture<Void>> waits = new ArrayList<>();
        for (AuditEvents.Entry e : entries) {
            Pending p = new Pending(prepare(e), new CompletableFuture<>());
            if (!running || !queue.offer(p)) {
                throw new AuditUnavailableException("the audit trail is not accepting events");
            }
            waits.add(p.done());
        }
        try {
            CompletableFuture.allOf(waits.toArray(CompletableFuture[]::new))
                    .get(settings.writeTimeout().toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AuditUnavailableException("interrupted while writing the audit trail");
        } catch (ExecutionException | TimeoutException e) {
            throw new AuditUnavailableException("the audit trail could not be written");
        }
    }

    /** Adds a listener told of every group of events once durable; it must return at once (hand off, never block). */
    public void onCommitted(Consumer<List<AuditEvents.Entry>> listener) {
        committed.add(listener);
    }

    /** The number of events in the log (all nodes'). */
    public long size() {
        return AuditHead.read(jdbc).size();
    }

    /** Events waiting for the writer: a queue that grows means commits fall behind. */
    public int queueDepth() {
        return queue.size();
    }

    /** True after a failed commit, until a commit succeeds again. */
    boolean failing() {
        return failing;
    }

    private void writeLoop() {
        List<Pending> batch = new ArrayList<>();
        while (running || !queue.isEmpty()) {
            try {
                Pending first = queue.poll(200, TimeUnit.MILLISECONDS);
                if (first != null) {
                    batch.add(first);
                    queue.drainTo(batch, MAX_BATCH - 1);
                    commit(batch);
                    batch.clear();
                }
                maybeCheckpoint();
                maybePrune();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            } catch (RuntimeException e) {
                failing = true;
                log.error("audit trail write failed: {}", e.getClass().getName());
                batch.forEach(p -> p.done().completeExceptionally(e));
                batch.clear();
            }
        }
    }

    /** What an event becomes before it has a position: done outside the head's lock, which other nodes wait for. */
    private record Prepared(AuditEvents.Entry entry, byte[] json, String agentToken, String patientToken, String entityToken) {
    }

    /**
     * The event's JSON and blind-index tokens, computed by the thread that records it (each request's
     * own), not by the single writer: the writer does only what needs the event's position. The
     * event's id is its position, given when it is read (AuditLog), so the JSON is encoded before
     * positions exist.
     */
    private Prepared prepare(AuditEvents.Entry e) {
        return new Prepared(e, fhir.newJsonParser().encodeResourceToString(e.event()).getBytes(StandardCharsets.UTF_8),
                auditLog.token("agent", e.agent()), auditLog.token("patient", e.patient()), auditLog.token("entity", e.entity()));
    }

    private void commit(List<Pending> batch) {
        long started = System.nanoTime();
        List<Prepared> prepared = batch.stream().map(Pending::prepared).toList();
        // Sealed and hashed under the head's lock: each event's position is bound into its envelope and its leaf.
        long size = tx.execute(status -> {
            CompactRange head = AuditHead.lock(jdbc);
            long first = head.size();
            Instant now = clock.instant().truncatedTo(ChronoUnit.MILLIS);
            List<Object[]> rows = new ArrayList<>(prepared.size());
            for (int i = 0; i < prepared.size(); i++) {
                long seq = first + i;
                Prepared p = prepared.get(i);
                AuditEvents.Entry e = p.entry();
                byte[] envelope = envelopes.seal(settings.kekId(), auditLog.context(seq), p.json());
                AuditLeaf leaf = new AuditLeaf(seq, now, e.action(), e.outcome(), e.subtype(), p.agentToken(), p.patientToken(),
                        p.entityToken(), envelope);
                byte[] leafHash = leaf.hash();
                head.append(leafHash);
                rows.add(new Object[] {seq, OffsetDateTime.ofInstant(now, ZoneOffset.UTC), leaf.action(), leaf.outcome(), leaf.subtype(),
                        leaf.agentToken(), leaf.patientToken(), leaf.entityToken(), envelope, leafHash});
            }
            jdbc.batchUpdate("insert into audit_event (seq, recorded_at, action, outcome, subtype, agent_token, patient_token, "
                    + "entity_token, envelope, leaf_hash) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows);
            AuditHead.write(jdbc, head, now);
            return head.size();
        });
        // One sync for the whole group: these events and every write committed before them are on disk
        // before anyone waiting here is answered.
        durability.sync();
        synchronized (this) {
            writtenSize = Math.max(writtenSize, size);
        }
        failing = false;
        commitTime.record(System.nanoTime() - started, TimeUnit.NANOSECONDS);
        batch.forEach(p -> p.done().complete(null));
        if (!committed.isEmpty()) {
            List<AuditEvents.Entry> entries = prepared.stream().map(Prepared::entry).toList();
            for (var listener : committed) {
                try {
                    listener.accept(entries);
                } catch (RuntimeException e) { // a listener never fails the trail
                    log.warn("audit listener failed: {}", e.getClass().getName());
                }
            }
        }
    }

    private void maybeCheckpoint() {
        long size;
        synchronized (this) {
            size = writtenSize;
        }
        Instant now = clock.instant();
        boolean due = size - checkpointedSize >= settings.checkpointEvery()
                || size > checkpointedSize && Duration.between(lastCheckpoint, now).compareTo(settings.checkpointInterval()) >= 0;
        if (due) {
            checkpoint();
        }
    }

    private void maybePrune() {
        Instant now = clock.instant();
        if (Duration.between(lastPrune, now).compareTo(Duration.ofHours(1)) >= 0) {
            lastPrune = now;
            try {
                long deleted = retention.prune(now.minus(settings.retention()), now);
                if (deleted > 0) {
                    log.info("audit retention: {} events older than {} pruned, their checkpoints kept", deleted, settings.retention());
                }
            } catch (RuntimeException e) { // retention runs again within the hour; it never fails the trail
                log.warn("audit retention did not run: {}", e.getClass().getSimpleName());
            }
        }
    }

    /** Signs and publishes a checkpoint of the whole log (all nodes') now, unless one of its size exists; returns the newest note. */
    public String checkpoint() {
        String note = checkpoints.publish();
        long size = checkpoints.latestSize();
        synchronized (this) {
            checkpointedSize = Math.max(checkpointedSize, size);
            writtenSize = Math.max(writtenSize, size);
            lastCheckpoint = clock.instant();
        }
        return note;
    }

    @Override
    public void close() {
        running = false;
        try {
            writer.join(5_000);
            checkpoint();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException e) {
            log.warn("final audit checkpoint not written: {}", e.getClass().getName());
        }
    }
}
