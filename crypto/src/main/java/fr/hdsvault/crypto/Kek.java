package fr.hdsvault.crypto;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.util.Arrays;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * An unwrapped key-encryption key, held in memory only while cached. Its fingerprint (a PRF
 * value, not the key) goes into each envelope header so that opening with another vault's
 * key of the same name is told apart from tampering.
 */
final class Kek {
    static final int FINGERPRINT_LENGTH = 8;
    private static final byte[] FINGERPRINT_LABEL = "hds-vault kek fingerprint v1".getBytes(StandardCharsets.US_ASCII);

    final String id;
    final int version;
    final SecretKeySpec key;
    final byte[] fingerprint;

    Kek(String id, int version, byte[] material) {
        this.id = id;
        this.version = version;
        this.key = new SecretKeySpec(material, "AES");
        this.fingerprint = fingerprint(material);
    }

    private static byte[] fingerprint(byte[] material) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(material, "HmacSHA256"));
            return Arrays.copyOf(mac.doFinal(FINGERPRINT_LABEL), FINGERPRINT_LENGTH);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 unavailable", e);
        }
    }
}
