package fr.hdsvault.storage;

import java.time.Instant;
import java.util.Map;

/**
 * What the store knows of one object. {@code sha256} is the hex SHA-256 recorded at write
 * time (null for objects not written through {@link ObjectStore}, and in listings, which do not
 * carry user metadata).
 */
public record ObjectInfo(String key, long size, String sha256, String etag, Instant lastModified,
                         Map<String, String> userMetadata) {

    public ObjectInfo {
        userMetadata = userMetadata == null ? Map.of() : Map.copyOf(userMetadata);
    }
}
