package fr.hdsvault.storage;

/**
 * Base of every object-store failure. Messages name buckets, object keys (which are opaque)
 * and server error codes; never object content or user metadata values.
 */
public abstract sealed class ObjectStoreException extends RuntimeException
        permits ObjectNotFoundException, StoreUnavailableException, IntegrityException,
        StoreAccessDeniedException, ResidencyViolationException, StoreRequestException {

    protected ObjectStoreException(String message, Throwable cause) {
        super(message, cause);
    }
}
