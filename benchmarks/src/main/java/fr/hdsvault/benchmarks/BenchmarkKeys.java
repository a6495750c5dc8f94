package fr.hdsvault.benchmarks;

import fr.hdsvault.crypto.InMemoryKekRegistry;
import fr.hdsvault.crypto.Keyring;
import fr.hdsvault.crypto.root.Pkcs12RootKeyProvider;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** A real key ring (PKCS#12 root key in a temporary directory) for benchmarks. */
final class BenchmarkKeys {
    private BenchmarkKeys() {
    }

    static Keyring keyring() {
        try {
            Path dir = Files.createTempDirectory("hds-vault-bench");
            dir.toFile().deleteOnExit();
            return new Keyring(Pkcs12RootKeyProvider.openOrCreate(dir.resolve("root.p12"), "bench".toCharArray()),
                    new InMemoryKekRegistry());
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }
}
