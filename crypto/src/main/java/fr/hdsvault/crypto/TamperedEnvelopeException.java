package fr.hdsvault.crypto;

/**
 * The envelope is not what was sealed for this context: a changed byte, a truncated or
 * extended body, frames reordered, or an envelope moved to another resource or patient.
 */
public final class TamperedEnvelopeException extends EnvelopeException {
    public TamperedEnvelopeException(String message) {
        super(message);
    }

    public TamperedEnvelopeException(String message, Throwable cause) {
        super(message, cause);
    }
}
