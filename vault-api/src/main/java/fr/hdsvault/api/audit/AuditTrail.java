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
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * The write side of the append-only audit log. Callers block in {@link #record} until their
 * events are durable (committed and forced to disk); one writer thread commits whatever is
 * waiting in one transaction and one sync (group commit), so that durability stays cheap under
 * load. Each event is a leaf of an RFC 9162 Merkle tree, sealed under the audit KEK. The same
 * thread publishes a checkpoint every {@code checkpointEvery} events or
 * {@code checkpointInterval} ({@link AuditCheckpoints}) and applies retention hourly
 * ({@link AuditRetention}). Reads and searches: {@link AuditLog}.
 */
public final class AuditTrail implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(AuditTrail.class);
    private static final int MAX_BATCH = 1000;

    /** Where events go and when checkpoints and retention run. */
    public record Settings(String kekId, int checkpointEvery, Duration checkpointInterval, Duration writeTimeout,
                           Duration retention) {
    }

    private record Pending(AuditEvents.Entry entry, CompletableFuture<Void> done) {
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
    private final CompactRange tree;
    private final Thread writer;
    private volatile boolean running = true;
    /** Whether the last commit failed: writes are then refused before they change anything. */
    private volatile boolean failing;
    /** Whether the tree must be compared with the stored events before the next group (after a failed commit). */
    private boolean resync;
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
        // The tree continues from where retention pruned, over the events still stored.
        this.tree = AuditRetention.prunedPrefix(jdbc).orElseGet(CompactRange::new);
        jdbc.query("select leaf_hash from audit_event where seq >= ? order by seq", rs -> {
            tree.append(rs.getBytes(1));
        }, tree.size());
        checkpoints.republishLatestIfMissing();
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
            Pending p = new Pending(e, new CompletableFuture<>());
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

    /** The number of events in the log. */
    public synchronized long size() {
        return tree.size();
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
                // The database may have committed the group even though the answer was lost (a connection broken
                // after the commit): before the next group, the tree catches up with what is stored.
                resync = true;
                log.error("audit trail write failed: {}", e.getClass().getName());
                batch.forEach(p -> p.done().completeExceptionally(e));
                batch.clear();
            }
        }
    }

    private void commit(List<Pending> batch) {
        if (resync) {
            catchUp();
        }
        long first;
        synchronized (this) {
            first = tree.size();
        }
        Instant now = clock.instant().truncatedTo(ChronoUnit.MILLIS);
        List<Object[]> rows = new ArrayList<>(batch.size());
        List<byte[]> leaves = new ArrayList<>(batch.size());
        for (int i = 0; i < batch.size(); i++) {
            long seq = first + i;
            AuditEvents.Entry e = batch.get(i).entry();
            e.event().setId(String.valueOf(seq));
            byte[] json = fhir.newJsonParser().encodeResourceToString(e.event()).getBytes(StandardCharsets.UTF_8);
            byte[] envelope = envelopes.seal(settings.kekId(), auditLog.context(seq), json);
            AuditLeaf leaf = new AuditLeaf(seq, now, e.action(), e.outcome(), e.subtype(), auditLog.token("agent", e.agent()),
                    auditLog.token("patient", e.patient()), auditLog.token("entity", e.entity()), envelope);
            byte[] leafHash = leaf.hash();
            leaves.add(leafHash);
            rows.add(new Object[] {seq, OffsetDateTime.ofInstant(now, ZoneOffset.UTC), leaf.action(), leaf.outcome(), leaf.subtype(),
                    leaf.agentToken(), leaf.patientToken(), leaf.entityToken(), envelope, leafHash});
        }
        tx.executeWithoutResult(s -> jdbc.batchUpdate("insert into audit_event (seq, recorded_at, action, outcome, subtype, "
                + "agent_token, patient_token, entity_token, envelope, leaf_hash) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows));
        // One sync for the whole group: these events and every write committed before them are on disk
        // before anyone waiting here is answered.
        durability.sync();
        synchronized (this) {
            leaves.forEach(tree::append);
        }
        failing = false;
        batch.forEach(p -> p.done().complete(null));
    }

    /** Appends to the tree the events stored beyond it: a group committed whose acknowledgement was lost. */
    private void catchUp() {
        long size;
        synchronized (this) {
            size = tree.size();
        }
        List<byte[]> stored = jdbc.query("select leaf_hash from audit_event where seq >= ? order by seq", (rs, n) -> rs.getBytes(1),
                size);
        synchronized (this) {
            stored.forEach(tree::append);
        }
        if (!stored.isEmpty()) {
            log.warn("audit trail: {} events committed by a failed group were found stored and are kept in the log", stored.size());
        }
        resync = false;
    }

    private void maybeCheckpoint() {
        long size;
        synchronized (this) {
            size = tree.size();
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
            long deleted = retention.prune(now.minus(settings.retention()), now);
            if (deleted > 0) {
                log.info("audit retention: {} events older than {} pruned, their checkpoints kept", deleted, settings.retention());
            }
        }
    }

    /** Signs and publishes a checkpoint of the whole log now (also on shutdown); returns its note. */
    public synchronized String checkpoint() {
        String note = checkpoints.publish(tree.size(), tree.root());
        checkpointedSize = Math.max(checkpointedSize, tree.size());
        lastCheckpoint = clock.instant();
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
