package fr.hdsvault.crypto;

/**
 * The key the envelope needs was destroyed on purpose (crypto-shredding): the content is
 * permanently unreadable and no retry or restore of this vault's key registry can help.
 */
public final class KeyDestroyedException extends EnvelopeException {
    public KeyDestroyedException(String message) {
        super(message);
    }
}
