package fr.hdsvault.storage;

/** Any other refusal by the server (invalid bucket name, precondition, unsupported feature), with its S3 error code. */
public final class StoreRequestException extends ObjectStoreException {
    private final String errorCode;

    public StoreRequestException(String errorCode, String message, Throwable cause) {
        super(message, cause);
        this.errorCode = errorCode;
    }

    /** The S3 error code, e.g. {@code NotImplemented} or {@code InvalidBucketName}. */
    public String errorCode() {
        return errorCode;
    }
}
