package fr.hdsvault.backup;

import fr.hdsvault.crypto.sign.Ed25519;
import java.io.IOException;
import java.io.OutputStream;
import java.time.Instant;
import java.util.List;

/** What is backed up: the vault's side of a backup run. */
public interface BackupSource {

    /** The identity written into every manifest. */
    String vaultId();

    /** The key manifests are signed with. */
    Ed25519.SigningKey signingKey();

    /**
     * Takes one consistent snapshot, without stopping writes: writes every item through
     * {@code items} and returns the objects it references, all of which exist in the primary
     * store and never change (objects are immutable).
     */
    Snapshot snapshot(String setId, ItemSink items) throws IOException;

    /** One referenced object's bytes, as stored (ciphertext), checked against the primary store's recorded hash. */
    byte[] readObject(String key);

    /** The snapshot's point in time, the index schema version, and the referenced object keys. */
    record Snapshot(Instant pointInTime, int schemaVersion, List<String> objectKeys) {
    }

    /** Receives the items of a set, each written to a stream. */
    interface ItemSink {
        void write(String name, ItemWriter content) throws IOException;
    }

    @FunctionalInterface
    interface ItemWriter {
        void writeTo(OutputStream out) throws IOException;
    }
}
