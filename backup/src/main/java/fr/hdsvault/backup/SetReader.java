package fr.hdsvault.backup;

import fr.hdsvault.storage.IntegrityException;
import fr.hdsvault.storage.ObjectNotFoundException;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;

/**
 * Reads one set back, trusting nothing it has not checked: every item is hashed as it is read
 * and compared with the manifest at its end; every object is compared with the object list.
 * {@link #open} also requires the completion marker and a valid manifest signature; a restore
 * that derives its verification key from the set's own key registry opens
 * {@link #unverified unverified}, reads that item, then calls {@link #verifySignature}.
 */
public final class SetReader {

    private final BackupTarget target;
    private final String id;
    private final Manifest manifest;
    private final byte[] manifestBytes;

    private SetReader(BackupTarget target, String id, byte[] manifestBytes) {
        this.target = target;
        this.id = id;
        this.manifestBytes = manifestBytes;
        this.manifest = Manifest.parse(manifestBytes);
        if (!manifest.id().equals(id)) {
            throw new BackupException("backup set " + id + ": its manifest names another set (" + manifest.id() + ")");
        }
    }

    /** A complete set whose manifest this key signed. */
    public static SetReader open(BackupTarget target, String id, byte[] publicKey) {
        SetReader reader = unverified(target, id);
        reader.requireComplete();
        reader.verifySignature(publicKey);
        return reader;
    }

    /** The manifest as stored, not yet checked against any key: read only what is needed to find the key. */
    public static SetReader unverified(BackupTarget target, String id) {
        if (!BackupTarget.isSetId(id)) {
            throw new BackupException("not a backup set id");
        }
        byte[] bytes = target.readIfPresent(BackupTarget.manifestKey(id))
                .orElseThrow(() -> new BackupException("backup set " + id + " not found (no manifest)"));
        return new SetReader(target, id, bytes);
    }

    public Manifest manifest() {
        return manifest;
    }

    public String id() {
        return id;
    }

    public void requireComplete() {
        if (target.readIfPresent(BackupTarget.completeKey(id)).isEmpty()) {
            throw new BackupException("backup set " + id + " is incomplete (no completion marker): not a usable backup");
        }
    }

    public void verifySignature(byte[] publicKey) {
        byte[] signature = target.readIfPresent(BackupTarget.signatureKey(id))
                .orElseThrow(() -> new BackupException("backup set " + id + ": the manifest signature is missing"));
        if (!ManifestSignature.verify(manifestBytes, signature, publicKey)) {
            throw new BackupException("backup set " + id + ": the manifest signature does not verify with the vault's "
                    + "backup key " + ManifestSignature.keyId(publicKey) + " (re-signed with another key, or altered)");
        }
    }

    /**
     * An item's content. The stream throws {@link BackupException} at its end if the bytes are not
     * those the manifest lists: read to the end before trusting them.
     */
    public InputStream item(String name) {
        Manifest.Item item = manifest.item(name)
                .orElseThrow(() -> new BackupException("backup set " + id + " has no item " + name));
        InputStream raw;
        try {
            raw = target.store().get(target.bucket(), BackupTarget.itemKey(id, name));
        } catch (ObjectNotFoundException e) {
            throw new BackupException("backup set " + id + ": item " + name + " is missing");
        }
        MessageDigest sha = BackupRunner.sha256();
        return new FilterInputStream(raw) {
            private long count;
            private boolean checked;

            @Override
            public int read() throws IOException {
                byte[] one = new byte[1];
                int n = read(one, 0, 1);
                return n < 0 ? -1 : one[0] & 0xff;
            }

            @Override
            public int read(byte[] b, int off, int len) throws IOException {
                int n;
                try {
                    n = super.read(b, off, len);
                } catch (IntegrityException e) {
                    throw new BackupException("backup set " + id + ": item " + name + " fails its stored hash (corrupted)");
                }
                if (n > 0) {
                    sha.update(b, off, n);
                    count += n;
                } else if (n < 0 && !checked) {
                    checked = true;
                    if (count != item.size() || !HexFormat.of().formatHex(sha.digest()).equals(item.sha256())) {
                        throw new BackupException("backup set " + id + ": item " + name
                                + " does not match its manifest hash (corrupted or replaced)");
                    }
                }
                return n;
            }
        };
    }

    /** The whole item, checked. */
    public byte[] itemBytes(String name) {
        try (InputStream in = item(name)) {
            return in.readAllBytes();
        } catch (IOException e) {
            throw new BackupException("backup set " + id + ": item " + name + " cannot be read: " + e.getMessage(), e);
        }
    }

    public List<ObjectList.Entry> objects() {
        try (InputStream in = item(Manifest.OBJECT_LIST)) {
            List<ObjectList.Entry> list = ObjectList.read(in);
            in.transferTo(java.io.OutputStream.nullOutputStream());
            return list;
        } catch (IOException e) {
            throw new BackupException("backup set " + id + ": the object list cannot be read", e);
        }
    }

    /** One object's ciphertext, checked against the object list; a {@link BackupException} names the key at fault. */
    public byte[] object(ObjectList.Entry entry) {
        byte[] bytes;
        try {
            bytes = target.store().getBytes(target.bucket(), BackupTarget.objectKey(entry.key()));
        } catch (ObjectNotFoundException e) {
            throw new ObjectFault(entry.key(), "missing from the backup target");
        } catch (IntegrityException e) {
            throw new ObjectFault(entry.key(), "corrupted (its bytes do not match the hash recorded when it was copied)");
        }
        if (bytes.length != entry.size() || !HexFormat.of().formatHex(BackupRunner.sha256().digest(bytes)).equals(entry.sha256())) {
            throw new ObjectFault(entry.key(), "corrupted (its bytes do not match the manifest's hash)");
        }
        return bytes;
    }

    /** A problem with one object of a set, naming its key (opaque, never patient data). */
    public static final class ObjectFault extends BackupException {
        private final String key;
        private final String problem;

        public ObjectFault(String key, String problem) {
            super("object " + key + ": " + problem);
            this.key = key;
            this.problem = problem;
        }

        public String key() {
            return key;
        }

        public String problem() {
            return problem;
        }
    }
}
