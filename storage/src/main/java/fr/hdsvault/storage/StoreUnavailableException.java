package fr.hdsvault.storage;

/** The store did not answer in time or refused connections, after the transient-failure retries. */
public final class StoreUnavailableException extends ObjectStoreException {
    public StoreUnavailableException(String message) {
        super(message, null);
    }

    public StoreUnavailableException(String message, Throwable cause) {
        super(message, cause);
    }
}
