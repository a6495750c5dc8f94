package fr.hdsvault.crypto;

/**
 * Base of every failure to open or rewrap an envelope. Messages name keys by id and
 * version only; they never carry key material, plaintext or context values.
 */
public abstract sealed class EnvelopeException extends RuntimeException
        permits TamperedEnvelopeException, WrongKeyException, KeyDestroyedException, UnsupportedEnvelopeException {

    protected EnvelopeException(String message) {
        super(message);
    }

    protected EnvelopeException(String message, Throwable cause) {
        super(message, cause);
    }
}
