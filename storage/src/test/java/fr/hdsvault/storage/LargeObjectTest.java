package fr.hdsvault.storage;

import static org.assertj.core.api.Assertions.assertThat;

import fr.hdsvault.storage.embedded.EmbeddedS3Server;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * 64 MiB through put and get in constant memory. Surefire runs this class alone in a fork with
 * a 96 MiB heap (the "low-memory" execution in storage/pom.xml), shared by the client and the
 * embedded S3 server, whose baseline alone takes a third of it: holding the object in memory
 * even once would fail with OutOfMemoryError. (With 64 MiB the server's multipart handling
 * itself ran short now and then.)
 */
@Tag("low-memory")
class LargeObjectTest {

    static final long SIZE = 64L << 20;

    @TempDir
    Path dir;

    static InputStream generated(long size) {
        return new GeneratedStream(size, 64);
    }

    static String digestOf(InputStream in) throws Exception {
        DigestInputStream d = new DigestInputStream(in, MessageDigest.getInstance("SHA-256"));
        d.transferTo(java.io.OutputStream.nullOutputStream());
        return HexFormat.of().formatHex(d.getMessageDigest().digest());
    }

    @Test
    void sixtyFourMebibytesStreamInAndOutWithABoundedHeap() throws Exception {
        assertThat(Runtime.getRuntime().maxMemory()).as("this test must run in the small-heap fork")
                .isLessThanOrEqualTo(96L << 20);
        String expected = digestOf(generated(SIZE));
        try (EmbeddedS3Server server = EmbeddedS3Server.start(dir);
             S3ObjectStore store = new S3ObjectStore(S3StoreConfig.declared(server.endpoint(), server.credentials(), "fr-par"))) {
            store.createBucket("large", BucketOptions.plain());
            store.put("large", "known", generated(SIZE), SIZE, expected, Map.of());
            store.put("large", "unknown", generated(SIZE), -1, null, Map.of());
            for (String key : new String[] {"known", "unknown"}) {
                assertThat(store.stat("large", key).orElseThrow().size()).isEqualTo(SIZE);
                try (InputStream in = store.get("large", key)) {
                    assertThat(digestOf(in)).isEqualTo(expected);
                }
            }
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }
}
