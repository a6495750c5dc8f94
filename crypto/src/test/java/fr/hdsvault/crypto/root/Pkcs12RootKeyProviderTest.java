package fr.hdsvault.crypto.root;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import fr.hdsvault.crypto.WrongKeyException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class Pkcs12RootKeyProviderTest {

    @TempDir
    Path dir;

    @Test
    void createsAnOwnerOnlyStoreAndReopensTheSameKeys() throws Exception {
        Path file = dir.resolve("keys/root.p12");
        byte[] secret = new byte[32];
        RootKeyProvider.Wrapped wrapped;
        try (RootKeyProvider root = Pkcs12RootKeyProvider.openOrCreate(file, "pass".toCharArray())) {
            assertThat(root.currentVersion()).isEqualTo(1);
            wrapped = root.wrap(secret);
        }
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file))).isEqualTo("rw-------");
        try (RootKeyProvider again = Pkcs12RootKeyProvider.openOrCreate(file, "pass".toCharArray())) {
            assertThat(again.unwrap(1, wrapped.bytes())).isEqualTo(secret);
        }
    }

    @Test
    void rotationPersistsANewVersionAndKeepsTheOldOne() {
        Path file = dir.resolve("root.p12");
        RootKeyProvider.Wrapped old;
        try (RootKeyProvider root = Pkcs12RootKeyProvider.openOrCreate(file, "pass".toCharArray())) {
            old = root.wrap(new byte[] {1, 2, 3});
            assertThat(root.rotate()).isEqualTo(2);
            assertThat(root.wrap(new byte[] {1}).rootKeyVersion()).isEqualTo(2);
        }
        try (RootKeyProvider reopened = Pkcs12RootKeyProvider.openOrCreate(file, "pass".toCharArray())) {
            assertThat(reopened.currentVersion()).isEqualTo(2);
            assertThat(reopened.unwrap(1, old.bytes())).containsExactly(1, 2, 3);
            assertThatThrownBy(() -> reopened.unwrap(2, old.bytes())).isInstanceOf(WrongKeyException.class);
            assertThatThrownBy(() -> reopened.unwrap(7, old.bytes())).isInstanceOf(WrongKeyException.class)
                    .hasMessageContaining("version 7");
        }
    }

    @Test
    void aWrongPassphraseIsRefusedClearly() {
        Path file = dir.resolve("root.p12");
        Pkcs12RootKeyProvider.openOrCreate(file, "right".toCharArray()).close();
        assertThatThrownBy(() -> Pkcs12RootKeyProvider.openOrCreate(file, "wrong".toCharArray()))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("wrong passphrase");
    }

    @Test
    void aStoreOthersCanReadIsRefused() throws Exception {
        Path file = dir.resolve("root.p12");
        Pkcs12RootKeyProvider.openOrCreate(file, "pass".toCharArray()).close();
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-r--r--"));
        assertThatThrownBy(() -> Pkcs12RootKeyProvider.openOrCreate(file, "pass".toCharArray()))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("chmod 600");
    }

    @Test
    void passphraseComesFromTheEnvironmentOrAnOwnerOnlyFile() throws Exception {
        Path file = dir.resolve("passphrase");
        assertThat(Passphrase.resolve(Map.of("VAULT_ROOT_PASSPHRASE", "from-env"), "VAULT_ROOT_PASSPHRASE", file))
                .containsExactly("from-env".toCharArray());
        assertThat(file).doesNotExist();
        char[] generated = Passphrase.resolve(Map.of(), "VAULT_ROOT_PASSPHRASE", file);
        assertThat(generated.length).isGreaterThanOrEqualTo(43);
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file))).isEqualTo("rw-------");
        assertThat(Passphrase.resolve(Map.of(), "VAULT_ROOT_PASSPHRASE", file)).containsExactly(generated);
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-r-----"));
        assertThatThrownBy(() -> Passphrase.fromFile(file)).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("owner only");
        assertThatThrownBy(() -> Passphrase.fromEnvironment(Map.of(), "VAULT_ROOT_PASSPHRASE"))
                .hasMessageContaining("VAULT_ROOT_PASSPHRASE");
    }
}
