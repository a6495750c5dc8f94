package fr.hdsvault.api;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;
import java.util.UUID;

/**
 * S3 servers running as processes of their own, for the vault's external-store tests: the
 * Ceph RADOS Gateways of {@code .ci/rgw-start} (a "fr-par" region over HTTP and over HTTPS with
 * a private CA, and a "de-fra" region), found through the environment that script writes.
 * Tests skip without them, and fail under CI, which must run them.
 */
record ExternalStores(String frEndpoint, String frTlsEndpoint, String frAccessKey, String frSecretKey, String deEndpoint,
                      String deAccessKey, String deSecretKey, Path ca, String frStop, String frStart) {

    static ExternalStores fromEnvironment() {
        Map<String, String> env = System.getenv();
        String fr = env.get("RGW_FR_ENDPOINT");
        if (fr == null && "true".equals(env.get("CI"))) {
            throw new IllegalStateException("CI must run the external-store tests: .ci/run starts the RADOS Gateways");
        }
        assumeTrue(fr != null, "no RADOS Gateway (run .ci/rgw-start DIR and export DIR/env): external S3 tests skipped");
        return new ExternalStores(fr, env.get("RGW_FR_TLS_ENDPOINT"), env.get("RGW_FR_ACCESS_KEY"), env.get("RGW_FR_SECRET_KEY"),
                env.get("RGW_DE_ENDPOINT"), env.get("RGW_DE_ACCESS_KEY"), env.get("RGW_DE_SECRET_KEY"), Path.of(env.get("RGW_CA")),
                env.get("RGW_FR_STOP"), env.get("RGW_FR_START"));
    }

    /** Whether the fr-par gateway can be stopped and started (.ci/rgw-start's scripts), for the outage tests. */
    boolean canRestart() {
        return frStop != null && frStart != null;
    }

    /** Stops the fr-par gateway; returns once its process has exited. */
    void stopFr() throws Exception {
        run(frStop);
    }

    /** Starts the fr-par gateway again; returns once it answers. */
    void startFr() throws Exception {
        run(frStart);
    }

    private static void run(String script) throws Exception {
        Process p = new ProcessBuilder(script).redirectErrorStream(true).start();
        String output = new String(p.getInputStream().readAllBytes());
        if (!p.waitFor(90, java.util.concurrent.TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IllegalStateException(script + " failed: " + output);
        }
    }

    /** A bucket name no earlier run used: the gateways outlive a test run on a developer's machine. */
    static String freshBucket(String purpose) {
        return purpose + "-" + UUID.randomUUID().toString().substring(0, 8);
    }

    /** An owner-only credentials file, as an operator writes one. */
    static Path credentialsFile(Path dir, String name, String accessKey, String secretKey) throws IOException {
        Path file = dir.resolve(name + ".s3");
        Files.writeString(file, "access-key=" + accessKey + "\nsecret-key=" + secretKey + "\n");
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
        return file;
    }
}
