package fr.hdsvault.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.testcontainers.containers.MinIOContainer;
import org.testcontainers.junit.jupiter.Testcontainers;

/**
 * The same contract against a real MinIO, the production server, where a Docker engine runs;
 * skipped cleanly elsewhere (these machines have none). Adds what only MinIO can show: Object
 * Lock and versioning enforced, and a server that reports its region.
 */
@Testcontainers(disabledWithoutDocker = true)
class MinioObjectStoreTest extends ObjectStoreContract {

    static final String IMAGE = "minio/minio:RELEASE.2025-04-22T22-12-26Z";
    static MinIOContainer paris;
    static S3ObjectStore store;

    static MinIOContainer minio(String region) {
        MinIOContainer c = new MinIOContainer(IMAGE).withEnv("MINIO_REGION", region);
        c.start();
        return c;
    }

    static S3StoreConfig config(MinIOContainer c, String region) {
        return S3StoreConfig.external(c.getS3URL(), new S3Credentials(c.getUserName(), c.getPassword()), region);
    }

    @BeforeAll
    static void start() {
        paris = minio("fr-par");
        store = new S3ObjectStore(config(paris, "fr-par"));
        store.createBucket("vault-objects", BucketOptions.locked(Duration.ofDays(1)));
    }

    @AfterAll
    static void stop() {
        if (store != null) {
            store.close();
        }
        if (paris != null) {
            paris.stop();
        }
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
    void minioEnforcesVersioningAndComplianceLockAndReportsItsRegion() {
        StoreCapabilities c = store.probe(bucket());
        assertThat(c.versioningEnforced()).isTrue();
        assertThat(c.objectLockEnforced()).isTrue();
        assertThat(c.region()).isEqualTo("fr-par");
        assertThat(c.regionVerified()).isTrue();
    }

    @Test
    void aLockedObjectCannotBeDeletedForGood() {
        store.put(bucket(), "locked/k", new byte[] {1}, Map.of());
        store.delete(bucket(), "locked/k"); // only a delete marker
        assertThat(store.exists(bucket(), "locked/k")).isFalse();
        assertThat(store.probe(bucket()).objectLockEnforced()).isTrue();
    }

    @Test
    void aServerReportingARegionOutsideTheListIsRefused() {
        MinIOContainer virginia = minio("us-east-2");
        try (S3ObjectStore creating = new S3ObjectStore(config(virginia, "us-east-2")
                .withResidency(ResidencyPolicy.parse("us-east-2")));
             S3ObjectStore vault = new S3ObjectStore(config(virginia, "fr-par"))) {
            creating.createBucket("elsewhere", BucketOptions.plain());
            assertThatThrownBy(() -> vault.checkResidency("elsewhere")).isInstanceOf(ResidencyViolationException.class)
                    .hasMessageContaining("elsewhere").hasMessageContaining("us-east-2");
        } finally {
            virginia.stop();
        }
    }
}
