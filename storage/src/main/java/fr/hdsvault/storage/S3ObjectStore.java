package fr.hdsvault.storage;

import io.minio.BucketExistsArgs;
import io.minio.CopyObjectArgs;
import io.minio.CopySource;
import io.minio.Directive;
import io.minio.GetObjectArgs;
import io.minio.GetObjectLockConfigurationArgs;
import io.minio.GetObjectResponse;
import io.minio.ListObjectsArgs;
import io.minio.MakeBucketArgs;
import io.minio.MinioAsyncClient;
import io.minio.MinioClient;
import io.minio.ObjectWriteResponse;
import io.minio.PutObjectArgs;
import io.minio.RemoveObjectArgs;
import io.minio.Result;
import io.minio.SetBucketVersioningArgs;
import io.minio.SetObjectLockConfigurationArgs;
import io.minio.StatObjectArgs;
import io.minio.messages.Item;
import io.minio.messages.ObjectLockConfiguration;
import io.minio.messages.RetentionDurationDays;
import io.minio.messages.RetentionMode;
import io.minio.messages.VersioningConfiguration;
import java.io.ByteArrayInputStream;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import okhttp3.OkHttpClient;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one {@link ObjectStore} implementation: S3 through the MinIO Java SDK, for the embedded
 * server and for MinIO alike.
 *
 * <ul>
 *   <li>Requests, retries and error mapping: {@link S3Requests} (one tuned OkHttp client,
 *       transient failures retried, stale pooled connections handled quietly).</li>
 *   <li>Integrity: the SHA-256 of every object is recorded in its metadata and, for byte
 *       arrays, sent as {@code x-amz-checksum-sha256}, which the server (S3Proxy, MinIO)
 *       checks before storing. Reads check it again.</li>
 * </ul>
 */
public final class S3ObjectStore implements ObjectStore {

    private static final Logger log = LoggerFactory.getLogger(S3ObjectStore.class);
    /** Keys starting with '.' are the store's own: temporary uploads and capability probes. */
    static final String INCOMING_PREFIX = ".incoming/";
    static final String PROBE_PREFIX = ".probe/";
    private static final String SHA256_HEADER = "x-amz-meta-" + SHA256_METADATA;

    private final S3StoreConfig config;
    private final S3Requests requests;
    private final MinioClient client;
    private final SdkAccess raw;
    private final SdkAccess regionLookup;
    private final Set<String> residentBuckets = ConcurrentHashMap.newKeySet();

    public S3ObjectStore(S3StoreConfig config) {
        this.config = config;
        this.requests = new S3Requests(config);
        OkHttpClient http = requests.http();
        this.client = MinioClient.builder()
                .endpoint(config.endpoint())
                .credentials(config.credentials().accessKey(), config.credentials().secretKey())
                .region(config.region())
                .httpClient(http)
                .build();
        this.raw = new SdkAccess(MinioAsyncClient.builder()
                .endpoint(config.endpoint())
                .credentials(config.credentials().accessKey(), config.credentials().secretKey())
                .region(config.region())
                .httpClient(http)
                .build());
        // The main client has its region configured, so it never asks where a bucket is; this
        // one has none, so the SDK asks the server (GetBucketLocation).
        this.regionLookup = config.regionDeclared() ? null : new SdkAccess(MinioAsyncClient.builder()
                .endpoint(config.endpoint())
                .credentials(config.credentials().accessKey(), config.credentials().secretKey())
                .httpClient(http)
                .build());
    }

    /** The HTTP client every store uses; public so the benchmark's bare MinIO client is tuned the same. */
    public static OkHttpClient httpClient(S3StoreConfig config) {
        return S3Requests.httpClient(config);
    }

    public S3StoreConfig config() {
        return config;
    }

    // ------------------------------------------------------------------ buckets

    @Override
    public void createBucket(String bucket, BucketOptions options) {
        if (!config.residency().allows(config.region())) {
            throw new ResidencyViolationException("refusing to create bucket " + bucket + " in region '" + config.region()
                    + "', outside the allowed regions [" + config.residency() + "]");
        }
        boolean exists = call("bucket-exists", bucket, null, () -> client.bucketExists(BucketExistsArgs.builder().bucket(bucket).build()));
        boolean lockAtCreation = options.objectLock();
        if (!exists) {
            try {
                makeBucket(bucket, lockAtCreation);
            } catch (StoreRequestException e) {
                if (!lockAtCreation || !"NotImplemented".equals(e.errorCode())) {
                    throw e;
                }
                // The embedded server has no Object Lock: say so; probe() reports it, signatures detect tampering.
                log.warn("bucket {}: the server does not implement S3 Object Lock; creating it without", bucket);
                lockAtCreation = false;
                makeBucket(bucket, false);
            }
        }
        if (options.versioning()) {
            try {
                call("set-versioning", bucket, null, () -> {
                    client.setBucketVersioning(SetBucketVersioningArgs.builder().bucket(bucket)
                            .config(new VersioningConfiguration(VersioningConfiguration.Status.ENABLED, null)).build());
                    return null;
                });
            } catch (StoreRequestException e) {
                if (!"NotImplemented".equals(e.errorCode())) {
                    throw e;
                }
                log.warn("bucket {}: the server does not implement versioning; overwritten objects are not kept", bucket);
            }
        }
        if (lockAtCreation || (exists && options.objectLock())) {
            try {
                call("set-object-lock", bucket, null, () -> {
                    client.setObjectLockConfiguration(SetObjectLockConfigurationArgs.builder().bucket(bucket)
                            .config(new ObjectLockConfiguration(RetentionMode.COMPLIANCE,
                                    new RetentionDurationDays((int) options.complianceRetention().toDays())))
                            .build());
                    return null;
                });
            } catch (StoreRequestException e) {
                log.warn("bucket {}: the server refused the Object Lock configuration ({}); objects stay deletable",
                        bucket, e.errorCode());
            }
        }
        checkResidency(bucket);
    }

    private void makeBucket(String bucket, boolean objectLock) {
        try {
            call("create-bucket", bucket, null, () -> {
                client.makeBucket(MakeBucketArgs.builder().bucket(bucket).region(config.region()).objectLock(objectLock).build());
                return null;
            });
        } catch (StoreRequestException e) {
            if ("InvalidLocationConstraint".equals(e.errorCode()) || "IllegalLocationConstraintException".equals(e.errorCode())) {
                // The server serves another region than the one the vault asked for: nothing is created there.
                throw new ResidencyViolationException("the server at " + config.endpoint() + " refused to create bucket " + bucket
                        + " in region '" + config.region() + "' (" + e.errorCode() + "): it serves another region; the vault "
                        + "stores health data only in [" + config.residency() + "]");
            }
            throw e;
        }
    }

    @Override
    public String checkResidency(String bucket) {
        String region = config.regionDeclared() ? config.region()
                : call("locate", bucket, null, () -> regionLookup.locate(bucket));
        if (!config.residency().allows(region)) {
            residentBuckets.remove(bucket);
            throw new ResidencyViolationException("bucket " + bucket + " is in region '" + (region == null ? "" : region)
                    + "' " + (config.regionDeclared() ? "(declared)" : "(reported by the server)")
                    + ", outside the allowed regions [" + config.residency() + "]: refusing to store or read health data there");
        }
        residentBuckets.add(bucket);
        return region;
    }

    private void requireResident(String bucket) {
        if (!residentBuckets.contains(bucket)) {
            checkResidency(bucket);
        }
    }

    @Override
    public StoreCapabilities probe(String bucket) {
        requireResident(bucket);
        String probeKey = PROBE_PREFIX + UUID.randomUUID();
        put(bucket, probeKey, new byte[] {1}, Map.of());
        put(bucket, probeKey, new byte[] {2}, Map.of());
        List<String> versions = probeVersions(bucket, probeKey);
        boolean versioning = versions.size() >= 2;
        boolean lockConfigured = hasLockConfiguration(bucket);
        // Try to delete the newest version outright: a compliance lock must refuse.
        String newest = versions.isEmpty() ? null : versions.get(0);
        boolean locked;
        try {
            removeVersion(bucket, probeKey, newest);
            locked = false;
        } catch (StoreAccessDeniedException | StoreRequestException e) {
            locked = lockConfigured;
        }
        if (!locked) {
            for (String v : versions) {
                try {
                    removeVersion(bucket, probeKey, v);
                } catch (ObjectStoreException e) {
                    log.debug("probe cleanup of {} left a version: {}", probeKey, e.getMessage());
                }
            }
        }
        String region = config.regionDeclared() ? config.region() : call("locate", bucket, null, () -> regionLookup.locate(bucket));
        return new StoreCapabilities(bucket, versioning, locked, region, !config.regionDeclared());
    }

    /** Version ids of one key, newest first; empty when the server cannot list versions. */
    private List<String> probeVersions(String bucket, String key) {
        try {
            return call("list-versions", bucket, key, () -> {
                List<String> ids = new ArrayList<>();
                for (Result<Item> r : client.listObjects(ListObjectsArgs.builder().bucket(bucket).prefix(key)
                        .includeVersions(true).recursive(true).build())) {
                    Item item = r.get();
                    if (item.objectName().equals(key)) {
                        ids.add(item.versionId());
                    }
                }
                return ids;
            });
        } catch (StoreRequestException e) {
            return List.of();
        }
    }

    private void removeVersion(String bucket, String key, String versionId) {
        call("remove-version", bucket, key, () -> {
            client.removeObject(RemoveObjectArgs.builder().bucket(bucket).object(key).versionId(versionId).build());
            return null;
        });
    }

    private boolean hasLockConfiguration(String bucket) {
        try {
            ObjectLockConfiguration c = call("get-object-lock", bucket, null, () ->
                    client.getObjectLockConfiguration(GetObjectLockConfigurationArgs.builder().bucket(bucket).build()));
            return c != null && c.mode() != null;
        } catch (StoreRequestException | ObjectNotFoundException e) {
            return false;
        }
    }

    // ------------------------------------------------------------------ objects

    @Override
    public ObjectInfo put(String bucket, String key, byte[] content, Map<String, String> metadata) {
        requireResident(bucket);
        String sha256 = HexFormat.of().formatHex(sha256().digest(content));
        Map<String, String> meta = withChecksum(metadata, sha256);
        ObjectWriteResponse r = call("put", bucket, key, () -> client.putObject(PutObjectArgs.builder()
                .bucket(bucket).object(key)
                .stream(new ByteArrayInputStream(content), content.length, -1)
                .userMetadata(meta)
                .headers(Map.of("x-amz-checksum-sha256", Base64.getEncoder().encodeToString(HexFormat.of().parseHex(sha256))))
                .build()));
        return new ObjectInfo(key, content.length, sha256, r.etag(), null, meta);
    }

    @Override
    public ObjectInfo put(String bucket, String key, InputStream content, long length, String sha256Hex,
                          Map<String, String> metadata) {
        requireResident(bucket);
        DigestInputStream counted = new DigestInputStream(content, sha256());
        long partSize = length < 0 ? config.partSize() : -1;
        if (sha256Hex != null) {
            Map<String, String> meta = withChecksum(metadata, sha256Hex.toLowerCase(Locale.ROOT));
            ObjectWriteResponse r = once("put", bucket, key, () -> client.putObject(PutObjectArgs.builder()
                    .bucket(bucket).object(key).stream(counted, length, partSize).userMetadata(meta).build()));
            String actual = HexFormat.of().formatHex(counted.getMessageDigest().digest());
            if (!actual.equals(meta.get(SHA256_METADATA))) {
                delete(bucket, key);
                throw new IntegrityException("put " + bucket + "/" + key + ": the content's SHA-256 differs from the declared one; object removed");
            }
            return new ObjectInfo(key, length, actual, r.etag(), null, meta);
        }
        // Unknown checksum: upload under a temporary key, then copy into place with the checksum, so the
        // final key never holds an object without one.
        String temporary = INCOMING_PREFIX + UUID.randomUUID();
        try {
            once("put", bucket, temporary, () -> client.putObject(PutObjectArgs.builder()
                    .bucket(bucket).object(temporary).stream(counted, length, partSize).userMetadata(metadata).build()));
            String actual = HexFormat.of().formatHex(counted.getMessageDigest().digest());
            Map<String, String> meta = withChecksum(metadata, actual);
            ObjectWriteResponse r = call("copy", bucket, key, () -> client.copyObject(CopyObjectArgs.builder()
                    .bucket(bucket).object(key)
                    .source(CopySource.builder().bucket(bucket).object(temporary).build())
                    .userMetadata(meta).metadataDirective(Directive.REPLACE).build()));
            return new ObjectInfo(key, length, actual, r.etag(), null, meta);
        } finally {
            try {
                delete(bucket, temporary);
            } catch (ObjectStoreException e) {
                log.warn("could not remove temporary upload {}/{}: {}", bucket, temporary, e.getMessage());
            }
        }
    }

    @Override
    public InputStream get(String bucket, String key) {
        requireResident(bucket);
        GetObjectResponse r = call("get", bucket, key, () -> client.getObject(GetObjectArgs.builder().bucket(bucket).object(key).build()));
        String expected = r.headers().get(SHA256_HEADER);
        if (expected == null) {
            closeQuietly(r);
            throw new IntegrityException("get " + bucket + "/" + key + ": the object has no recorded SHA-256 (not written by the vault, or its metadata was lost)");
        }
        return new VerifyingInputStream(r, expected, bucket + "/" + key);
    }

    @Override
    public byte[] getBytes(String bucket, String key) {
        try (InputStream in = get(bucket, key)) {
            return in.readAllBytes();
        } catch (IOException e) {
            throw S3Requests.translate("get", bucket, key, e);
        }
    }

    @Override
    public InputStream getRange(String bucket, String key, long offset, long length) {
        requireResident(bucket);
        return call("get-range", bucket, key, () -> client.getObject(GetObjectArgs.builder()
                .bucket(bucket).object(key).offset(offset).length(length).build()));
    }

    /**
     * A HEAD, its headers read here: the SDK's own stat parses Object Lock dates with
     * millisecond precision only and fails on servers that send nanoseconds (Ceph RGW does, for
     * every locked object), which would make every locked object unreadable to the backup.
     */
    @Override
    public Optional<ObjectInfo> stat(String bucket, String key) {
        requireResident(bucket);
        try {
            okhttp3.Headers h = call("stat", bucket, key, () -> raw.head(bucket, key));
            Map<String, String> meta = new HashMap<>();
            for (String name : h.names()) {
                String lower = name.toLowerCase(Locale.ROOT);
                if (lower.startsWith("x-amz-meta-")) {
                    meta.put(lower.substring("x-amz-meta-".length()), h.get(name));
                }
            }
            String length = h.get("Content-Length");
            String etag = h.get("ETag");
            java.util.Date modified = h.getDate("Last-Modified");
            return Optional.of(new ObjectInfo(key, length == null ? -1 : Long.parseLong(length), meta.get(SHA256_METADATA),
                    etag == null ? null : etag.replace("\"", ""), modified == null ? null : modified.toInstant(), meta));
        } catch (ObjectNotFoundException e) {
            return Optional.empty();
        }
    }

    @Override
    public boolean exists(String bucket, String key) {
        return stat(bucket, key).isPresent();
    }

    @Override
    public ListPage list(String bucket, String prefix, String startAfter, int maxKeys) {
        if (maxKeys < 1 || maxKeys > 1000) {
            throw new IllegalArgumentException("maxKeys must be 1 to 1000 (one S3 request)");
        }
        requireResident(bucket);
        return call("list", bucket, prefix, () -> {
            ListObjectsArgs.Builder args = ListObjectsArgs.builder().bucket(bucket).recursive(true).maxKeys(maxKeys);
            if (prefix != null && !prefix.isEmpty()) {
                args.prefix(prefix);
            }
            if (startAfter != null) {
                args.startAfter(startAfter);
            }
            Iterator<Result<Item>> it = client.listObjects(args.build()).iterator();
            List<ObjectInfo> page = new ArrayList<>(maxKeys);
            boolean showInternal = prefix != null && prefix.startsWith(".");
            String last = null;
            while (page.size() < maxKeys && it.hasNext()) {
                Item item = it.next().get();
                last = item.objectName();
                if (showInternal || !last.startsWith(".")) {
                    Instant modified = item.lastModified() == null ? null : item.lastModified().toInstant();
                    page.add(new ObjectInfo(last, item.size(), null, item.etag(), modified, Map.of()));
                }
            }
            // The SDK pages lazily: asking for one more item costs a request only when the page is full.
            return new ListPage(page, it.hasNext() ? last : null);
        });
    }

    /**
     * Removes temporary uploads older than {@code age} left by interrupted streamed puts; run it
     * periodically (S3 lifecycle rules should also abort incomplete multipart uploads).
     * @return the number removed
     */
    public int purgeIncoming(String bucket, java.time.Duration age) {
        Instant cutoff = Instant.now().minus(age);
        int removed = 0;
        String after = null;
        do {
            ListPage page = list(bucket, INCOMING_PREFIX, after, 1000);
            for (ObjectInfo o : page.objects()) {
                if (o.lastModified() != null && o.lastModified().isBefore(cutoff)) {
                    delete(bucket, o.key());
                    removed++;
                }
            }
            after = page.nextStartAfter();
        } while (after != null);
        return removed;
    }

    @Override
    public void delete(String bucket, String key) {
        requireResident(bucket);
        call("delete", bucket, key, () -> {
            client.removeObject(RemoveObjectArgs.builder().bucket(bucket).object(key).build());
            return null;
        });
    }

    @Override
    public ObjectInfo copy(String sourceBucket, String sourceKey, String targetBucket, String targetKey) {
        requireResident(sourceBucket);
        requireResident(targetBucket);
        call("copy", targetBucket, targetKey, () -> client.copyObject(CopyObjectArgs.builder()
                .bucket(targetBucket).object(targetKey)
                .source(CopySource.builder().bucket(sourceBucket).object(sourceKey).build()).build()));
        return stat(targetBucket, targetKey).orElseThrow(() ->
                new ObjectNotFoundException("copy " + targetBucket + "/" + targetKey + ": target missing after copy"));
    }

    @Override
    public void close() {
        requests.close();
    }

    // ------------------------------------------------------------------ plumbing

    private <T> T call(String what, String bucket, String key, S3Requests.S3Call<T> op) {
        return requests.call(what, bucket, key, op);
    }

    private <T> T once(String what, String bucket, String key, S3Requests.S3Call<T> op) {
        return requests.once(what, bucket, key, op);
    }

    /** Requests that met a connection the server had closed and were sent again (for tests and metrics). */
    long staleRetries() {
        return requests.staleRetries();
    }

    private static Map<String, String> withChecksum(Map<String, String> metadata, String sha256) {
        Map<String, String> meta = new HashMap<>();
        metadata.forEach((k, v) -> {
            String name = k.toLowerCase(Locale.ROOT);
            if (!name.matches("[a-z0-9-]{1,64}") || name.equals(SHA256_METADATA)) {
                throw new IllegalArgumentException("metadata key not allowed: " + k);
            }
            meta.put(name, v);
        });
        meta.put(SHA256_METADATA, sha256);
        return meta;
    }

    static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void closeQuietly(InputStream in) {
        try {
            in.close();
        } catch (IOException ignored) {
            // nothing more to release
        }
    }

    /** Hashes what is read and compares with the recorded SHA-256 at the end of the stream. */
    private static final class VerifyingInputStream extends FilterInputStream {
        private final MessageDigest digest = sha256();
        private final String expected;
        private final String name;
        private boolean verified;

        VerifyingInputStream(InputStream in, String expected, String name) {
            super(in);
            this.expected = expected.toLowerCase(Locale.ROOT);
            this.name = name;
        }

        @Override
        public int read() throws IOException {
            int b = super.read();
            if (b < 0) {
                verify();
            } else {
                digest.update((byte) b);
            }
            return b;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            int n = super.read(b, off, len);
            if (n < 0) {
                verify();
            } else {
                digest.update(b, off, n);
            }
            return n;
        }

        @Override
        public long skip(long n) throws IOException {
            // Skipped bytes must still be hashed.
            byte[] buffer = new byte[8192];
            long skipped = 0;
            while (skipped < n) {
                int r = read(buffer, 0, (int) Math.min(buffer.length, n - skipped));
                if (r < 0) {
                    break;
                }
                skipped += r;
            }
            return skipped;
        }

        private void verify() {
            if (verified) {
                return;
            }
            verified = true;
            String actual = HexFormat.of().formatHex(digest.digest());
            if (!actual.equals(expected)) {
                throw new IntegrityException("get " + name + ": SHA-256 mismatch, the stored bytes were altered or damaged");
            }
        }

        @Override
        public boolean markSupported() {
            return false;
        }
    }

    /** Exposes what the SDK keeps protected: GetBucketLocation, and a HEAD whose headers are left to us. */
    private static final class SdkAccess extends MinioAsyncClient {
        SdkAccess(MinioAsyncClient configured) {
            super(configured);
        }

        String locate(String bucket) throws Exception {
            return getRegion(bucket, null);
        }

        okhttp3.Headers head(String bucket, String key) throws Exception {
            try (okhttp3.Response r = executeHeadAsync(StatObjectArgs.builder().bucket(bucket).object(key).build(), null, null).get()) {
                return r.headers();
            } catch (java.util.concurrent.ExecutionException e) {
                Throwable cause = e.getCause(); // the SDK wraps its typed errors in CompletionExceptions
                while (cause instanceof java.util.concurrent.CompletionException && cause.getCause() != null) {
                    cause = cause.getCause();
                }
                throw cause instanceof Exception typed ? typed : e;
            }
        }
    }
}
