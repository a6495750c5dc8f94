package fr.hdsvault.storage;

import io.minio.errors.ErrorResponseException;
import io.minio.errors.InsufficientDataException;
import io.minio.errors.InvalidResponseException;
import io.minio.errors.ServerException;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509TrustManager;
import java.net.SocketException;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import okhttp3.ConnectionPool;
import okhttp3.Dispatcher;
import okhttp3.OkHttpClient;
import okhttp3.Protocol;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * How the store talks to its server: one tuned OkHttp client, every operation's failures mapped
 * to typed errors, transient failures retried with backoff and jitter, and stale pooled
 * connections handled without noise:
 * <ul>
 *   <li>an idle connection is dropped from the pool after {@link S3StoreConfig#idleEviction},
 *       shorter than servers keep one open (30 s for the embedded server's Jetty), so the pool
 *       seldom holds one the server already closed;</li>
 *   <li>when a request still meets one (the server closed it as it was reused: "unexpected end of
 *       stream", a reset), an idempotent request is sent again at once on a fresh connection,
 *       once, without counting as a failed attempt; the idle pool is cleared, since its other
 *       connections are as old.</li>
 * </ul>
 */
final class S3Requests {

    private static final Logger log = LoggerFactory.getLogger(S3Requests.class);

    @FunctionalInterface
    interface S3Call<T> {
        T call() throws Exception;
    }

    private final S3StoreConfig config;
    private final OkHttpClient http;
    private final AtomicLong staleRetries = new AtomicLong();

    S3Requests(S3StoreConfig config) {
        this.config = config;
        this.http = httpClient(config);
    }

    OkHttpClient http() {
        return http;
    }

    /** The HTTP client every store uses: pooled, up to 64 concurrent requests per host, timeouts on every call. */
    static OkHttpClient httpClient(S3StoreConfig config) {
        Dispatcher dispatcher = new Dispatcher();
        dispatcher.setMaxRequests(256);
        dispatcher.setMaxRequestsPerHost(64); // OkHttp's default of 5 caps parallel PUTs
        OkHttpClient.Builder builder = new OkHttpClient.Builder();
        if (config.trustedCertificates() != null) {
            X509TrustManager trust = trustManager(config.trustedCertificates());
            builder.sslSocketFactory(tls(trust).getSocketFactory(), trust);
        }
        return builder
                .dispatcher(dispatcher)
                .connectionPool(new ConnectionPool(64, config.idleEviction().toMillis(), TimeUnit.MILLISECONDS))
                .connectTimeout(config.connectTimeout())
                .readTimeout(config.ioTimeout())
                .writeTimeout(config.ioTimeout())
                .retryOnConnectionFailure(false) // retries are ours, and only for what may be repeated
                .protocols(List.of(Protocol.HTTP_1_1))
                .build();
    }

    /** Trusts exactly the CA certificates of one PEM file. */
    static X509TrustManager trustManager(Path pemFile) {
        try (InputStream in = Files.newInputStream(pemFile)) {
            KeyStore anchors = KeyStore.getInstance(KeyStore.getDefaultType());
            anchors.load(null, null);
            int n = 0;
            for (Certificate c : CertificateFactory.getInstance("X.509").generateCertificates(in)) {
                anchors.setCertificateEntry("ca-" + n++, c);
            }
            if (n == 0) {
                throw new IllegalArgumentException("no certificate in the trust store " + pemFile);
            }
            TrustManagerFactory factory = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            factory.init(anchors);
            for (TrustManager m : factory.getTrustManagers()) {
                if (m instanceof X509TrustManager x509) {
                    return x509;
                }
            }
            throw new IllegalStateException("no X.509 trust manager");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the trust store " + pemFile, e);
        } catch (GeneralSecurityException e) {
            throw new IllegalArgumentException("the trust store " + pemFile + " is not a PEM file of certificates", e);
        }
    }

    private static SSLContext tls(X509TrustManager trust) {
        try {
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(null, new TrustManager[] {trust}, null);
            return context;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    /** How many requests met a connection the server had closed and were sent again on a fresh one. */
    long staleRetries() {
        return staleRetries.get();
    }

    /** Runs an idempotent operation, retrying transient failures with exponential backoff and jitter. */
    <T> T call(String what, String bucket, String key, S3Call<T> op) {
        return attempt(what, bucket, key, op, config.maxAttempts(), true);
    }

    /** Runs an operation whose input cannot be replayed: no retry. */
    <T> T once(String what, String bucket, String key, S3Call<T> op) {
        return attempt(what, bucket, key, op, 1, false);
    }

    private <T> T attempt(String what, String bucket, String key, S3Call<T> op, int attempts, boolean idempotent) {
        long backoff = config.retryBackoff().toMillis();
        boolean freshRetryLeft = idempotent;
        for (int n = 1; ; n++) {
            try {
                return op.call();
            } catch (Exception e) {
                if (freshRetryLeft && staleConnection(e)) {
                    freshRetryLeft = false;
                    staleRetries.incrementAndGet();
                    http.connectionPool().evictAll(); // the idle connections left are as old as this one
                    log.debug("{} {}: a pooled connection was closed by the server; sent again on a fresh one", what, bucket);
                    n--;
                    continue;
                }
                ObjectStoreException failure = translate(what, bucket, key, e);
                if (!(failure instanceof StoreUnavailableException) || n >= attempts) {
                    throw failure;
                }
                log.warn("{} {}{}: attempt {} of {} failed ({}), retrying", what, bucket, key == null ? "" : "/" + key,
                        n, attempts, failure.getMessage());
                try {
                    Thread.sleep(backoff + ThreadLocalRandom.current().nextLong(backoff / 2 + 1));
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    throw failure;
                }
                backoff *= 2;
            }
        }
    }

    /** The server closed a pooled connection as it was reused: the request never reached it whole. */
    static boolean staleConnection(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof EOFException) {
                return true;
            }
            if (t instanceof IOException && t.getMessage() != null && t.getMessage().startsWith("unexpected end of stream")) {
                return true;
            }
            if (t instanceof SocketException && t.getMessage() != null
                    && (t.getMessage().contains("Connection reset") || t.getMessage().contains("Broken pipe"))) {
                return true;
            }
            if (t.getCause() == t) {
                break;
            }
        }
        return false;
    }

    /** Maps SDK and network failures to the store's typed errors. */
    static ObjectStoreException translate(String what, String bucket, String key, Throwable e) {
        String where = what + " " + bucket + (key == null ? "" : "/" + key);
        if (e instanceof ObjectStoreException typed) {
            return typed;
        }
        if (e instanceof ErrorResponseException er) {
            String code = er.errorResponse().code();
            int status = er.response() == null ? 0 : er.response().code();
            String message = where + ": " + code + " (HTTP " + status + ")";
            return switch (code) {
                case "NoSuchKey", "NoSuchBucket", "NoSuchVersion", "NoSuchUpload" -> new ObjectNotFoundException(message, e);
                case "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "AllAccessDisabled" ->
                        new StoreAccessDeniedException(message, e);
                case "BadDigest", "InvalidDigest", "XAmzContentSHA256Mismatch", "XAmzContentChecksumMismatch" ->
                        new IntegrityException(message + ": the server refused the body as corrupt", e);
                case "NotImplemented" -> new StoreRequestException(code, message, e);
                case "InternalError", "ServiceUnavailable", "SlowDown", "RequestTimeout", "RequestTimeTooSkewed" ->
                        new StoreUnavailableException(message, e);
                default -> status >= 500 || status == 429 ? new StoreUnavailableException(message, e)
                        : new StoreRequestException(code, message, e);
            };
        }
        if (e instanceof ServerException se) {
            return new StoreUnavailableException(where + ": server error HTTP " + se.statusCode(), e);
        }
        if (e instanceof InvalidResponseException) {
            return new StoreUnavailableException(where + ": the endpoint did not answer as an S3 server", e);
        }
        if (e instanceof IOException) {
            return new StoreUnavailableException(where + ": " + e.getClass().getSimpleName()
                    + (e.getMessage() == null ? "" : " " + e.getMessage()), e);
        }
        if (e instanceof InsufficientDataException) {
            return new StoreRequestException("InsufficientData", where + ": the stream ended before its declared length", e);
        }
        return new StoreRequestException("ClientError", where + ": " + e.getClass().getSimpleName(), e);
    }

    void close() {
        http.dispatcher().executorService().shutdown();
        http.connectionPool().evictAll();
    }
}
