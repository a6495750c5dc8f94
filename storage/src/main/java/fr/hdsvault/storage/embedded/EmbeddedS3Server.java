package fr.hdsvault.storage.embedded;

import fr.hdsvault.storage.S3Credentials;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Properties;
import java.util.Set;
import org.gaul.s3proxy.BlobStores;
import org.gaul.s3proxy.S3Proxy;
import org.gaul.s3proxy.auth.AuthenticationType;
import org.gaul.s3proxy.blobstore.BlobStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The single-node object store: S3Proxy with its filesystem back-end, on 127.0.0.1 and a free
 * port, keeping objects under {@code <dir>/objects} and SigV4 credentials, generated on first
 * start, in {@code <dir>/s3-credentials} (owner-only). Writes are forced to disk before they are
 * acknowledged ({@link DurableBlobStore}); the store has no Object Lock and stores no region.
 */
public final class EmbeddedS3Server implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(EmbeddedS3Server.class);
    static final String CREDENTIALS_FILE = "s3-credentials";
    static final String OBJECTS_DIR = "objects";

    /**
     * Where a bucket's objects lie on disk under a server directory (one file per object, key
     * slashes as subdirectories): for offline tools that read a stopped server's files.
     */
    public static java.nio.file.Path bucketDirectory(java.nio.file.Path serverDirectory, String bucket) {
        return serverDirectory.resolve(OBJECTS_DIR).resolve(bucket);
    }

    private final Path directory;
    private final S3Credentials credentials;
    private final S3Proxy proxy;

    private EmbeddedS3Server(Path directory, S3Credentials credentials, S3Proxy proxy) {
        this.directory = directory;
        this.credentials = credentials;
        this.proxy = proxy;
    }

    /** Starts a server on a free loopback port with durable (fsync) writes. */
    public static EmbeddedS3Server start(Path directory) {
        return start(directory, 0, true);
    }

    /**
     * @param port 0 for a free port
     * @param durableWrites false only to measure what fsync costs (docs/performance.md)
     */
    public static EmbeddedS3Server start(Path directory, int port, boolean durableWrites) {
        try {
            Path objects = directory.resolve(OBJECTS_DIR);
            Files.createDirectories(objects);
            S3Credentials credentials = loadOrCreateCredentials(directory.resolve(CREDENTIALS_FILE));
            Properties properties = new Properties();
            properties.setProperty("jclouds.filesystem.basedir", objects.toString());
            BlobStore store = BlobStores.create("filesystem-nio2", properties);
            if (durableWrites) {
                store = new DurableBlobStore(store, objects);
            }
            S3Proxy proxy = S3Proxy.builder()
                    .blobStore(store)
                    .endpoint(URI.create("http://127.0.0.1:" + port))
                    .awsAuthentication(AuthenticationType.AWS_V4, credentials.accessKey(), credentials.secretKey())
                    .metricsEnabled(false)
                    .build();
            proxy.start();
            long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
            while (!"STARTED".equals(proxy.getState())) {
                if (System.nanoTime() > deadline) {
                    proxy.stop();
                    throw new IllegalStateException("embedded S3 server did not start within 10 s (state " + proxy.getState() + ")");
                }
                Thread.sleep(5);
            }
            EmbeddedS3Server server = new EmbeddedS3Server(directory, credentials, proxy);
            log.info("embedded S3 server on {} with data in {} (durable writes: {}; no Object Lock, region declared)",
                    server.endpoint(), objects, durableWrites);
            return server;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while starting the embedded S3 server", e);
        } catch (RuntimeException e) {
            throw e;
        } catch (Exception e) {
            throw new IllegalStateException("cannot start the embedded S3 server in " + directory, e);
        }
    }

    private static S3Credentials loadOrCreateCredentials(Path file) throws IOException {
        if (Files.exists(file)) {
            Set<PosixFilePermission> perms = Files.getPosixFilePermissions(file);
            if (!Set.of(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE).containsAll(perms)) {
                throw new IllegalStateException("refusing " + file + ": it must be readable by its owner only (chmod 600)");
            }
            List<String> lines = Files.readAllLines(file, StandardCharsets.US_ASCII);
            String access = null;
            String secret = null;
            for (String line : lines) {
                if (line.startsWith("access-key=")) {
                    access = line.substring("access-key=".length()).strip();
                } else if (line.startsWith("secret-key=")) {
                    secret = line.substring("secret-key=".length()).strip();
                }
            }
            if (access == null || secret == null) {
                throw new IllegalStateException(file + " lacks access-key= or secret-key=");
            }
            return new S3Credentials(access, secret);
        }
        SecureRandom random = new SecureRandom();
        byte[] a = new byte[10];
        byte[] s = new byte[30];
        random.nextBytes(a);
        random.nextBytes(s);
        S3Credentials created = new S3Credentials("hdsvault" + HexFormat.of().formatHex(a), HexFormat.of().formatHex(s));
        Path tmp = Files.createTempFile(file.getParent(), ".s3-credentials", ".tmp",
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        Files.writeString(tmp, "access-key=" + created.accessKey() + "\nsecret-key=" + created.secretKey() + "\n",
                StandardCharsets.US_ASCII);
        Files.move(tmp, file, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        return created;
    }

    public String endpoint() {
        return "http://127.0.0.1:" + proxy.getPort();
    }

    public int port() {
        return proxy.getPort();
    }

    public S3Credentials credentials() {
        return credentials;
    }

    /** Where the objects live on disk: {@code <objects dir>/<bucket>/<key>}. */
    public Path objectsDirectory() {
        return directory.resolve(OBJECTS_DIR);
    }

    @Override
    public void close() {
        try {
            proxy.stop();
        } catch (Exception e) {
            throw new IllegalStateException("embedded S3 server did not stop cleanly", e);
        }
    }
}
