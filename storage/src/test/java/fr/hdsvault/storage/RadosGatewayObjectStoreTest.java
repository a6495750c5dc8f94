package fr.hdsvault.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The object store contract against Ceph's RADOS Gateway, a server in a process of its own,
 * over HTTPS with a private CA: what the embedded server cannot show (Object Lock and
 * versioning enforced, a region reported by the server, a certificate to check).
 */
class RadosGatewayObjectStoreTest extends ObjectStoreContract {

    static RadosGateways rgw;
    static S3ObjectStore store;
    static String bucket;

    @BeforeAll
    static void connect() {
        rgw = RadosGateways.fromEnvironment();
        store = new S3ObjectStore(S3StoreConfig.external(rgw.frTlsEndpoint(), rgw.fr(), "fr-par").withTrustedCertificates(rgw.ca()));
        bucket = RadosGateways.freshBucket("contract");
        store.createBucket(bucket, BucketOptions.locked(Duration.ofDays(1)));
    }

    @AfterAll
    static void close() {
        if (store != null) {
            store.close();
        }
    }

    @Override
    protected ObjectStore store() {
        return store;
    }

    @Override
    protected String bucket() {
        return bucket;
    }

    @Test
    void theGatewayEnforcesVersioningAndComplianceLockAndReportsItsRegion() {
        StoreCapabilities c = store.probe(bucket);
        assertThat(c.versioningEnforced()).isTrue();
        assertThat(c.objectLockEnforced()).isTrue();
        assertThat(c.region()).isEqualTo("fr-par");
        assertThat(c.regionVerified()).isTrue();
        assertThat(c.describe()).contains("reported by the server");
    }

    @Test
    void aLockedObjectSurvivesItsDeletion() {
        store.put(bucket, "locked/k", new byte[] {1}, Map.of());
        store.delete(bucket, "locked/k"); // a delete marker; the locked version stays
        assertThat(store.exists(bucket, "locked/k")).isFalse();
        assertThat(store.probe(bucket).objectLockEnforced()).isTrue();
    }

    @Test
    void aBucketInAnotherRegionIsRefusedNamingTheBucketAndTheRegion() {
        String elsewhere = RadosGateways.freshBucket("elsewhere");
        try (S3ObjectStore frankfurt = new S3ObjectStore(S3StoreConfig.external(rgw.deEndpoint(), rgw.de(), "de-fra")
                .withResidency(ResidencyPolicy.parse("de-fra")));
             S3ObjectStore vault = new S3ObjectStore(S3StoreConfig.external(rgw.deEndpoint(), rgw.de(), "fr-par"))) {
            frankfurt.createBucket(elsewhere, BucketOptions.plain());
            assertThatThrownBy(() -> vault.checkResidency(elsewhere)).isInstanceOf(ResidencyViolationException.class)
                    .hasMessageContaining(elsewhere).hasMessageContaining("'de-fra' (reported by the server)");
            assertThatThrownBy(() -> vault.put(elsewhere, "k", new byte[] {1}, Map.of()))
                    .isInstanceOf(ResidencyViolationException.class);
            assertThat(frankfurt.exists(elsewhere, "k")).as("nothing was written there").isFalse();
        }
    }

    @Test
    void anHttpsEndpointIsTrustedOnlyThroughTheConfiguredCertificates() {
        try (S3ObjectStore jdkTrust = new S3ObjectStore(S3StoreConfig.external(rgw.frTlsEndpoint(), rgw.fr(), "fr-par")
                .withRetries(1, Duration.ofMillis(10)))) {
            assertThatThrownBy(() -> jdkTrust.checkResidency(bucket)).isInstanceOf(ObjectStoreException.class)
                    .rootCause().hasMessageContaining("unable to find valid certification path");
        }
    }

    @Test
    void wrongCredentialsAreRefused() {
        try (S3ObjectStore wrong = new S3ObjectStore(S3StoreConfig.external(rgw.frEndpoint(),
                new S3Credentials(rgw.fr().accessKey(), "not-the-secret"), "fr-par"))) {
            assertThatThrownBy(() -> wrong.get(bucket, "anything")).isInstanceOf(StoreAccessDeniedException.class);
        }
    }
}
