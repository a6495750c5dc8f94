package fr.hdsvault.crypto;

import java.util.List;
import java.util.Optional;

/**
 * Persistence of wrapped KEKs. Implementations must make {@link #insert} atomic (two
 * instances creating the same version concurrently: exactly one wins) and {@link #replace}
 * a compare-and-set on the root key version, so that concurrent rotations never lose a key.
 */
public interface KekRegistry {

    Optional<KekRecord> find(String kekId, int version);

    /** The highest version of this KEK, destroyed or not. */
    Optional<KekRecord> latest(String kekId);

    /** @return false when a record with the same id and version already exists. */
    boolean insert(KekRecord record);

    /**
     * Replaces a record (a rewrap under a new root key version, or a tombstone) if its stored
     * root key version still equals {@code expectedRootKeyVersion} and it is not destroyed.
     * @return false when the stored record changed meanwhile.
     */
    boolean replace(KekRecord record, int expectedRootKeyVersion);

    /** Records ordered by (kekId, version), strictly after the given position; for paging over millions of KEKs. */
    List<KekRecord> listAfter(String afterKekId, int afterVersion, int limit);

    /** All versions of one KEK, oldest first. */
    List<KekRecord> versions(String kekId);
}
