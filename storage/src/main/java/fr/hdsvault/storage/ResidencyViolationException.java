package fr.hdsvault.storage;

/** A bucket lies in a region outside the allowed residency policy */
public final class ResidencyViolationException extends ObjectStoreException {
    public ResidencyViolationException(String message) {
        super(message, null);
    }

    public ResidencyViolationException(String message, Throwable cause) {
        super(message, cause);
    }
}
