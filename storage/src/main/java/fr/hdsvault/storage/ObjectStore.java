package fr.hdsvault.storage;

import java.io.InputStream;
import java.util.Map;
import java.util.Optional;

/**
 * S3-compatible object storage, as the vault uses it: immutable objects under opaque keys,
 * each with the SHA-256 of its content recorded at write time and checked on read.
 *
 * <p>Every operation on a bucket first checks the bucket's residency against the policy
 * (once per bucket and process) and refuses with {@link ResidencyViolationException} when it
 * lies outside. Failures are typed ({@link ObjectStoreException}); messages never carry object
 * content or metadata values.
 */
public interface ObjectStore extends AutoCloseable {

    /** User-metadata key under which the hex SHA-256 of the content is recorded. */
    String SHA256_METADATA = "sha256";

    /** Creates the bucket if absent (idempotent), with versioning and Object Lock where asked and supported. */
    void createBucket(String bucket, BucketOptions options);

    /** Finds out, by trying, whether versioning and Object Lock are enforced, and where the bucket is. */
    StoreCapabilities probe(String bucket);

    /**
     * Checks the bucket's region against the residency policy now; throws if outside.
     * @return the region: the server's answer, or the declared one for a server that stores none
     */
    String checkResidency(String bucket);

    /** Writes bytes; the store verifies their SHA-256 on receipt. */
    ObjectInfo put(String bucket, String key, byte[] content, Map<String, String> metadata);

    /**
     * Writes a stream in constant memory.
     * @param length the exact length, or -1 when unknown (multipart upload)
     * @param sha256Hex the hex SHA-256 of the content when the caller knows it, else null: the
     *        object is then uploaded under a temporary key and copied into place with its
     *        checksum, so the final key never shows an object without one
     */
    ObjectInfo put(String bucket, String key, InputStream content, long length, String sha256Hex, Map<String, String> metadata);

    /**
     * Reads a whole object. The stream checks the SHA-256 as it reaches the end and throws
     * {@link IntegrityException} there if the bytes differ: read to the end before trusting them.
     */
    InputStream get(String bucket, String key);

    /** Reads a whole object into memory and checks its SHA-256. */
    byte[] getBytes(String bucket, String key);

    /** Reads {@code length} bytes from {@code offset}; a range cannot be checked against the whole object's hash. */
    InputStream getRange(String bucket, String key, long offset, long length);

    Optional<ObjectInfo> stat(String bucket, String key);

    boolean exists(String bucket, String key);

    /** One page of keys under a prefix, in key order, starting after {@code startAfter} (null for the first page). */
    ListPage list(String bucket, String prefix, String startAfter, int maxKeys);

    /** Deletes an object (idempotent). In a locked bucket this adds a delete marker; locked versions stay. */
    void delete(String bucket, String key);

    /** Server-side copy, metadata included: the bytes do not travel through the vault. */
    ObjectInfo copy(String sourceBucket, String sourceKey, String targetBucket, String targetKey);

    @Override
    void close();
}
