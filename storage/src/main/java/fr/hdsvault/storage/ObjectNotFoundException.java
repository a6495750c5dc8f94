package fr.hdsvault.storage;

/** The object (or bucket) does not exist. */
public final class ObjectNotFoundException extends ObjectStoreException {
    public ObjectNotFoundException(String message) {
        super(message, null);
    }

    public ObjectNotFoundException(String message, Throwable cause) {
        super(message, cause);
    }
}
