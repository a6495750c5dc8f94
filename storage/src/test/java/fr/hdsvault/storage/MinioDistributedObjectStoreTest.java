package fr.hdsvault.storage;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.testcontainers.containers.GenericContainer;
import org.testcontainers.containers.Network;
import org.testcontainers.containers.wait.strategy.Wait;
import org.testcontainers.junit.jupiter.Testcontainers;
import org.testcontainers.lifecycle.Startables;

/**
 * The store contract against MinIO in distributed mode, what a host runs under a cluster of
 * vault nodes: four MinIO servers, one drive each, erasure-coded across them (EC:2), where a
 * Docker engine runs; skipped cleanly elsewhere. Adds the property the cluster relies on:
 * with one of the four servers stopped, what was written reads back and writes go on.
 */
@Testcontainers(disabledWithoutDocker = true)
class MinioDistributedObjectStoreTest extends ObjectStoreContract {

    static final int SERVERS = 4;
    static final String USER = "vault-test";
    static final String PASSWORD = "vault-test-secret-0123";
    static Network network;
    static final List<GenericContainer<?>> servers = new ArrayList<>();
    static S3ObjectStore store;

    @SuppressWarnings("resource") // stopped in stop()
    static GenericContainer<?> server(int i) {
        return new GenericContainer<>(MinioObjectStoreTest.IMAGE)
                .withNetwork(network)
                .withNetworkAliases("minio" + i)
                .withEnv("MINIO_ROOT_USER", USER)
                .withEnv("MINIO_ROOT_PASSWORD", PASSWORD)
                .withEnv("MINIO_REGION", "fr-par")
                .withCommand("server", "http://minio{1...4}/data")
                .withExposedPorts(9000)
                // ready: this server has joined a cluster with read quorum
                .waitingFor(Wait.forHttp("/minio/health/ready").forPort(9000).withStartupTimeout(Duration.ofMinutes(3)));
    }

    @BeforeAll
    static void start() {
        network = Network.newNetwork();
        for (int i = 1; i <= SERVERS; i++) {
            servers.add(server(i));
        }
        Startables.deepStart(servers).join(); // together: each waits for the others to form the cluster
        GenericContainer<?> first = servers.get(0);
        store = new S3ObjectStore(S3StoreConfig.external("http://" + first.getHost() + ":" + first.getMappedPort(9000),
                new S3Credentials(USER, PASSWORD), "fr-par"));
        store.createBucket("vault-objects", BucketOptions.locked(Duration.ofDays(1)));
    }

    @AfterAll
    static void stop() {
        if (store != null) {
            store.close();
        }
        servers.forEach(GenericContainer::stop);
        if (network != null) {
            network.close();
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
    void aClusterWithOneServerDownStillReadsAndWrites() {
        String before = key();
        byte[] content = random(70_000);
        store.put(bucket(), before, content, Map.of());
        GenericContainer<?> last = servers.get(SERVERS - 1);
        last.stop();
        try {
            assertThat(store.getBytes(bucket(), before)).as("written before the stop").isEqualTo(content);
            String during = key();
            store.put(bucket(), during, content, Map.of());
            assertThat(store.getBytes(bucket(), during)).as("written with three servers of four").isEqualTo(content);
            assertThat(store.probe(bucket()).objectLockEnforced()).isTrue();
        } finally {
            servers.set(SERVERS - 1, server(SERVERS));
            servers.get(SERVERS - 1).start(); // an empty drive: MinIO heals it from the others
        }
    }
}
