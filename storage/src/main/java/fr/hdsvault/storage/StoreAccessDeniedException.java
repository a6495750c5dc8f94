package fr.hdsvault.storage;

/** The credentials are wrong or lack the right for this operation (also */
public final class StoreAccessDeniedException extends ObjectStoreException {
    public StoreAccessDeniedException(String message) {
        super(message, null);
    }

    public StoreAccessDeniedException(String message, Throwable cause) {
        super(message, cause);
    }
}
