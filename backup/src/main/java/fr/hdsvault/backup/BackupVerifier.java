package fr.hdsvault.backup;

import fr.hdsvault.storage.ObjectInfo;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Checks a set without restoring it, like restic's {@code check}: the completion marker, the
 * manifest signature, every item against its hash, and every object of the list. Without
 * {@code readData} an object is checked by its presence, size and the hash the target recorded
 * when it was copied (one HEAD each); with {@code readData} its bytes are read and hashed, and
 * opened with its keys (the authentication tag of every frame), which proves it restorable.
 */
public final class BackupVerifier {

    /** At most this many failures are listed; all are counted. */
    public static final int MAX_LISTED_FAILURES = 200;

    /** Opens one object (ciphertext) with its keys; throws if it does not authenticate. */
    @FunctionalInterface
    public interface ObjectAuthenticator {
        void authenticate(String key, byte[] ciphertext) throws Exception;
    }

    /** Builds an authenticator from the set's own (verified) items, e.g. its key registry and index snapshot. */
    @FunctionalInterface
    public interface AuthenticatorFactory {
        ObjectAuthenticator create(SetReader set);
    }

    /** One problem: {@code item} names the part of the set ("manifest", "signature", an item, or "object"). */
    public record Failure(String item, String objectKey, String problem) {
        /** One line: the item, the object key when there is one, the problem. */
        public String describe() {
            return item + (objectKey == null ? "" : " " + objectKey) + ": " + problem;
        }
    }

    public record Report(String backupId, boolean ok, boolean readData, int itemsChecked, long objectsChecked, long bytesRead,
                         long durationMillis, long failureCount, List<Failure> failures) {

        public String describe() {
            if (ok) {
                return "backup " + backupId + " verified: signature valid, " + itemsChecked + " items, " + objectsChecked
                        + " objects " + (readData ? "read and authenticated (" + bytesRead + " bytes)" : "present with their hashes")
                        + " in " + durationMillis + " ms";
            }
            StringBuilder s = new StringBuilder("backup " + backupId + " FAILED verification: " + failureCount + " problem(s)");
            for (Failure f : failures) {
                s.append("\n  ").append(f.describe());
            }
            return s.toString();
        }
    }

    private final BackupTarget target;
    private final int parallelism;

    public BackupVerifier(BackupTarget target, int parallelism) {
        this.target = target;
        this.parallelism = parallelism;
    }

    public Report verify(String setId, byte[] publicKey, boolean readData, AuthenticatorFactory authenticators, Progress progress) {
        long t0 = System.nanoTime();
        List<Failure> failures = Collections.synchronizedList(new ArrayList<>());
        AtomicLong failureCount = new AtomicLong();
        AtomicLong bytes = new AtomicLong();
        AtomicLong objectsChecked = new AtomicLong();
        int items = 0;
        SetReader set;
        try {
            set = SetReader.unverified(target, setId);
        } catch (BackupException e) {
            add(failures, failureCount, new Failure("manifest", null, e.getMessage()));
            return report(setId, readData, 0, 0, 0, t0, failureCount, failures);
        }
        boolean itemsOk = true;
        try {
            set.requireComplete();
        } catch (BackupException e) {
            add(failures, failureCount, new Failure("complete", null, e.getMessage()));
        }
        try {
            set.verifySignature(publicKey);
        } catch (BackupException e) {
            itemsOk = false;
            add(failures, failureCount, new Failure("signature", null, e.getMessage()));
        }
        for (Manifest.Item item : set.manifest().items()) {
            try {
                bytes.addAndGet(set.itemBytes(item.name()).length);
                items++;
                progress.update("items", items, set.manifest().items().size(), bytes.get());
            } catch (BackupException e) {
                itemsOk = false;
                add(failures, failureCount, new Failure(item.name(), null, e.getMessage()));
            }
        }
        List<ObjectList.Entry> objects;
        try {
            objects = set.objects();
        } catch (BackupException e) {
            add(failures, failureCount, new Failure(Manifest.OBJECT_LIST, null, e.getMessage()));
            return report(setId, readData, items, 0, bytes.get(), t0, failureCount, failures);
        }
        if (objects.size() != set.manifest().objectCount()) {
            add(failures, failureCount, new Failure(Manifest.OBJECT_LIST, null, "lists " + objects.size()
                    + " objects, the manifest says " + set.manifest().objectCount()));
        }
        ObjectAuthenticator authenticator = null;
        if (readData && authenticators != null && itemsOk) {
            try {
                authenticator = authenticators.create(set);
            } catch (RuntimeException e) {
                add(failures, failureCount, new Failure("keys", null, "the set's keys cannot be opened: " + e.getMessage()));
            }
        }
        ObjectAuthenticator auth = authenticator;
        ExecutorService workers = fr.hdsvault.backup.Workers.pool("backup-verify", parallelism);
        try {
            List<Future<?>> futures = new ArrayList<>(objects.size());
            for (ObjectList.Entry entry : objects) {
                futures.add(workers.submit(() -> {
                    checkObject(set, entry, readData, auth, bytes).ifPresent(f -> add(failures, failureCount, f));
                    progress.update("objects", objectsChecked.incrementAndGet(), objects.size(), bytes.get());
                }));
            }
            for (Future<?> f : futures) {
                f.get();
            }
        } catch (Exception e) {
            add(failures, failureCount, new Failure("objects", null, "verification stopped: " + e.getMessage()));
        } finally {
            workers.shutdownNow();
        }
        return report(setId, readData, items, objectsChecked.get(), bytes.get(), t0, failureCount, failures);
    }

    private Optional<Failure> checkObject(SetReader set, ObjectList.Entry entry, boolean readData, ObjectAuthenticator auth,
                                          AtomicLong bytes) {
        try {
            if (readData) {
                byte[] content = set.object(entry);
                bytes.addAndGet(content.length);
                if (auth != null) {
                    try {
                        auth.authenticate(entry.key(), content);
                    } catch (Exception e) {
                        return Optional.of(new Failure("object", entry.key(),
                                "does not open under its keys (authentication failed: tampered, swapped or wrong key)"));
                    }
                }
                return Optional.empty();
            }
            Optional<ObjectInfo> info = target.store().stat(target.bucket(), BackupTarget.objectKey(entry.key()));
            if (info.isEmpty()) {
                return Optional.of(new Failure("object", entry.key(), "missing from the backup target"));
            }
            if (info.get().size() != entry.size() || !entry.sha256().equals(info.get().sha256())) {
                return Optional.of(new Failure("object", entry.key(), "differs from the manifest (size or recorded hash)"));
            }
            return Optional.empty();
        } catch (SetReader.ObjectFault e) {
            return Optional.of(new Failure("object", e.key(), e.problem()));
        } catch (RuntimeException e) {
            return Optional.of(new Failure("object", entry.key(), "cannot be read: " + e.getMessage()));
        }
    }

    private static void add(List<Failure> failures, AtomicLong count, Failure f) {
        if (count.incrementAndGet() <= MAX_LISTED_FAILURES) {
            failures.add(f);
        }
    }

    private static Report report(String id, boolean readData, int items, long objects, long bytes, long t0, AtomicLong count,
                                 List<Failure> failures) {
        List<Failure> listed;
        synchronized (failures) {
            listed = List.copyOf(failures);
        }
        return new Report(id, count.get() == 0, readData, items, objects, bytes,
                Duration.ofNanos(System.nanoTime() - t0).toMillis(), count.get(), listed);
    }
}
