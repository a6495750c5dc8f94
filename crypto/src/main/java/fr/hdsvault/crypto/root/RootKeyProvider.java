package fr.hdsvault.crypto.root;

/**
 * Holds the root key, the top of the key hierarchy, and wraps key-encryption keys with it
 * (AES key wrap with padding, RFC 5649). The root key itself never leaves the provider:
 * callers only ever see wrapped bytes.
 *
 * <p>Root keys are versioned. {@link #wrap} always uses the current version; every version
 * ever created stays available to {@link #unwrap}, because backups hold KEK registries
 * wrapped under older versions.
 */
public interface RootKeyProvider extends AutoCloseable {

    /** Key material wrapped under one root key version. */
    record Wrapped(int rootKeyVersion, byte[] bytes) {
    }

    int currentVersion();

    Wrapped wrap(byte[] keyMaterial);

    /**
     * @throws fr.hdsvault.crypto.WrongKeyException if the version is unknown or the bytes do not
     *         unwrap under it (altered record, or a registry from another vault)
     */
    byte[] unwrap(int rootKeyVersion, byte[] wrapped);

    /** Creates a new root key version and makes it current; returns its number. */
    int rotate();

    /** Where the root key lives, for start-up messages and evidence; never secret. */
    String description();

    @Override
    void close();
}
