package fr.hdsvault.crypto;

import java.time.Instant;
import java.util.Objects;

/**
 * One version of a key-encryption key as it is persisted: only its wrapped form (RFC 5649
 * under the root key version {@code rootKeyVersion}). A destroyed record keeps its id and
 * version as a tombstone, with no key material, so opens fail with a distinct error.
 */
public record KekRecord(String kekId, int version, int rootKeyVersion, byte[] wrappedKey,
                        Instant createdAt, Instant destroyedAt) {

    public KekRecord {
        Objects.requireNonNull(kekId, "kekId");
        Objects.requireNonNull(createdAt, "createdAt");
        if (version < 1) {
            throw new IllegalArgumentException("KEK versions start at 1");
        }
        wrappedKey = wrappedKey == null ? new byte[0] : wrappedKey.clone();
        if (destroyedAt == null && wrappedKey.length == 0) {
            throw new IllegalArgumentException("a live KEK record needs its wrapped key");
        }
    }

    public boolean destroyed() {
        return destroyedAt != null;
    }

    @Override
    public byte[] wrappedKey() {
        return wrappedKey.clone();
    }

    KekRecord rewrapped(int newRootVersion, byte[] newWrappedKey) {
        return new KekRecord(kekId, version, newRootVersion, newWrappedKey, createdAt, null);
    }

    KekRecord tombstone(Instant at) {
        return new KekRecord(kekId, version, rootKeyVersion, null, createdAt, at);
    }

    @Override
    public String toString() {
        return "KekRecord[" + kekId + " v" + version + " root v" + rootKeyVersion
                + (destroyed() ? " destroyed " + destroyedAt : "") + "]";
    }
}
