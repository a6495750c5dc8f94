package fr.hdsvault.storage;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Path;
import java.util.Map;
import java.util.UUID;

/**
 * The Ceph RADOS Gateways that {@code .ci/rgw-start} runs as processes of their own: a real,
 * distributed S3 engine that reports its zonegroup as the region. "fr-par" over HTTP and HTTPS
 * (a private CA), "de-fra" over HTTP. Found through the environment that script writes; tests
 * skip without it, but fail under CI, which must run them.
 */
record RadosGateways(String frEndpoint, String frTlsEndpoint, S3Credentials fr, String deEndpoint, S3Credentials de, Path ca) {

    static RadosGateways fromEnvironment() {
        Map<String, String> env = System.getenv();
        String fr = env.get("RGW_FR_ENDPOINT");
        if (fr == null && "true".equals(env.get("CI"))) {
            throw new IllegalStateException("CI must run the external-store tests: .ci/run starts the RADOS Gateways");
        }
        assumeTrue(fr != null, "no RADOS Gateway (run .ci/rgw-start DIR and export DIR/env): external S3 tests skipped");
        return new RadosGateways(fr, env.get("RGW_FR_TLS_ENDPOINT"),
                new S3Credentials(env.get("RGW_FR_ACCESS_KEY"), env.get("RGW_FR_SECRET_KEY")), env.get("RGW_DE_ENDPOINT"),
                new S3Credentials(env.get("RGW_DE_ACCESS_KEY"), env.get("RGW_DE_SECRET_KEY")), Path.of(env.get("RGW_CA")));
    }

    /** A bucket name no earlier run used (the gateways outlive a test run on a developer's machine). */
    static String freshBucket(String purpose) {
        return purpose + "-" + UUID.randomUUID().toString().substring(0, 8);
    }
}
