package fr.hdsvault.api.audit;

/** The audit trail cannot record an access: the request must fail (503), nothing may be returned. */
public final class AuditUnavailableException extends RuntimeException {
    public AuditUnavailableException(String message) {
        super(message);
    }
}
