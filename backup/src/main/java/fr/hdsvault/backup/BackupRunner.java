package fr.hdsvault.backup;

import fr.hdsvault.crypto.sign.Ed25519;
import fr.hdsvault.storage.ObjectInfo;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestOutputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes one backup set: the source's snapshot items, then every referenced object not yet in
 * the target (copied as ciphertext, never decrypted), then the object list, the manifest and
 * its signature; reads the manifest back and verifies it; only then writes the completion
 * marker. Anything that fails leaves a set without marker, which no reader takes for a backup.
 *
 * <p>One runner at a time per target: the caller holds the lock ({@link JdbcLock}).
 */
public final class BackupRunner {

    private static final Logger log = LoggerFactory.getLogger(BackupRunner.class);

    private final BackupSource source;
    private final BackupTarget target;
    private final int parallelism;
    private final Clock clock;

    public BackupRunner(BackupSource source, BackupTarget target, int parallelism, Clock clock) {
        this.source = source;
        this.target = target;
        this.parallelism = parallelism;
        this.clock = clock;
    }

    /** Runs a backup; never throws for a failed run, the summary says {@code failed} and why. */
    public BackupSummary run(Progress progress) {
        Instant started = clock.instant();
        long t0 = System.nanoTime();
        String id = BackupTarget.newSetId(started);
        AtomicLong bytesCopied = new AtomicLong();
        AtomicLong objectsCopied = new AtomicLong();
        List<Manifest.Item> items = new ArrayList<>();
        try {
            // Before each backup, as before any use: a target that moved outside the allowed regions gets nothing.
            target.store().checkResidency(target.bucket());
            removeAbandonedSets();
            BackupSource.Snapshot snapshot = source.snapshot(id, (name, content) -> {
                items.add(writeItem(id, name, content));
                bytesCopied.addAndGet(items.get(items.size() - 1).size());
                progress.update("items", items.size(), -1, bytesCopied.get());
            });
            List<ObjectList.Entry> objects = copyObjects(snapshot.objectKeys(), objectsCopied, bytesCopied, progress);
            items.add(writeItem(id, Manifest.OBJECT_LIST, out -> ObjectList.write(objects, out)));
            long objectBytes = objects.stream().mapToLong(ObjectList.Entry::size).sum();
            Manifest manifest = new Manifest(id, source.vaultId(), snapshot.pointInTime(), started, snapshot.schemaVersion(),
                    objects.size(), objectBytes, items);
            byte[] rendered = manifest.render();
            Ed25519.SigningKey key = source.signingKey();
            target.store().put(target.bucket(), BackupTarget.manifestKey(id), rendered, Map.of());
            target.store().put(target.bucket(), BackupTarget.signatureKey(id), ManifestSignature.sign(rendered, key), Map.of());
            verifyWritten(id, rendered, key.publicKey(), items);
            Instant finished = clock.instant();
            target.store().put(target.bucket(), BackupTarget.completeKey(id),
                    BackupTarget.completeMarker(finished, ManifestSignature.sha256Hex(rendered)), Map.of());
            long millis = Duration.ofNanos(System.nanoTime() - t0).toMillis();
            return new BackupSummary(id, BackupSummary.COMPLETE, started, finished, snapshot.pointInTime(), objects.size(),
                    objectBytes, objectsCopied.get(), bytesCopied.get(), items.size(), millis,
                    bytesCopied.get() * 1000.0 / Math.max(1, millis), null);
        } catch (RuntimeException | IOException e) {
            long millis = Duration.ofNanos(System.nanoTime() - t0).toMillis();
            // The message names the step and the store's typed failure; never object content.
            String why = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
            log.error("backup {} failed: {}", id, why);
            return new BackupSummary(id, BackupSummary.FAILED, started, clock.instant(), null, 0, 0, objectsCopied.get(),
                    bytesCopied.get(), items.size(), millis, 0, why);
        }
    }

    /** Sets left without a completion marker by an earlier run that died: under the lock, nobody is writing them. */
    private void removeAbandonedSets() {
        for (String id : target.setIds()) {
            if (!target.info(id).complete()) {
                log.warn("backup set {} was never completed (interrupted run): removed", id);
                target.deleteSet(id);
            }
        }
    }

    /** Spools an item to a temporary file while hashing it, then uploads it with its hash. */
    private Manifest.Item writeItem(String id, String name, BackupSource.ItemWriter content) throws IOException {
        Path spool = Files.createTempFile("hds-vault-backup-", ".item");
        try {
            MessageDigest sha = sha256();
            try (OutputStream out = new DigestOutputStream(Files.newOutputStream(spool), sha)) {
                content.writeTo(out);
            }
            String hex = HexFormat.of().formatHex(sha.digest());
            long size = Files.size(spool);
            try (InputStream in = Files.newInputStream(spool)) {
                target.store().put(target.bucket(), BackupTarget.itemKey(id, name), in, size, hex, Map.of());
            }
            return new Manifest.Item(name, hex, size);
        } finally {
            Files.deleteIfExists(spool);
        }
    }

    /**
     * Copies what the target lacks. An object already there is not copied again: its hash comes
     * from the newest complete set's list, else from the target's recorded hash.
     */
    private List<ObjectList.Entry> copyObjects(List<String> keys, AtomicLong copied, AtomicLong bytes, Progress progress) {
        Map<String, Long> present = target.presentObjects();
        Map<String, ObjectList.Entry> known = new HashMap<>();
        Optional<BackupTarget.SetInfo> previous = target.latestComplete();
        if (previous.isPresent()) {
            try (InputStream in = SetReader.unverified(target, previous.get().id()).item(Manifest.OBJECT_LIST)) {
                for (ObjectList.Entry e : ObjectList.read(in)) {
                    known.put(e.key(), e);
                }
            } catch (IOException | BackupException e) {
                log.warn("the previous set's object list is unreadable; objects will be checked one by one");
            }
        }
        Map<String, ObjectList.Entry> out = new ConcurrentHashMap<>();
        AtomicLong done = new AtomicLong();
        ExecutorService workers = fr.hdsvault.backup.Workers.pool("backup-copy", parallelism);
        try {
            List<Future<?>> futures = new ArrayList<>(keys.size());
            for (String key : keys) {
                futures.add(workers.submit(() -> {
                    out.put(key, copyIfAbsent(key, present.get(key), known.get(key), copied, bytes));
                    progress.update("objects", done.incrementAndGet(), keys.size(), bytes.get());
                }));
            }
            for (Future<?> f : futures) {
                try {
                    f.get();
                } catch (ExecutionException e) {
                    futures.forEach(other -> other.cancel(true));
                    Throwable cause = e.getCause();
                    throw new BackupException("copying objects to the backup target failed: "
                            + (cause.getMessage() == null ? cause.getClass().getSimpleName() : cause.getMessage()), cause);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new BackupException("backup interrupted");
                }
            }
        } finally {
            workers.shutdownNow();
        }
        progress.update("objects", keys.size(), keys.size(), bytes.get());
        return new ArrayList<>(out.values());
    }

    private ObjectList.Entry copyIfAbsent(String key, Long presentSize, ObjectList.Entry known, AtomicLong copied, AtomicLong bytes) {
        if (presentSize != null) {
            if (known != null && known.size() == presentSize) {
                return known;
            }
            Optional<ObjectInfo> stat = target.store().stat(target.bucket(), BackupTarget.objectKey(key));
            if (stat.isPresent() && stat.get().sha256() != null && stat.get().size() == presentSize) {
                return new ObjectList.Entry(key, stat.get().sha256(), presentSize);
            }
        }
        byte[] content = source.readObject(key);
        String hex = HexFormat.of().formatHex(sha256().digest(content));
        target.store().put(target.bucket(), BackupTarget.objectKey(key), content, Map.of());
        copied.incrementAndGet();
        bytes.addAndGet(content.length);
        return new ObjectList.Entry(key, hex, content.length);
    }

    /** Reads the manifest back, checks its signature and that every item is stored with its size and hash. */
    private void verifyWritten(String id, byte[] rendered, byte[] publicKey, List<Manifest.Item> items) {
        byte[] stored = target.store().getBytes(target.bucket(), BackupTarget.manifestKey(id));
        byte[] signature = target.store().getBytes(target.bucket(), BackupTarget.signatureKey(id));
        if (!java.util.Arrays.equals(stored, rendered) || !ManifestSignature.verify(stored, signature, publicKey)) {
            throw new BackupException("the manifest read back from the target does not verify");
        }
        for (Manifest.Item item : items) {
            ObjectInfo info = target.store().stat(target.bucket(), BackupTarget.itemKey(id, item.name()))
                    .orElseThrow(() -> new BackupException("item " + item.name() + " is missing from the target after writing"));
            if (info.size() != item.size() || !item.sha256().equals(info.sha256())) {
                throw new BackupException("item " + item.name() + " in the target differs from what was written");
            }
        }
    }

    static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
