package fr.hdsvault.backup;

import fr.hdsvault.crypto.sign.Ed25519;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Base64;
import java.util.HexFormat;

/**
 * The Ed25519 signature of a manifest's exact bytes, stored beside it as one line:
 * {@code ed25519 <key id> <base64 signature>}, the key id being the first 8 bytes (hex) of the
 * SHA-256 of the public key, so that a verifier can say which key signed.
 */
public final class ManifestSignature {

    private ManifestSignature() {
    }

    public static byte[] sign(byte[] manifest, Ed25519.SigningKey key) {
        return ("ed25519 " + keyId(key.publicKey()) + " " + Base64.getEncoder().encodeToString(key.sign(manifest)) + "\n")
                .getBytes(StandardCharsets.UTF_8);
    }

    /** @return true only when the signature line is well formed, names this key and verifies over these bytes */
    public static boolean verify(byte[] manifest, byte[] signatureLine, byte[] publicKey) {
        String[] parts = new String(signatureLine, StandardCharsets.UTF_8).strip().split(" ");
        if (parts.length != 3 || !parts[0].equals("ed25519") || !parts[1].equals(keyId(publicKey))) {
            return false;
        }
        try {
            return Ed25519.verify(publicKey, manifest, Base64.getDecoder().decode(parts[2]));
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    public static String keyId(byte[] publicKey) {
        return HexFormat.of().formatHex(sha256(publicKey), 0, 8);
    }

    static byte[] sha256(byte[] bytes) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(bytes);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    static String sha256Hex(byte[] bytes) {
        return HexFormat.of().formatHex(sha256(bytes));
    }
}
