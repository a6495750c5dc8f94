package fr.hdsvault.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/**
 * What every {@link ObjectStore} must do, whatever the server behind it. Subclasses provide a
 * store on a real server (the embedded S3Proxy always; MinIO where Docker runs) and a bucket.
 */
abstract class ObjectStoreContract {

    protected abstract ObjectStore store();

    protected abstract String bucket();

    static String key() {
        return "objects/" + UUID.randomUUID();
    }

    static byte[] random(int size) {
        byte[] b = new byte[size];
        new Random(size).nextBytes(b);
        return b;
    }

    static String sha256(byte[] b) {
        return HexFormat.of().formatHex(sha256Bytes(b));
    }

    static byte[] sha256Bytes(byte[] b) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(b);
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void bytesRoundTripWithMetadataAndRecordedChecksum() throws Exception {
        String key = key();
        byte[] content = random(5000);
        ObjectInfo written = store().put(bucket(), key, content, Map.of("kind", "envelope-v1"));
        assertThat(written.sha256()).isEqualTo(sha256(content));
        assertThat(store().getBytes(bucket(), key)).isEqualTo(content);
        ObjectInfo stat = store().stat(bucket(), key).orElseThrow();
        assertThat(stat.size()).isEqualTo(5000);
        assertThat(stat.sha256()).isEqualTo(sha256(content));
        assertThat(stat.userMetadata()).containsEntry("kind", "envelope-v1");
        assertThat(stat.lastModified()).isNotNull();
        try (InputStream in = store().get(bucket(), key)) {
            assertThat(in.readAllBytes()).isEqualTo(content);
        }
    }

    @Test
    void emptyObjectsAreObjectsToo() {
        String key = key();
        store().put(bucket(), key, new byte[0], Map.of());
        assertThat(store().getBytes(bucket(), key)).isEmpty();
        assertThat(store().exists(bucket(), key)).isTrue();
    }

    @Test
    void rangedReadsReturnTheSlice() throws IOException {
        String key = key();
        byte[] content = random(10_000);
        store().put(bucket(), key, content, Map.of());
        try (InputStream in = store().getRange(bucket(), key, 1234, 100)) {
            assertThat(in.readAllBytes()).isEqualTo(java.util.Arrays.copyOfRange(content, 1234, 1334));
        }
    }

    @Test
    void streamsOfKnownAndUnknownLengthRecordTheirChecksumAndLeaveNoTemporaryObject() throws Exception {
        byte[] content = random(300_000);
        String known = key();
        String unknown = key();
        store().put(bucket(), known, new ByteArrayInputStream(content), content.length, sha256(content), Map.of("a", "b"));
        store().put(bucket(), unknown, new ByteArrayInputStream(content), -1, null, Map.of("a", "b"));
        for (String key : List.of(known, unknown)) {
            assertThat(store().getBytes(bucket(), key)).isEqualTo(content);
            ObjectInfo info = store().stat(bucket(), key).orElseThrow();
            assertThat(info.sha256()).isEqualTo(sha256(content));
            assertThat(info.userMetadata()).containsEntry("a", "b");
        }
        assertThat(store().list(bucket(), S3ObjectStore.INCOMING_PREFIX, null, 10).objects()).isEmpty();
    }

    @Test
    void aStreamThatDoesNotMatchItsDeclaredChecksumIsRefusedAndRemoved() {
        String key = key();
        byte[] content = "not what was declared".getBytes(StandardCharsets.UTF_8);
        String wrong = "00".repeat(32);
        assertThatThrownBy(() -> store().put(bucket(), key, new ByteArrayInputStream(content), content.length, wrong, Map.of()))
                .isInstanceOf(IntegrityException.class).hasMessageNotContaining("not what was declared");
        assertThat(store().exists(bucket(), key)).isFalse();
    }

    @Test
    void missingObjectsAreTypedNotFound() {
        String key = key();
        assertThat(store().exists(bucket(), key)).isFalse();
        assertThat(store().stat(bucket(), key)).isEmpty();
        assertThatThrownBy(() -> store().getBytes(bucket(), key)).isInstanceOf(ObjectNotFoundException.class)
                .hasMessageContaining(key);
        assertThatThrownBy(() -> store().get(bucket(), key)).isInstanceOf(ObjectNotFoundException.class);
    }

    @Test
    void listingPagesByKeyInOrderAndSeesKeysAddedAheadOfTheCursor() {
        String prefix = "list-" + UUID.randomUUID() + "/";
        List<String> keys = new ArrayList<>();
        for (int i = 0; i < 25; i++) {
            String k = prefix + String.format("%03d", i * 2);
            keys.add(k);
            store().put(bucket(), k, new byte[] {(byte) i}, Map.of());
        }
        List<String> seen = new ArrayList<>();
        String after = null;
        int pages = 0;
        do {
            ListPage page = store().list(bucket(), prefix, after, 10);
            page.objects().forEach(o -> seen.add(o.key()));
            after = page.nextStartAfter();
            if (pages == 0) {
                // Written while the listing is under way, after the cursor: the next pages must show it.
                String late = prefix + "047";
                keys.add(late);
                store().put(bucket(), late, new byte[] {1}, Map.of());
            }
            pages++;
        } while (after != null);
        assertThat(seen).isEqualTo(keys.stream().sorted().toList());
        assertThat(pages).isEqualTo(3);
        assertThat(store().list(bucket(), prefix, null, 1000).objects()).hasSize(26).allMatch(o -> o.size() == 1);
    }

    @Test
    void deleteIsIdempotent() {
        String key = key();
        store().put(bucket(), key, new byte[] {1}, Map.of());
        store().delete(bucket(), key);
        assertThat(store().exists(bucket(), key)).isFalse();
        store().delete(bucket(), key);
    }

    @Test
    void serverSideCopyKeepsContentAndChecksum() throws Exception {
        String source = key();
        String target = key();
        byte[] content = random(70_000);
        store().put(bucket(), source, content, Map.of("kind", "x"));
        ObjectInfo copied = store().copy(bucket(), source, bucket(), target);
        assertThat(copied.sha256()).isEqualTo(sha256(content));
        assertThat(store().getBytes(bucket(), target)).isEqualTo(content);
    }

    @Test
    void theChecksumMetadataKeyIsReserved() {
        assertThatThrownBy(() -> store().put(bucket(), key(), new byte[1], Map.of("sha256", "forged")))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void createBucketIsIdempotent() {
        store().createBucket(bucket(), BucketOptions.versioned());
        assertThat(store().exists(bucket(), "never-written")).isFalse();
    }
}
