package fr.hdsvault.storage;

import static org.assertj.core.api.Assertions.assertThat;

import fr.hdsvault.storage.embedded.EmbeddedS3Server;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The contract against the embedded S3 server, which the single-node vault runs. */
class EmbeddedObjectStoreTest extends ObjectStoreContract {

    @TempDir
    static Path dir;
    static EmbeddedS3Server server;
    static S3ObjectStore store;

    @BeforeAll
    static void start() {
        server = EmbeddedS3Server.start(dir);
        store = new S3ObjectStore(S3StoreConfig.declared(server.endpoint(), server.credentials(), "fr-par"));
        store.createBucket("vault-objects", BucketOptions.locked(java.time.Duration.ofDays(1)));
    }

    @AfterAll
    static void stop() {
        store.close();
        server.close();
    }

    @Override
    protected ObjectStore store() {
        return store;
    }

    @Override
    protected String bucket() {
        return "vault-objects";
    }

    @Test
    void theProbeTellsTheTruthAboutTheEmbeddedServer() {
        StoreCapabilities c = store.probe(bucket());
        assertThat(c.objectLockEnforced()).as("S3Proxy has no Object Lock").isFalse();
        assertThat(c.region()).isEqualTo("fr-par");
        assertThat(c.regionVerified()).isFalse();
        assertThat(c.describe()).contains("declared, not verified").contains("Object Lock NOT enforced");
    }
}
