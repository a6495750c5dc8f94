package fr.hdsvault.crypto;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Objects;

/**
 * The identity a sealed object belongs to. It is bound into the key derivation and the
 * associated data of every envelope, so an envelope opened under any other identity
 * (another tenant, resource type, id or version) fails as tampered.
 *
 * <p>Values are never written in clear into the envelope; they only feed the derivation.
 */
public record EncryptionContext(String tenant, String resourceType, String resourceId, String versionId) {

    public EncryptionContext {
        requireField(tenant, "tenant");
        requireField(resourceType, "resourceType");
        requireField(resourceId, "resourceId");
        requireField(versionId, "versionId");
    }

    private static void requireField(String value, String name) {
        Objects.requireNonNull(value, name);
        if (value.isEmpty()) {
            throw new IllegalArgumentException(name + " must not be empty");
        }
    }

    /** Canonical encoding: each field as a 2-byte big-endian length and its UTF-8 bytes. */
    byte[] encode() {
        ByteArrayOutputStream out = new ByteArrayOutputStream(64);
        writeField(out, tenant);
        writeField(out, resourceType);
        writeField(out, resourceId);
        writeField(out, versionId);
        return out.toByteArray();
    }

    static void writeField(ByteArrayOutputStream out, String value) {
        byte[] bytes = value.getBytes(StandardCharsets.UTF_8);
        if (bytes.length > 0xFFFF) {
            throw new IllegalArgumentException("context field longer than 65535 bytes");
        }
        out.write(bytes.length >>> 8);
        out.write(bytes.length);
        out.write(bytes, 0, bytes.length);
    }

    /** Deliberately omits the values: contexts name patients' resources and must not reach logs. */
    @Override
    public String toString() {
        return "EncryptionContext[redacted]";
    }
}
