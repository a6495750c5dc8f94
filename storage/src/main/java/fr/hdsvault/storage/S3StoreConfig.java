package fr.hdsvault.storage;

import java.time.Duration;
import java.util.Objects;

/**
 * How to reach an S3-compatible server and how patient to be with it.
 *
 * @param endpoint        e.g. {@code https://minio.example.fr:9000}
 * @param region          the region buckets are created in; for an external server the region
 *                        each bucket reports is checked against {@code residency}
 * @param regionDeclared  true for the embedded server, which stores no region: the declared
 *                        {@code region} is trusted and reported as "declared, not verified"
 * @param connectTimeout  TCP connect limit
 * @param ioTimeout       longest silence while reading or writing a response or body
 * @param maxAttempts     attempts for an operation failing transiently (connection refused or
 *                        reset, timeout, 5xx, throttling); other failures are never retried
 * @param retryBackoff    first pause between attempts, doubled each time, with jitter
 * @param partSize        multipart part size for streams of unknown length (5 MiB to 5 GiB)
 * @param idleEviction    how long a pooled connection may stay idle before it is dropped: shorter
 *                        than the server keeps idle connections open (Jetty, the embedded server:
 *                        30 s), so that a request seldom meets one the server closed
 * @param trustedCertificates for an HTTPS endpoint, a PEM file of the CA certificates to trust
 *                        instead of the JDK's (a host's private CA); null for the JDK's
 */
public record S3StoreConfig(String endpoint, S3Credentials credentials, String region, boolean regionDeclared,
                            ResidencyPolicy residency, Duration connectTimeout, Duration ioTimeout,
                            int maxAttempts, Duration retryBackoff, long partSize, Duration idleEviction,
                            java.nio.file.Path trustedCertificates) {

    /** The default idle eviction: below the 30 s of Jetty and the idle limits of common S3 servers. */
    public static final Duration IDLE_EVICTION = Duration.ofSeconds(10);

    public static final long MIN_PART_SIZE = 5L * 1024 * 1024;

    public S3StoreConfig {
        Objects.requireNonNull(endpoint, "endpoint");
        Objects.requireNonNull(credentials, "credentials");
        Objects.requireNonNull(region, "region");
        Objects.requireNonNull(residency, "residency");
        if (maxAttempts < 1) {
            throw new IllegalArgumentException("maxAttempts must be at least 1");
        }
        if (partSize < MIN_PART_SIZE) {
            throw new IllegalArgumentException("S3 parts are at least 5 MiB");
        }
        if (idleEviction == null || idleEviction.isNegative() || idleEviction.isZero()) {
            throw new IllegalArgumentException("idleEviction must be positive");
        }
    }

    /** An external server: its reported region is verified. Defaults: 5 s connect, 30 s I/O, 3 attempts. */
    public static S3StoreConfig external(String endpoint, S3Credentials credentials, String region) {
        return new S3StoreConfig(endpoint, credentials, region, false, ResidencyPolicy.france(),
                Duration.ofSeconds(5), Duration.ofSeconds(30), 3, Duration.ofMillis(200), 8 * 1024 * 1024, IDLE_EVICTION, null);
    }

    /** The embedded server: the region is declared, not verified. */
    public static S3StoreConfig declared(String endpoint, S3Credentials credentials, String region) {
        return new S3StoreConfig(endpoint, credentials, region, true, ResidencyPolicy.france(),
                Duration.ofSeconds(5), Duration.ofSeconds(30), 3, Duration.ofMillis(200), 8 * 1024 * 1024, IDLE_EVICTION, null);
    }

    public S3StoreConfig withResidency(ResidencyPolicy policy) {
        return new S3StoreConfig(endpoint, credentials, region, regionDeclared, policy, connectTimeout, ioTimeout,
                maxAttempts, retryBackoff, partSize, idleEviction, trustedCertificates);
    }

    public S3StoreConfig withTimeouts(Duration connect, Duration io) {
        return new S3StoreConfig(endpoint, credentials, region, regionDeclared, residency, connect, io,
                maxAttempts, retryBackoff, partSize, idleEviction, trustedCertificates);
    }

    public S3StoreConfig withRetries(int attempts, Duration backoff) {
        return new S3StoreConfig(endpoint, credentials, region, regionDeclared, residency, connectTimeout, ioTimeout,
                attempts, backoff, partSize, idleEviction, trustedCertificates);
    }

    public S3StoreConfig withIdleEviction(Duration eviction) {
        return new S3StoreConfig(endpoint, credentials, region, regionDeclared, residency, connectTimeout, ioTimeout,
                maxAttempts, retryBackoff, partSize, eviction, trustedCertificates);
    }

    public S3StoreConfig withTrustedCertificates(java.nio.file.Path pemFile) {
        return new S3StoreConfig(endpoint, credentials, region, regionDeclared, residency, connectTimeout, ioTimeout,
                maxAttempts, retryBackoff, partSize, idleEviction, pemFile);
    }

    public S3StoreConfig withCredentials(S3Credentials other) {
        return new S3StoreConfig(endpoint, other, region, regionDeclared, residency, connectTimeout, ioTimeout,
                maxAttempts, retryBackoff, partSize, idleEviction, trustedCertificates);
    }
}
