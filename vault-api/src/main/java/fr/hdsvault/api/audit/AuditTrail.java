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
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
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
 * load. On H2, a group of reads ({@link #recordReads}) is forced through {@link AuditJournal}
 * instead of the database. Each event is a leaf of an RFC 9162 Merkle tree, sealed under the audit KEK. Positions
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

    /** An event waiting for the writer; {@code indexUnchanged} when its request changed nothing in the index. */
    private record Pending(Prepared prepared, boolean indexUnchanged, CompletableFuture<Void> done) {
    }

    /** How long the journal may hold events before the writer forces the database anyway. */
    private static final Duration JOURNAL_SPAN = Duration.ofSeconds(1);

    private final JdbcTemplate jdbc;
    private final TransactionTemplate tx;
    private final IndexDurability durability;
    /** Durability for groups of reads on H2 ({@link AuditJournal}); null where the database's own commit is the cheap path. */
    private final AuditJournal journal;
    private Instant lastIndexSync;
    /**
     * Versions of the audit KEK that a forced group used, so whose registry row is on disk: the
     * journal takes only groups sealed under those (a KEK created or rotated since is forced first,
     * or the journal would keep events no key opens after a power cut). Writer thread only.
     */
    private final Set<Integer> forcedKekVersions = new HashSet<>();
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
        this(jdbc, tx, durability, null, envelopes, fhir, auditLog, checkpoints, retention, settings, clock);
    }

    /** With {@code journal} (H2 only): replays what it holds and the database lost, before anything else touches the log. */
    AuditTrail(JdbcTemplate jdbc, TransactionTemplate tx, IndexDurability durability, AuditJournal journal, EnvelopeCipher envelopes,
               FhirContext fhir, AuditLog auditLog, AuditCheckpoints checkpoints, AuditRetention retention, Settings settings,
               Clock clock) {
        this.jdbc = jdbc;
        this.tx = tx;
        this.durability = durability;
        this.journal = journal;
        this.envelopes = envelopes;
        this.fhir = fhir;
        this.auditLog = auditLog;
        this.checkpoints = checkpoints;
        this.retention = retention;
        this.settings = settings;
        this.clock = clock;
        AuditHead.initialize(jdbc, tx, clock.instant());
        if (journal != null) {
            replay(journal.read());
            durability.sync();
            journal.restart();
        }
        this.lastIndexSync = clock.instant();
        checkpoints.republishLatestIfMissing();
        this.writtenSize = AuditHead.read(jdbc).size();
        this.checkpointedSize = checkpoints.latestSize();
        this.lastCheckpoint = clock.instant();
        this.writer = new Thread(this::writeLoop, "audit-writer");
        writer.setDaemon(true);
        writer.start();
    }

    /**
     * Blocks until every event is durable, with every index write committed before it;
     * throws {@link AuditUnavailableException} otherwise.
     */
    public void record(List<AuditEvents.Entry> entries) {
        record(entries, false);
    }

    /**
     * As {@link #record}, for the events of requests that changed nothing in the index (reads and
     * searches): on H2 the journal makes them durable without forcing the database.
     */
    public void recordReads(List<AuditEvents.Entry> entries) {
        record(entries, true);
    }

    private void record(List<AuditEvents.Entry> entries, boolean indexUnchanged) {
        List<CompletableFuture<Void>> waits = new ArrayList<>();
        for (AuditEvents.Entry e : entries) {
            Pending p = new Pending(prepare(e), indexUnchanged, new CompletableFuture<>());
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
                maybeSyncJournal();
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
        AuditJournal.Group group = tx.execute(status -> {
            CompactRange head = AuditHead.lock(jdbc);
            long first = head.size();
            byte[] rootBefore = journal == null ? null : head.root();
            Instant now = clock.instant().truncatedTo(ChronoUnit.MILLIS);
            List<AuditLeaf> leaves = new ArrayList<>(prepared.size());
            for (int i = 0; i < prepared.size(); i++) {
                long seq = first + i;
                Prepared p = prepared.get(i);
                AuditEvents.Entry e = p.entry();
                byte[] envelope = envelopes.seal(settings.kekId(), auditLog.context(seq), p.json());
                leaves.add(new AuditLeaf(seq, now, e.action(), e.outcome(), e.subtype(), p.agentToken(), p.patientToken(),
                        p.entityToken(), envelope));
            }
            append(head, leaves, now);
            return new AuditJournal.Group(first, rootBefore, leaves);
        });
        long size = group.first() + group.leaves().size();
        // One force for the whole group: these events (and, unless the journal took them, every write committed
        // before them) are on disk before anyone waiting here is answered.
        if (!journaled(batch, group)) {
            syncIndex();
        }
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

    /**
     * Makes the group durable through the journal when it may be (H2, reads only, keys already on
     * disk); false when the database must be forced instead, whose force then covers the group's keys.
     */
    private boolean journaled(List<Pending> batch, AuditJournal.Group group) {
        if (journal == null) {
            return false;
        }
        Set<Integer> kekVersions = new HashSet<>();
        group.leaves().forEach(leaf -> kekVersions.add(EnvelopeCipher.inspect(leaf.envelope()).kekVersion()));
        if (batch.stream().allMatch(Pending::indexUnchanged) && forcedKekVersions.containsAll(kekVersions) && journal.append(group)) {
            return true;
        }
        forcedKekVersions.addAll(kekVersions); // forced by the caller next
        return false;
    }

    /** Inserts the leaves and stores the head after them, in the transaction that locked it. */
    private void append(CompactRange head, List<AuditLeaf> leaves, Instant now) {
        List<Object[]> rows = new ArrayList<>(leaves.size());
        for (AuditLeaf leaf : leaves) {
            byte[] leafHash = leaf.hash();
            head.append(leafHash);
            rows.add(new Object[] {leaf.seq(), OffsetDateTime.ofInstant(leaf.recordedAt(), ZoneOffset.UTC), leaf.action(),
                    leaf.outcome(), leaf.subtype(), leaf.agentToken(), leaf.patientToken(), leaf.entityToken(), leaf.envelope(), leafHash});
        }
        jdbc.batchUpdate("insert into audit_event (seq, recorded_at, action, outcome, subtype, agent_token, patient_token, "
                + "entity_token, envelope, leaf_hash) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows);
        AuditHead.write(jdbc, head, now);
    }

    /** Forces the database (everything committed so far) and, that done, starts the journal again. */
    private void syncIndex() {
        durability.sync();
        lastIndexSync = clock.instant();
        if (journal != null) {
            journal.restart();
        }
    }

    /** The journal holds at most a second of events: then the database is forced, as H2 never does on its own. */
    private void maybeSyncJournal() {
        if (journal != null && journal.used() > 0 && Duration.between(lastIndexSync, clock.instant()).compareTo(JOURNAL_SPAN) >= 0) {
            syncIndex();
        }
    }

    /**
     * Puts back the groups the journal made durable and the database lost (a killed vault or a
     * power cut since its last force). A group already stored must be the one stored; a group
     * beyond must continue the stored log exactly (same position, same root): anything else means
     * the journal belongs to another log, and the vault refuses to start rather than mix them.
     */
    private void replay(List<AuditJournal.Group> groups) {
        long replayed = 0;
        for (AuditJournal.Group g : groups) {
            CompactRange head = AuditHead.read(jdbc);
            if (g.first() + g.leaves().size() <= head.size()) {
                for (AuditLeaf leaf : g.leaves()) {
                    List<byte[]> stored = jdbc.queryForList("select leaf_hash from audit_event where seq = ?", byte[].class, leaf.seq());
                    if (!stored.isEmpty() && !Arrays.equals(stored.get(0), leaf.hash())) {
                        throw new IllegalStateException("the audit journal differs from the stored trail at position " + leaf.seq()
                                + ": refusing to start (docs/audit.md, \"Journal\")");
                    }
                }
                continue;
            }
            if (g.first() != head.size() || !Arrays.equals(g.rootBefore(), head.root())) {
                throw new IllegalStateException("the audit journal does not continue the stored trail (journal at position " + g.first()
                        + ", trail of " + head.size() + " events): refusing to start (docs/audit.md, \"Journal\")");
            }
            tx.executeWithoutResult(status -> append(AuditHead.lock(jdbc), g.leaves(), g.leaves().get(g.leaves().size() - 1).recordedAt()));
            replayed += g.leaves().size();
        }
        if (replayed > 0) {
            log.warn("audit journal: {} events the index had not stored were put back from the journal", replayed);
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
        } finally {
            if (journal != null) { // what it holds and the database lacks is put back at the next start
                journal.close();
            }
        }
    }
}
