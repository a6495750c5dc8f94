package fr.hdsvault.api.resources;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import fr.hdsvault.storage.BucketOptions;
import fr.hdsvault.storage.ObjectNotFoundException;
import fr.hdsvault.storage.S3ObjectStore;
import fr.hdsvault.storage.S3StoreConfig;
import fr.hdsvault.storage.embedded.EmbeddedS3Server;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The records' ciphertext cache, on the embedded S3 server: written and opened objects are
 * served from memory, every read still goes through the opening (the authentication of the
 * envelope), a damaged object never enters it, and its bound holds.
 */
class RecordObjectsTest {

    @TempDir
    static Path dir;
    static EmbeddedS3Server s3;
    static S3ObjectStore store;

    @BeforeAll
    static void startStore() {
        s3 = EmbeddedS3Server.start(dir.resolve("s3"));
        store = new S3ObjectStore(S3StoreConfig.declared(s3.endpoint(), s3.credentials(), "fr-par"));
        store.createBucket("objects", BucketOptions.plain());
    }

    @AfterAll
    static void stopStore() {
        store.close();
        s3.close();
    }

    static String key() {
        return "r/" + UUID.randomUUID();
    }

    @Test
    void aWrittenObjectIsOpenedFromMemoryAndEveryReadStillOpensIt() {
        RecordObjects objects = new RecordObjects(store, "objects", 1 << 20);
        String key = key();
        objects.put(key, new byte[] {1, 2, 3});
        store.delete("objects", key); // gone from the store: only the cache can answer now
        AtomicInteger opened = new AtomicInteger();
        Function<byte[], byte[]> open = envelope -> {
            opened.incrementAndGet();
            return envelope.clone();
        };
        assertThat(objects.open(key, open)).containsExactly(1, 2, 3);
        assertThat(objects.open(key, open)).containsExactly(1, 2, 3);
        assertThat(opened).as("the envelope is opened (authenticated) on every read, cached or not").hasValue(2);

        RecordObjects uncached = new RecordObjects(store, "objects", 0);
        String other = key();
        uncached.put(other, new byte[] {4});
        store.delete("objects", other);
        assertThatThrownBy(() -> uncached.open(other, open)).isInstanceOf(ObjectNotFoundException.class);
        assertThat(uncached.cachedObjects()).isZero();
    }

    @Test
    void anObjectReadFromTheStoreIsKeptOnlyOnceItOpened() {
        String key = key();
        store.put("objects", key, new byte[] {9, 9}, Map.of());
        RecordObjects objects = new RecordObjects(store, "objects", 1 << 20);
        Function<byte[], byte[]> refuse = envelope -> {
            throw new IllegalStateException("damaged");
        };
        assertThatThrownBy(() -> objects.open(key, refuse)).hasMessage("damaged");
        assertThat(objects.cachedObjects()).as("a damaged object is never cached").isZero();
        assertThat(objects.open(key, byte[]::clone)).containsExactly(9, 9);
        store.delete("objects", key);
        assertThat(objects.open(key, byte[]::clone)).as("kept once it opened").containsExactly(9, 9);
        objects.forget();
        assertThatThrownBy(() -> objects.open(key, byte[]::clone)).isInstanceOf(ObjectNotFoundException.class);
    }

    @Test
    void theCacheHoldsNoMoreThanItsBound() {
        RecordObjects objects = new RecordObjects(store, "objects", 64 * 1024);
        byte[] envelope = new byte[4096];
        Arrays.fill(envelope, (byte) 7);
        for (int i = 0; i < 100; i++) {
            objects.put(key(), envelope);
        }
        assertThat(objects.cachedObjects()).as("100 objects of 4 KiB in a 64 KiB cache").isLessThanOrEqualTo(16);
    }
}
