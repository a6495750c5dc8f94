package fr.hdsvault.storage;

/** The bytes read are not the bytes written */
public final class IntegrityException extends ObjectStoreException {
    public IntegrityException(String message) {
        super(message, null);
    }

    public IntegrityException(String message, Throwable cause) {
        super(message, cause);
    }
}
