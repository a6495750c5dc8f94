package fr.hdsvault.api;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Updates without downtime: a node sent SIGTERM reports not ready at once, yet serves requests
 * for its drain delay (so a load balancer takes it out of rotation before any request fails),
 * then exits.
 */
class DrainOnStopTest {

    @TempDir
    Path dir;

    @Test
    void aStoppingNodeIsNotReadyButStillServesForItsDrainDelayThenExits() throws Exception {
        Path home = dir.resolve("vault");
        VaultProcess vault = VaultProcess.start(home, VaultMain.class, List.of("-Dvault.shutdown.drain-delay=4s",
                "-Dvault.backup.cron=-", "-Dvault.drill.cron=-"));
        try {
            String token = TestTokens.ofVault(home).sign("dr-drain", "practitioner", "user/*.cruds", null);
            assertThat(vault.send("GET", "/actuator/health/readiness", null, null).statusCode()).isEqualTo(200);
            vault.terminate();
            long deadline = System.nanoTime() + Duration.ofSeconds(3).toNanos();
            int readiness = 200;
            while (readiness == 200 && System.nanoTime() < deadline) {
                readiness = vault.send("GET", "/actuator/health/readiness", null, null).statusCode();
                Thread.sleep(50);
            }
            assertThat(readiness).as("readiness once SIGTERM arrived").isEqualTo(503);
            HttpResponse<String> served = vault.send("POST", "/fhir/Patient", token, "{\"resourceType\":\"Patient\"}");
            assertThat(served.statusCode()).as("still serving while drained: %s", served.body()).isEqualTo(201);
            assertThat(vault.awaitExit(Duration.ofSeconds(60))).as("exits after the drain").isTrue();
        } finally {
            vault.close();
        }
    }
}
