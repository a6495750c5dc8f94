package fr.hdsvault.backup;

import fr.hdsvault.storage.ListPage;
import fr.hdsvault.storage.ObjectInfo;
import fr.hdsvault.storage.ObjectNotFoundException;
import fr.hdsvault.storage.ObjectStore;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeSet;
import java.util.function.Consumer;
import java.util.regex.Pattern;

/**
 * The backup bucket's layout:
 * <pre>
 * objects/&lt;key&gt;                 ciphertext objects, under their primary key, shared by every set
 * sets/&lt;id&gt;/items/&lt;name&gt;        the set's items
 * sets/&lt;id&gt;/manifest             {@link Manifest}
 * sets/&lt;id&gt;/manifest.sig         {@link ManifestSignature}
 * sets/&lt;id&gt;/complete             written last, once the manifest was read back and verified
 * erased-keys/&lt;kek id&gt;           a key destroyed by an erasure since: every restore destroys it again
 * </pre>
 * A set without {@code complete} is not a backup: interrupted, or being written. The erased keys
 * sit apart from the sets, which are immutable, so that a set taken before an erasure cannot
 * bring the erased data back; no retention ever deletes them.
 */
public final class BackupTarget {

    static final String OBJECTS = "objects/";
    static final String SETS = "sets/";
    static final String ERASED_KEYS = "erased-keys/";
    private static final Pattern KEK_ID = Pattern.compile("[A-Za-z0-9._-]{1,128}");
    private static final Pattern SET_ID = Pattern.compile("\\d{8}T\\d{6}Z-[0-9a-f]{6}");
    private static final DateTimeFormatter ID_TIME = DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'").withZone(ZoneOffset.UTC);
    private static final SecureRandom RANDOM = new SecureRandom();

    /** What the target says of one set. */
    public record SetInfo(String id, boolean complete, Manifest manifest, Instant finishedAt) {
    }

    private final ObjectStore store;
    private final String bucket;

    public BackupTarget(ObjectStore store, String bucket) {
        this.store = store;
        this.bucket = bucket;
    }

    public ObjectStore store() {
        return store;
    }

    public String bucket() {
        return bucket;
    }

    /** A set id sorts by time: {@code yyyyMMddTHHmmssZ-} and 6 random hex digits. */
    public static String newSetId(Instant now) {
        byte[] random = new byte[3];
        RANDOM.nextBytes(random);
        return ID_TIME.format(now) + "-" + HexFormat.of().formatHex(random);
    }

    public static boolean isSetId(String id) {
        return id != null && SET_ID.matcher(id).matches();
    }

    static String objectKey(String key) {
        return OBJECTS + key;
    }

    static String itemKey(String setId, String name) {
        return SETS + setId + "/items/" + name;
    }

    static String manifestKey(String setId) {
        return SETS + setId + "/manifest";
    }

    static String signatureKey(String setId) {
        return SETS + setId + "/manifest.sig";
    }

    static String completeKey(String setId) {
        return SETS + setId + "/complete";
    }

    /**
     * Records that a key was destroyed by an erasure, before it is destroyed: a restore of any
     * set destroys it again. Idempotent.
     */
    public void recordErasedKey(String kekId, Instant erasedAt) {
        if (!KEK_ID.matcher(kekId).matches()) {
            throw new IllegalArgumentException("not a key id");
        }
        store.put(bucket, ERASED_KEYS + kekId, (kekId + " " + erasedAt + "\n").getBytes(StandardCharsets.US_ASCII), Map.of());
    }

    /** Every key an erasure destroyed, whenever it happened. */
    public java.util.Set<String> erasedKeys() {
        java.util.Set<String> keys = new TreeSet<>();
        forEachKey(ERASED_KEYS, info -> keys.add(info.key().substring(ERASED_KEYS.length())));
        return keys;
    }

    /** Every set id present, complete or not, oldest first. */
    public List<String> setIds() {
        TreeSet<String> ids = new TreeSet<>();
        forEachKey(SETS, info -> {
            String rest = info.key().substring(SETS.length());
            int slash = rest.indexOf('/');
            if (slash > 0 && isSetId(rest.substring(0, slash))) {
                ids.add(rest.substring(0, slash));
            }
        });
        return new ArrayList<>(ids);
    }

    /** Every set with its manifest (null if none was written) and whether it was completed; oldest first. */
    public List<SetInfo> sets() {
        List<SetInfo> out = new ArrayList<>();
        for (String id : setIds()) {
            out.add(info(id));
        }
        return out;
    }

    public SetInfo info(String id) {
        Manifest manifest = readIfPresent(manifestKey(id)).map(bytes -> {
            try {
                return Manifest.parse(bytes);
            } catch (BackupException e) {
                return null;
            }
        }).orElse(null);
        Optional<byte[]> complete = readIfPresent(completeKey(id));
        Instant finished = complete.map(BackupTarget::finishedAt).orElse(null);
        return new SetInfo(id, complete.isPresent() && manifest != null, manifest, finished);
    }

    /** The newest complete set, if any. */
    public Optional<SetInfo> latestComplete() {
        List<String> ids = setIds();
        for (int i = ids.size() - 1; i >= 0; i--) {
            SetInfo info = info(ids.get(i));
            if (info.complete()) {
                return Optional.of(info);
            }
        }
        return Optional.empty();
    }

    static byte[] completeMarker(Instant finishedAt, String manifestSha256) {
        return ("complete " + finishedAt + "\nmanifest " + manifestSha256 + "\n").getBytes(StandardCharsets.UTF_8);
    }

    private static Instant finishedAt(byte[] marker) {
        try {
            String first = new String(marker, StandardCharsets.UTF_8).lines().findFirst().orElse("");
            return Instant.parse(first.substring("complete ".length()));
        } catch (RuntimeException e) {
            return null;
        }
    }

    Optional<byte[]> readIfPresent(String key) {
        try {
            return Optional.of(store.getBytes(bucket, key));
        } catch (ObjectNotFoundException e) {
            return Optional.empty();
        } catch (fr.hdsvault.storage.IntegrityException e) {
            throw new BackupException(key + " is corrupted (its bytes do not match the hash recorded when it was written)");
        }
    }

    /** The objects present in the target, by primary key, with their sizes. */
    Map<String, Long> presentObjects() {
        Map<String, Long> present = new HashMap<>();
        forEachKey(OBJECTS, info -> present.put(info.key().substring(OBJECTS.length()), info.size()));
        return present;
    }

    /** Deletes every key of a set, its completion marker first so that it never looks complete with parts missing. */
    public void deleteSet(String id) {
        store.delete(bucket, completeKey(id));
        List<String> keys = new ArrayList<>();
        forEachKey(SETS + id + "/", info -> keys.add(info.key()));
        for (String key : keys) {
            store.delete(bucket, key);
        }
    }

    void deleteObject(String key) {
        store.delete(bucket, objectKey(key));
    }

    private void forEachKey(String prefix, Consumer<ObjectInfo> action) {
        String after = null;
        do {
            ListPage page = store.list(bucket, prefix, after, 1000);
            page.objects().forEach(action);
            after = page.nextStartAfter();
        } while (after != null);
    }
}
