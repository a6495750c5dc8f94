package fr.hdsvault.crypto;

/** The envelope is intact but written in a format version or algorithm this code does not know. */
public final class UnsupportedEnvelopeException extends EnvelopeException {
    public UnsupportedEnvelopeException(String message) {
        super(message);
    }
}
