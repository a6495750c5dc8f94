package fr.hdsvault.crypto;

/**
 * The envelope was sealed under a key this key ring does not hold: an unknown KEK id or
 * version, or a KEK of the same name whose material differs (another vault's keys).
 */
public final class WrongKeyException extends EnvelopeException {
    public WrongKeyException(String message) {
        super(message);
    }
}
