package fr.hdsvault.crypto.root;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import fr.hdsvault.crypto.EncryptionContext;
import fr.hdsvault.crypto.EnvelopeCipher;
import fr.hdsvault.crypto.InMemoryKekRegistry;
import fr.hdsvault.crypto.Keyring;
import fr.hdsvault.crypto.WrongKeyException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.crypto.SecretKey;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The root key in a real PKCS#11 token: SoftHSM2, initialised afresh under target/ (the
 * surefire configuration points SOFTHSM2_CONF there). CI installs softhsm2; a developer
 * machine without it skips these tests and says why.
 */
class Pkcs11RootKeyProviderTest {

    static final List<Path> LIBRARIES = List.of(
            Path.of("/usr/lib/softhsm/libsofthsm2.so"),
            Path.of("/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so"),
            Path.of("/usr/lib64/pkcs11/libsofthsm2.so"),
            Path.of("/usr/local/lib/softhsm/libsofthsm2.so"));
    static final char[] PIN = "1234".toCharArray();
    static Path library;

    @BeforeAll
    static void initialiseToken() throws Exception {
        library = LIBRARIES.stream().filter(Files::isReadable).findFirst().orElse(null);
        if (library == null && "true".equals(System.getenv("CI"))) {
            throw new IllegalStateException("CI must run the PKCS#11 tests: .ci/run installs softhsm2");
        }
        assumeTrue(library != null, "SoftHSM2 is not installed (apt-get install softhsm2): PKCS#11 tests skipped");
        String conf = System.getenv("SOFTHSM2_CONF");
        assumeTrue(conf != null, "SOFTHSM2_CONF is not set: run through Maven (surefire sets it)");
        Path confFile = Path.of(conf);
        Path tokens = confFile.resolveSibling("tokens");
        deleteTree(confFile.getParent());
        Files.createDirectories(tokens);
        Files.writeString(confFile, "directories.tokendir = " + tokens + "\nobjectstore.backend = file\nlog.level = ERROR\n");
        // Two tokens: PKCS#11 login is per process and token, so the wrong-PIN test needs one nobody logged into.
        for (String label : new String[] {"hds-vault-test", "hds-vault-pin-test"}) {
            Process init = new ProcessBuilder("softhsm2-util", "--init-token", "--free", "--label", label,
                    "--pin", new String(PIN), "--so-pin", "87654321").redirectErrorStream(true).start();
            String output = new String(init.getInputStream().readAllBytes());
            assertThat(init.waitFor(30, TimeUnit.SECONDS)).isTrue();
            assertThat(init.exitValue()).as(output).isZero();
        }
    }

    static void deleteTree(Path dir) throws IOException {
        if (Files.exists(dir)) {
            try (var paths = Files.walk(dir)) {
                paths.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    static Pkcs11RootKeyProvider open() {
        return Pkcs11RootKeyProvider.open(new Pkcs11RootKeyProvider.Config(library, "hds-vault-test", PIN));
    }

    @Test
    void theRootKeyLivesInTheTokenAndCannotBeExtracted() {
        Pkcs11RootKeyProvider root = open();
        SecretKey handle = root.keyHandle(root.currentVersion());
        assertThat(handle.getEncoded()).as("key bytes must not leave the token").isNull();
        assertThat(handle.toString()).contains("token object").contains("sensitive").contains("unextractable");
        assertThat(root.description()).contains("PKCS#11");
    }

    @Test
    void keysWrappedInTheTokenServeEnvelopesAcrossRestartsAndRotation() {
        EncryptionContext ctx = new EncryptionContext("t", "Patient", "p1", "1");
        InMemoryKekRegistry registry = new InMemoryKekRegistry();
        Pkcs11RootKeyProvider root = open();
        Keyring keyring = new Keyring(root, registry);
        EnvelopeCipher cipher = new EnvelopeCipher(keyring);
        byte[] sealed = cipher.seal("kek-hsm", ctx, "in the HSM's care".getBytes());

        Keyring.RootRotation rotation = keyring.rotateRootKey();
        assertThat(rotation.rewrapped()).isEqualTo(1);
        assertThat(registry.find("kek-hsm", 1).orElseThrow().rootKeyVersion()).isEqualTo(rotation.newRootKeyVersion());

        // A new provider instance finds both root versions in the token (persistent objects).
        Pkcs11RootKeyProvider reopened = open();
        assertThat(reopened.currentVersion()).isEqualTo(rotation.newRootKeyVersion());
        assertThat(new EnvelopeCipher(new Keyring(reopened, registry)).open(ctx, sealed))
                .isEqualTo("in the HSM's care".getBytes());
    }

    @Test
    void aRecordAlteredOutsideTheTokenDoesNotUnwrap() {
        Pkcs11RootKeyProvider root = open();
        RootKeyProvider.Wrapped wrapped = root.wrap(new byte[32]);
        byte[] altered = wrapped.bytes().clone();
        altered[0] ^= 1;
        assertThatThrownBy(() -> root.unwrap(wrapped.rootKeyVersion(), altered)).isInstanceOf(WrongKeyException.class);
        assertThat(root.unwrap(wrapped.rootKeyVersion(), wrapped.bytes())).isEqualTo(new byte[32]);
    }

    @Test
    void aWrongPinIsRefused() {
        assertThatThrownBy(() -> Pkcs11RootKeyProvider.open(new Pkcs11RootKeyProvider.Config(library, "hds-vault-pin-test",
                "0000".toCharArray()))).isInstanceOf(IllegalStateException.class).hasMessageContaining("PIN");
    }

    @Test
    void anUnknownTokenLabelIsRefusedNamingTheTokensPresent() {
        assertThatThrownBy(() -> Pkcs11RootKeyProvider.open(new Pkcs11RootKeyProvider.Config(library, "no-such-token", PIN)))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("no-such-token")
                .hasMessageContaining("hds-vault-test");
    }
}
