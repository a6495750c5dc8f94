package fr.hdsvault.api.lifecycle;

import fr.hdsvault.crypto.sign.Ed25519;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Map;
import tools.jackson.databind.json.JsonMapper;

/**
 * A statement the vault signs with its audit key (a certificate of destruction, the attestation
 * of a restitution archive, an evidence report): the exact JSON text signed, and its Ed25519 signature over a
 * context line and the text. The context differs per kind of statement, and from checkpoints
 * (which the same key signs), so that one can never pass for another.
 *
 * @param statement the signed text (JSON, with a {@code type})
 * @param signature its signature, base64
 */
public record SignedStatement(String statement, String signature) {

    private static final JsonMapper JSON = JsonMapper.builder().build();

    /** Signs {@code fields} (which name their {@code type}) under {@code context}. */
    public static SignedStatement sign(String context, Map<String, Object> fields, Ed25519.SigningKey key) {
        String text = JSON.writeValueAsString(fields);
        return new SignedStatement(text, Base64.getEncoder().encodeToString(key.sign(signed(context, text))));
    }

    /** The file form: {@code {"certificate": text, "signature": ...}} (the field name kept from the first certificates). */
    public String toJson() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("certificate", statement);
        m.put("signature", signature);
        return JSON.writeValueAsString(m);
    }

    /**
     * Checks a statement file offline against {@code publicKey} (the one the reader holds, not one
     * the file names) and its type.
     * @return the statement's fields
     * @throws IllegalArgumentException when it is not a valid statement of that type under that key
     */
    @SuppressWarnings("unchecked")
    public static Map<String, Object> verify(String file, String context, String type, byte[] publicKey) {
        Map<String, Object> parsed;
        byte[] signature;
        try {
            parsed = JSON.readValue(file, Map.class);
            signature = Base64.getDecoder().decode((String) parsed.get("signature"));
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("not a signed " + type + " file");
        }
        if (!(parsed.get("certificate") instanceof String text) || !Ed25519.verify(publicKey, signed(context, text), signature)) {
            throw new IllegalArgumentException("the " + type + "'s signature does not verify with this audit public key");
        }
        Map<String, Object> fields = JSON.readValue(text, Map.class);
        if (!type.equals(fields.get("type"))) {
            throw new IllegalArgumentException("signed, but not a " + type);
        }
        return fields;
    }

    /** Hex SHA-256, as statements name what they cover. */
    public static String sha256(byte[] bytes) {
        try {
            return java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static byte[] signed(String context, String text) {
        return (context + text).getBytes(StandardCharsets.UTF_8);
    }
}
