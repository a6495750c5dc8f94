package fr.hdsvault.api.audit;

import ca.uhn.fhir.context.FhirContext;
import fr.hdsvault.api.index.IndexDurability;
import fr.hdsvault.crypto.EncryptionContext;
import fr.hdsvault.crypto.EnvelopeCipher;
import fr.hdsvault.crypto.sign.Ed25519;
import fr.hdsvault.crypto.tlog.Checkpoint;
import fr.hdsvault.crypto.tlog.CompactRange;
import fr.hdsvault.crypto.tlog.MerkleTree;
import fr.hdsvault.storage.ObjectStore;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * The append-only audit log. Callers block in {@link #record} until their events are durable
 * (committed to the database); one writer thread commits whatever is waiting in one
 * transaction (group commit), so that durability stays cheap under load. Each event is a leaf
 * of an RFC 9162 Merkle tree; every {@code checkpointEvery} events or {@code checkpointInterval}
 * the writer signs a checkpoint (Ed25519, C2SP signed note), stores it in the database and puts
 * a copy in the audit bucket of the object store. Events are sealed under the audit KEK.
 */
public final class AuditTrail implements AutoCloseable {

    public static final String CHECKPOINT_PREFIX = "checkpoints/";
    private static final Logger log = LoggerFactory.getLogger(AuditTrail.class);
    private static final int MAX_BATCH = 1000;

    /** Where events go, and how checkpoints are signed and published. */
    public record Settings(String tenant, String origin, String keyName, Ed25519.SigningKey key, String kekId,
                           String bucket, int checkpointEvery, Duration checkpointInterval, Duration writeTimeout,
                           Duration retention) {
    }

    /** The tree's state where older events were pruned, if they were: (size, peaks). */
    static java.util.Optional<CompactRange> prunedPrefix(JdbcTemplate jdbc) {
        return jdbc.query("select tree_size, peaks from audit_prune order by tree_size desc limit 1", (rs, n) -> {
            byte[] all = rs.getBytes(2);
            List<byte[]> peaks = new ArrayList<>();
            for (int i = 0; i < all.length; i += MerkleTree.HASH_LENGTH) {
                peaks.add(java.util.Arrays.copyOfRange(all, i, i + MerkleTree.HASH_LENGTH));
            }
            return CompactRange.restore(rs.getLong(1), peaks);
        }).stream().findFirst();
    }

    /**
     * Retention: deletes the events recorded before {@code cutoff}, in whole checkpointed ranges
     * only (up to the largest checkpoint whose events are all older), and records the tree's
     * peaks there so that the log and its verification continue. Checkpoints are kept. Returns
     * the number of events deleted.
     */
    public synchronized long prune(Instant cutoff) {
        CompactRange range = prunedPrefix(jdbc).orElseGet(CompactRange::new);
        Long point = jdbc.queryForObject("select max(c.tree_size) from audit_checkpoint c where c.tree_size > ? and not exists "
                + "(select 1 from audit_event e where e.seq < c.tree_size and e.recorded_at >= ?)", Long.class, range.size(),
                OffsetDateTime.ofInstant(cutoff, ZoneOffset.UTC));
        if (point == null) {
            return 0;
        }
        jdbc.query("select leaf_hash from audit_event where seq >= ? and seq < ? order by seq",
                rs -> {
                    range.append(rs.getBytes(1));
                }, range.size(), point);
        java.io.ByteArrayOutputStream peaks = new java.io.ByteArrayOutputStream();
        range.peaks().forEach(peaks::writeBytes);
        long target = point;
        return tx.execute(status -> {
            jdbc.update("insert into audit_prune (tree_size, peaks, pruned_at) values (?, ?, ?)", target, peaks.toByteArray(),
                    OffsetDateTime.ofInstant(clock.instant(), ZoneOffset.UTC));
            return (long) jdbc.update("delete from audit_event where seq < ?", target);
        });
    }

    private record Pending(AuditEvents.Entry entry, CompletableFuture<Void> done) {
    }

    private final JdbcTemplate jdbc;
    private final TransactionTemplate tx;
    private final IndexDurability durability;
    private final EnvelopeCipher envelopes;
    private final ObjectStore store;
    private final FhirContext fhir;
    private final Function<String, String> blind;
    private final Settings settings;
    private final Clock clock;
    private final BlockingQueue<Pending> queue = new ArrayBlockingQueue<>(100_000);
    private final CompactRange tree;
    private final Thread writer;
    private volatile boolean running = true;
    /** Whether the last commit failed: writes are then refused before they change anything. */
    private volatile boolean failing;
    private long checkpointedSize;
    private Instant lastCheckpoint;
    private Instant lastPrune = Instant.EPOCH;

    /**
     * @param blind HMAC tokens for the searchable columns (agent, patient, entity): never values in clear
     */
    public AuditTrail(JdbcTemplate jdbc, TransactionTemplate tx, IndexDurability durability, EnvelopeCipher envelopes,
                      ObjectStore store, FhirContext fhir, Function<String, String> blind, Settings settings, Clock clock) {
        this.jdbc = jdbc;
        this.tx = tx;
        this.durability = durability;
        this.envelopes = envelopes;
        this.store = store;
        this.fhir = fhir;
        this.blind = blind;
        this.settings = settings;
        this.clock = clock;
        this.tree = prunedPrefix(jdbc).orElseGet(CompactRange::new);
        jdbc.query("select leaf_hash from audit_event where seq >= ? order by seq", rs -> {
            tree.append(rs.getBytes(1));
        }, tree.size());
        this.checkpointedSize = jdbc.queryForObject("select coalesce(max(tree_size), 0) from audit_checkpoint", Long.class);
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

    /** What an audit search asks for; null members are not constrained. Tokens come from {@link #token}. */
    public record Query(String patientToken, String agentToken, String entityToken, String action, Integer outcome,
                        Instant from, Instant to, boolean newestFirst) {
    }

    public static final int MAX_MATCHES = 10_000;

    /** Positions of the events matching a query, in order. */
    public List<Long> search(Query q) {
        StringBuilder sql = new StringBuilder("select seq from audit_event where 1 = 1");
        List<Object> args = new ArrayList<>();
        for (Object[] clause : new Object[][] {{"patient_token", q.patientToken()}, {"agent_token", q.agentToken()},
                {"entity_token", q.entityToken()}, {"action", q.action()}, {"outcome", q.outcome()}}) {
            if (clause[1] != null) {
                sql.append(" and ").append(clause[0]).append(" = ?");
                args.add(clause[1]);
            }
        }
        if (q.from() != null) {
            sql.append(" and recorded_at >= ?");
            args.add(OffsetDateTime.ofInstant(q.from(), ZoneOffset.UTC));
        }
        if (q.to() != null) {
            sql.append(" and recorded_at <= ?");
            args.add(OffsetDateTime.ofInstant(q.to(), ZoneOffset.UTC));
        }
        sql.append(" order by seq").append(q.newestFirst() ? " desc" : "").append(" limit ").append(MAX_MATCHES);
        return jdbc.queryForList(sql.toString(), Long.class, args.toArray());
    }

    /** The events at these positions, decrypted, in the given order; with the patient token of each. */
    public List<org.hl7.fhir.r4.model.AuditEvent> read(List<Long> positions) {
        if (positions.isEmpty()) {
            return List.of();
        }
        // One query per page, not per event.
        Map<Long, byte[]> sealed = new java.util.HashMap<>();
        jdbc.query("select seq, envelope from audit_event where seq in ("
                + String.join(", ", java.util.Collections.nCopies(positions.size(), "?")) + ")",
                rs -> {
                    sealed.put(rs.getLong(1), rs.getBytes(2));
                }, positions.toArray());
        List<org.hl7.fhir.r4.model.AuditEvent> out = new ArrayList<>();
        for (Long seq : positions) {
            byte[] envelope = sealed.get(seq);
            if (envelope == null) {
                throw new IllegalStateException("audit event " + seq + " is no longer stored (pruned by retention)");
            }
            out.add(fhir.newJsonParser().parseResource(org.hl7.fhir.r4.model.AuditEvent.class,
                    new String(envelopes.open(context(seq), envelope), StandardCharsets.UTF_8)));
        }
        return out;
    }

    /** The patient token of the event at a position, or empty when it has no patient (or does not exist). */
    public java.util.Optional<String> patientTokenAt(long seq) {
        return jdbc.query("select patient_token from audit_event where seq = ?", (rs, n) -> rs.getString(1), seq).stream()
                .filter(java.util.Objects::nonNull).findFirst();
    }

    public boolean exists(long seq) {
        return jdbc.queryForObject("select count(*) from audit_event where seq = ?", Integer.class, seq) == 1;
    }

    /** The searchable token of a value: kind is agent, patient or entity. */
    public String token(String kind, String value) {
        return value == null ? null : blind.apply(kind + ":" + value);
    }

    /** The leaf hashes of the first {@code size} events, for proofs. */
    public List<byte[]> leafHashes(long size) {
        return jdbc.query("select leaf_hash from audit_event where seq < ? order by seq", (rs, n) -> rs.getBytes(1), size);
    }

    /** Signed checkpoints, newest first: tree size, root, note, time. */
    public List<Map<String, Object>> checkpoints(int limit) {
        return jdbc.queryForList("select tree_size, root_hash, note, created_at from audit_checkpoint order by tree_size desc limit "
                + Math.max(1, Math.min(limit, 1000)));
    }

    /** The number of events in the log. */
    public synchronized long size() {
        return tree.size();
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
                log.error("audit trail write failed: {}", e.toString());
                batch.forEach(p -> p.done().completeExceptionally(e));
                batch.clear();
            }
        }
    }

    private void commit(List<Pending> batch) {
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
            byte[] envelope = envelopes.seal(settings.kekId(), context(seq), json);
            AuditLeaf leaf = new AuditLeaf(seq, now, e.action(), e.outcome(), e.subtype(), token("agent", e.agent()),
                    token("patient", e.patient()), token("entity", e.entity()), envelope);
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

    /** True after a failed commit, until a commit succeeds again. */
    boolean failing() {
        return failing;
    }

    EncryptionContext context(long seq) {
        return new EncryptionContext(settings.tenant(), "AuditEvent", String.valueOf(seq), "1");
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
            long deleted = prune(now.minus(settings.retention()));
            if (deleted > 0) {
                log.info("audit retention: {} events older than {} pruned, their checkpoints kept", deleted, settings.retention());
            }
        }
    }

    /** Signs and publishes a checkpoint of the whole log now (also on shutdown); returns its note. */
    public synchronized String checkpoint() {
        long size = tree.size();
        byte[] root = tree.root();
        Instant now = clock.instant().truncatedTo(ChronoUnit.MILLIS);
        String note = new Checkpoint(settings.origin(), size, root, now).sign(settings.keyName(), settings.key());
        if (size > checkpointedSize) {
            jdbc.update("insert into audit_checkpoint (tree_size, root_hash, note, created_at) values (?, ?, ?, ?)",
                    size, root, note, OffsetDateTime.ofInstant(now, ZoneOffset.UTC));
            durability.sync(); // never a copy in the bucket that the database could lose
            // The copy outside the database: with Object Lock where the store enforces it, nobody rewrites it.
            store.put(settings.bucket(), CHECKPOINT_PREFIX + String.format("%020d", size), note.getBytes(StandardCharsets.UTF_8),
                    Map.of());
            checkpointedSize = size;
        }
        lastCheckpoint = now;
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
            log.warn("final audit checkpoint not written: {}", e.toString());
        }
    }
}
