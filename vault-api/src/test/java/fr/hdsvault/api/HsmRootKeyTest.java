package fr.hdsvault.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import fr.hdsvault.api.cli.RestoreCommand;
import fr.hdsvault.crypto.root.Pkcs11RootKeyProvider;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;
import tools.jackson.databind.json.JsonMapper;

/**
 * The vault's root key in a PKCS#11 token (SoftHSM2, the HSM's test double), each vault in its
 * own process: first start and restart, two vaults sharing one token while both run (and rotate),
 * a backup restored with the token, a wrong or missing PIN refused. No root key file is ever
 * written to the data directory.
 */
class HsmRootKeyTest {

    static final List<Path> LIBRARIES = List.of(Path.of("/usr/lib/softhsm/libsofthsm2.so"),
            Path.of("/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so"));
    static final String TOKEN = "vault-root";
    static final String PIN = "2468";
    static final JsonMapper JSON = JsonMapper.builder().build();
    static Path library;

    @TempDir
    Path dir;

    @BeforeAll
    static void initialiseTokens() throws Exception {
        library = LIBRARIES.stream().filter(Files::isReadable).findFirst().orElse(null);
        if (library == null && "true".equals(System.getenv("CI"))) {
            throw new IllegalStateException("CI must run the HSM tests: .ci/run installs softhsm2");
        }
        assumeTrue(library != null, "SoftHSM2 is not installed (apt-get install softhsm2): HSM tests skipped");
        String conf = System.getenv("SOFTHSM2_CONF");
        assumeTrue(conf != null, "SOFTHSM2_CONF is not set: run through Maven (surefire sets it)");
        Path confFile = Path.of(conf);
        Path tokens = confFile.resolveSibling("tokens");
        if (Files.exists(tokens)) {
            try (var paths = Files.walk(tokens)) {
                paths.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
        Files.createDirectories(tokens);
        Files.writeString(confFile, "directories.tokendir = " + tokens + "\nobjectstore.backend = file\nlog.level = ERROR\n");
        for (String label : new String[] {TOKEN, TOKEN + "-pin"}) {
            Process init = new ProcessBuilder("softhsm2-util", "--init-token", "--free", "--label", label, "--pin", PIN,
                    "--so-pin", "13572468").redirectErrorStream(true).start();
            String output = new String(init.getInputStream().readAllBytes());
            assertThat(init.waitFor(30, TimeUnit.SECONDS)).isTrue();
            assertThat(init.exitValue()).as(output).isZero();
        }
    }

    static List<String> jvm() {
        return List.of(Pkcs11RootKeyProvider.REQUIRED_JVM_OPTION.split(" ")[0], Pkcs11RootKeyProvider.REQUIRED_JVM_OPTION.split(" ")[1],
                "-Dvault.backup.cron=-", "-Dvault.drill.cron=-");
    }

    static String[] hsm(String label) {
        return new String[] {"--hsm-library", library.toString(), "--hsm-token-label", label};
    }

    static VaultProcess start(Path home) throws Exception {
        return VaultProcess.start(home, VaultMain.class, jvm(), Map.of("VAULT_HSM_PIN", PIN), hsm(TOKEN));
    }

    static Map<String, Object> json(HttpResponse<String> r) {
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        return JSON.readValue(r.body(), Map.class);
    }

    static String createPatient(VaultProcess vault, String id) throws Exception {
        String token = TestTokens.ofVault(vault.home).sign("dr-hsm", "practitioner", "user/*.cruds", null);
        HttpResponse<String> r = vault.send("PUT", "/fhir/Patient/" + id, token,
                "{\"resourceType\":\"Patient\",\"id\":\"" + id + "\",\"name\":[{\"family\":\"Hsm\"}]}");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
        return token;
    }

    static void assertReads(VaultProcess vault, String id) throws Exception {
        String token = TestTokens.ofVault(vault.home).sign("dr-hsm", "practitioner", "user/*.cruds", null);
        HttpResponse<String> r = vault.send("GET", "/fhir/Patient/" + id, token, null);
        assertThat(r.statusCode()).as("Patient/%s in %s: %s", id, vault.home, r.body()).isEqualTo(200);
    }

    static String operator(VaultProcess vault) throws Exception {
        return TestTokens.ofVault(vault.home).sign("ops-hsm", "operator", null, null);
    }

    @Test
    void twoVaultsShareOneTokenThroughRestartsAndRotationsAndABackupRestoresWithIt() throws Exception {
        Path a = dir.resolve("a");
        Path b = dir.resolve("b");
        try (VaultProcess first = start(a); VaultProcess second = start(b)) {
            createPatient(first, "hsm-a");
            createPatient(second, "hsm-b");
            Map<String, Object> root = json(first.send("GET", "/admin/keys/root", operator(first), null));
            assertThat(root.get("provider")).asString().contains("PKCS#11 token '" + TOKEN + "'");
            assertThat(Files.exists(a.resolve("keys/root.p12"))).as("no root key file with an HSM").isFalse();

            Map<String, Object> rotatedA = json(first.send("POST", "/admin/keys/root/rotate", operator(first), null));
            assertThat(rotatedA.get("currentVersion")).isEqualTo(2);
            assertThat(((Number) rotatedA.get("rewrapped")).intValue()).isPositive();
            // The second vault's own rotation sees the first's version in the token: it takes the next number.
            Map<String, Object> rotatedB = json(second.send("POST", "/admin/keys/root/rotate", operator(second), null));
            assertThat(rotatedB.get("currentVersion")).isEqualTo(3);
            assertReads(first, "hsm-a");
            assertReads(second, "hsm-b");
            createPatient(first, "hsm-a2");
            HttpResponse<String> backup = first.send("POST", "/admin/backups", operator(first), null);
            assertThat(backup.statusCode()).as(backup.body()).isEqualTo(200);
        }
        try (VaultProcess first = start(a); VaultProcess second = start(b)) {
            assertReads(first, "hsm-a");
            assertReads(first, "hsm-a2");
            assertReads(second, "hsm-b");
            assertThat(json(first.send("GET", "/admin/keys/root", operator(first), null)).get("currentVersion")).isEqualTo(3);
        }

        // A restore opens the set with the token: the PIN from an owner-only file named in the configuration.
        Path pinFile = dir.resolve("hsm.pin");
        Files.writeString(pinFile, PIN);
        Files.setPosixFilePermissions(pinFile, PosixFilePermissions.fromString("rw-------"));
        Path config = dir.resolve("restore.properties");
        Files.writeString(config, "vault.root-key.hsm.pin-file=" + pinFile + "\n");
        Path restored = dir.resolve("restored");
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        List<String> args = new ArrayList<>(List.of("--data-dir", restored.toString(), "--config", config.toString(),
                "--backup-dir", a.resolve("backup-s3").toString()));
        args.addAll(List.of(hsm(TOKEN)));
        int exit = new CommandLine(new RestoreCommand()).setOut(new PrintWriter(out, true)).setErr(new PrintWriter(err, true))
                .execute(args.toArray(String[]::new));
        assertThat(exit).as(err.toString()).isZero();
        try (VaultProcess vault = start(restored)) {
            assertReads(vault, "hsm-a");
            assertReads(vault, "hsm-a2");
        }
    }

    @Test
    void aWrongOrMissingPinStopsTheVaultBeforeItServes() throws Exception {
        String wrong = VaultProcess.startRefused(dir.resolve("wrong"), jvm(), Map.of("VAULT_HSM_PIN", "7391-wrong"), hsm(TOKEN + "-pin"));
        assertThat(wrong).contains("cannot open the PKCS#11 token '" + TOKEN + "-pin'").contains("check the PIN")
                .doesNotContain("7391-wrong");
        String missing = VaultProcess.startRefused(dir.resolve("missing"), jvm(), Map.of(), hsm(TOKEN));
        assertThat(missing).contains("no HSM PIN").contains("VAULT_HSM_PIN");
        String unknown = VaultProcess.startRefused(dir.resolve("unknown"), jvm(), Map.of("VAULT_HSM_PIN", PIN), hsm("no-such-token"));
        assertThat(unknown).contains("no PKCS#11 token labelled 'no-such-token'");
    }
}
