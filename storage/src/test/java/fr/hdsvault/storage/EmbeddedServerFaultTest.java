package fr.hdsvault.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import fr.hdsvault.storage.embedded.EmbeddedS3Server;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Failures a real deployment meets, provoked on a real embedded server. */
class EmbeddedServerFaultTest {

    static final String BUCKET = "faults";
    static final Duration NO_HANG = Duration.ofSeconds(20);

    @TempDir
    Path dir;

    static S3StoreConfig impatient(EmbeddedS3Server server) {
        return S3StoreConfig.declared(server.endpoint(), server.credentials(), "fr-par")
                .withTimeouts(Duration.ofSeconds(1), Duration.ofSeconds(2))
                .withRetries(3, Duration.ofMillis(50));
    }

    @Test
    void aByteFlippedOnDiskIsAnIntegrityErrorNamingTheObject() throws IOException {
        try (EmbeddedS3Server server = EmbeddedS3Server.start(dir);
             S3ObjectStore store = new S3ObjectStore(impatient(server))) {
            store.createBucket(BUCKET, BucketOptions.versioned());
            String key = "a1/b2c3d4";
            store.put(BUCKET, key, "ciphertext bytes, pretend".getBytes(), Map.of());
            Path file = server.objectsDirectory().resolve(BUCKET).resolve(key);
            assertThat(file).exists();
            byte[] onDisk = Files.readAllBytes(file);
            onDisk[3] ^= 0x01;
            Files.write(file, onDisk);

            assertThatThrownBy(() -> store.getBytes(BUCKET, key)).isInstanceOf(IntegrityException.class)
                    .hasMessageContaining(key).hasMessageContaining("SHA-256")
                    .hasMessageNotContaining("ciphertext bytes");
            assertThatThrownBy(() -> {
                try (InputStream in = store.get(BUCKET, key)) {
                    in.readAllBytes();
                }
            }).isInstanceOf(IntegrityException.class);
        }
    }

    @Test
    void wrongCredentialsAreAccessDenied() {
        try (EmbeddedS3Server server = EmbeddedS3Server.start(dir);
             S3ObjectStore store = new S3ObjectStore(impatient(server));
             S3ObjectStore intruder = new S3ObjectStore(impatient(server)
                     .withCredentials(new S3Credentials(server.credentials().accessKey(), "not-the-secret")))) {
            store.createBucket(BUCKET, BucketOptions.plain());
            store.put(BUCKET, "k", new byte[] {1}, Map.of());
            assertThatThrownBy(() -> intruder.getBytes(BUCKET, "k")).isInstanceOf(StoreAccessDeniedException.class);
            assertThatThrownBy(() -> intruder.put(BUCKET, "k2", new byte[] {1}, Map.of())).isInstanceOf(StoreAccessDeniedException.class);
            assertThat(store.exists(BUCKET, "k2")).isFalse();
        }
    }

    @Test
    void aServerStoppedInTheMiddleOfAListingGivesATypedErrorNotAHang() {
        EmbeddedS3Server server = EmbeddedS3Server.start(dir);
        try (S3ObjectStore store = new S3ObjectStore(impatient(server))) {
            store.createBucket(BUCKET, BucketOptions.plain());
            for (int i = 0; i < 30; i++) {
                store.put(BUCKET, "p/" + i, new byte[] {1}, Map.of());
            }
            ListPage first = store.list(BUCKET, "p/", null, 10);
            server.close();
            assertTimeoutPreemptively(NO_HANG, () ->
                    assertThatThrownBy(() -> store.list(BUCKET, "p/", first.nextStartAfter(), 10))
                            .isInstanceOf(StoreUnavailableException.class).hasMessageContaining("list " + BUCKET));
        }
    }

    @Test
    void aServerStoppedInTheMiddleOfAPutLeavesNoObjectVisible() {
        EmbeddedS3Server server = EmbeddedS3Server.start(dir);
        String key = "big/object";
        try (S3ObjectStore store = new S3ObjectStore(impatient(server))) {
            store.createBucket(BUCKET, BucketOptions.plain());
            // 40 MiB of unknown length, in 8 MiB parts; the server is stopped once 7 MiB went out.
            CompletableFuture<?>[] stopping = new CompletableFuture<?>[1];
            InputStream slow = new GeneratedStream(40L << 20, 1, produced -> {
                if (produced >= 7L << 20) {
                    if (stopping[0] == null) {
                        stopping[0] = CompletableFuture.runAsync(server::close);
                    }
                    pause(); // the rest trickles in, so the server is surely stopped before the upload ends
                }
            });
            assertTimeoutPreemptively(NO_HANG, () ->
                    assertThatThrownBy(() -> store.put(BUCKET, key, slow, -1, null, Map.of()))
                            .isInstanceOf(StoreUnavailableException.class));
        }
        try (EmbeddedS3Server restarted = EmbeddedS3Server.start(dir);
             S3ObjectStore store = new S3ObjectStore(impatient(restarted))) {
            assertThat(store.exists(BUCKET, key)).isFalse();
            assertThat(store.list(BUCKET, "big/", null, 10).objects()).isEmpty();
            // What the interrupted upload left is the store's own temporary, and the janitor removes it.
            store.purgeIncoming(BUCKET, Duration.ZERO);
            assertThat(store.list(BUCKET, S3ObjectStore.INCOMING_PREFIX, null, 10).objects()).isEmpty();
        }
    }

    static void pause() {
        try {
            Thread.sleep(2);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Test
    void restartsKeepCredentialsInAnOwnerOnlyFileAndTheData() throws IOException {
        String firstEndpoint;
        try (EmbeddedS3Server server = EmbeddedS3Server.start(dir);
             S3ObjectStore store = new S3ObjectStore(impatient(server))) {
            firstEndpoint = server.endpoint();
            store.createBucket(BUCKET, BucketOptions.plain());
            store.put(BUCKET, "kept", new byte[] {42}, Map.of());
        }
        Path credentials = dir.resolve("s3-credentials");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(credentials))).isEqualTo("rw-------");
        String secret = Files.readString(credentials);
        try (EmbeddedS3Server server = EmbeddedS3Server.start(dir);
             S3ObjectStore store = new S3ObjectStore(impatient(server))) {
            assertThat(server.endpoint()).startsWith("http://127.0.0.1:");
            assertThat(Files.readString(credentials)).isEqualTo(secret);
            assertThat(store.getBytes(BUCKET, "kept")).containsExactly(42);
            assertThat(firstEndpoint).isNotNull();
        }
        Files.setPosixFilePermissions(credentials, PosixFilePermissions.fromString("rw-r--r--"));
        assertThatThrownBy(() -> EmbeddedS3Server.start(dir)).hasMessageContaining("chmod 600");
    }

    @Test
    void aBucketOutsideTheResidencyPolicyIsRefused() {
        try (EmbeddedS3Server server = EmbeddedS3Server.start(dir)) {
            S3StoreConfig declaredAbroad = S3StoreConfig.declared(server.endpoint(), server.credentials(), "us-east-1");
            try (S3ObjectStore store = new S3ObjectStore(declaredAbroad)) {
                assertThatThrownBy(() -> store.createBucket(BUCKET, BucketOptions.plain()))
                        .isInstanceOf(ResidencyViolationException.class).hasMessageContaining("us-east-1");
            }
            // Treated as an external server, S3Proxy reports no region (S3's default, us-east-1): refused,
            // and every operation on the bucket is refused with it.
            S3StoreConfig external = S3StoreConfig.external(server.endpoint(), server.credentials(), "us-east-1");
            try (S3ObjectStore store = new S3ObjectStore(S3StoreConfig.declared(server.endpoint(), server.credentials(), "fr-par"));
                 S3ObjectStore verifying = new S3ObjectStore(external)) {
                store.createBucket(BUCKET, BucketOptions.plain());
                assertThatThrownBy(() -> verifying.checkResidency(BUCKET)).isInstanceOf(ResidencyViolationException.class)
                        .hasMessageContaining("bucket " + BUCKET).hasMessageContaining("reported by the server");
                assertThatThrownBy(() -> verifying.put(BUCKET, "k", new byte[] {1}, Map.of()))
                        .isInstanceOf(ResidencyViolationException.class);
                assertThat(store.exists(BUCKET, "k")).isFalse();
            }
        }
    }
}
