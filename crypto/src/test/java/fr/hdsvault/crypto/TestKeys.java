package fr.hdsvault.crypto;

import fr.hdsvault.crypto.root.Pkcs12RootKeyProvider;
import java.nio.file.Path;

/** Key rings over a real PKCS#12 root key store in a temporary directory. */
final class TestKeys {
    private TestKeys() {
    }

    static Keyring keyring(Path dir) {
        return keyring(dir, new InMemoryKekRegistry());
    }

    static Keyring keyring(Path dir, KekRegistry registry) {
        Pkcs12RootKeyProvider root = Pkcs12RootKeyProvider.openOrCreate(dir.resolve("root.p12"), "test passphrase".toCharArray());
        return new Keyring(root, registry);
    }
}
