package fr.hdsvault.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import fr.hdsvault.storage.embedded.EmbeddedS3Server;
import io.minio.MinioClient;
import io.minio.PutObjectArgs;
import java.io.ByteArrayInputStream;
import java.nio.file.Path;
import java.util.Base64;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The server half of "SHA-256 verified by the store on write": a body that does not match the
 * checksum sent with it is refused by the embedded server and nothing is stored. The store
 * always sends the checksum of the bytes it holds; here a bare client lies about it.
 */
class ServerSideChecksumTest {

    @TempDir
    Path dir;

    @Test
    void theEmbeddedServerRefusesABodyThatDoesNotMatchItsChecksum() {
        try (EmbeddedS3Server server = EmbeddedS3Server.start(dir);
             S3ObjectStore store = new S3ObjectStore(S3StoreConfig.declared(server.endpoint(), server.credentials(), "fr-par"))) {
            store.createBucket("checked", BucketOptions.plain());
            MinioClient bare = MinioClient.builder().endpoint(server.endpoint())
                    .credentials(server.credentials().accessKey(), server.credentials().secretKey()).region("fr-par").build();
            byte[] body = "the bytes actually sent".getBytes();
            String checksumOfOtherBytes = Base64.getEncoder().encodeToString(ObjectStoreContract.sha256Bytes("other bytes".getBytes()));
            Throwable refusal = catchThrowable(() -> bare.putObject(PutObjectArgs.builder().bucket("checked").object("k")
                    .stream(new ByteArrayInputStream(body), body.length, -1)
                    .headers(Map.of("x-amz-checksum-sha256", checksumOfOtherBytes)).build()));
            assertThat(refusal).isInstanceOf(io.minio.errors.ErrorResponseException.class);
            // The store reports such a refusal as an integrity failure.
            assertThat(S3Requests.translate("put", "checked", "k", refusal)).isInstanceOf(IntegrityException.class)
                    .hasMessageContaining("refused the body as corrupt");
            assertThat(store.exists("checked", "k")).isFalse();
        }
    }
}
