package fr.hdsvault.crypto.root;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.SecureRandom;
import javax.crypto.KeyGenerator;
import javax.crypto.SecretKey;

/**
 * Single-node root key: AES-256 secret keys in a PKCS#12 file protected by a passphrase
 * (PBES2 with AES-256, the JDK 17 default). The file is created on first use with owner-only
 * rights and rewritten atomically on rotation.
 */
public final class Pkcs12RootKeyProvider extends KeyStoreRootKeyProvider {

    private final Path file;
    private final KeyStore.PasswordProtection protection;

    private Pkcs12RootKeyProvider(Path file, KeyStore keyStore, char[] passphrase) {
        super(keyStore, null);
        this.file = file;
        this.protection = new KeyStore.PasswordProtection(passphrase.clone());
    }

    /**
     * Opens the key store at {@code file}, creating it (with root key version 1) if absent.
     * @throws IllegalStateException if the file exists with loose rights or the passphrase is wrong
     */
    public static Pkcs12RootKeyProvider openOrCreate(Path file, char[] passphrase) {
        try {
            KeyStore ks = KeyStore.getInstance("PKCS12");
            if (Files.exists(file)) {
                OwnerOnlyFiles.requireOwnerOnly(file);
                try (InputStream in = Files.newInputStream(file)) {
                    ks.load(in, passphrase);
                } catch (IOException e) {
                    // The JDK reports a wrong passphrase as an IOException wrapping UnrecoverableKeyException.
                    throw new IllegalStateException("cannot open root key store " + file
                            + ": wrong passphrase or damaged file", e);
                }
            } else {
                ks.load(null, null);
            }
            Pkcs12RootKeyProvider provider = new Pkcs12RootKeyProvider(file, ks, passphrase);
            provider.loadOrCreate(provider.protection);
            return provider;
        } catch (GeneralSecurityException | IOException e) {
            throw new IllegalStateException("cannot open root key store " + file, e);
        }
    }

    @Override
    protected SecretKey createRootKey(String alias) throws GeneralSecurityException {
        KeyGenerator generator = KeyGenerator.getInstance("AES");
        generator.init(256, new SecureRandom());
        SecretKey key = generator.generateKey();
        keyStore.setEntry(alias, new KeyStore.SecretKeyEntry(key), protection);
        save();
        return key;
    }

    private void save() throws GeneralSecurityException {
        try {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            keyStore.store(out, protection.getPassword());
            OwnerOnlyFiles.writeAtomically(file, out.toByteArray());
        } catch (IOException e) {
            throw new GeneralSecurityException("cannot write root key store " + file, e);
        }
    }

    @Override
    public String description() {
        return "PKCS#12 key store " + file;
    }

    @Override
    public void close() {
        try {
            protection.destroy();
        } catch (javax.security.auth.DestroyFailedException e) {
            // PasswordProtection clears its copy; nothing else to release.
        }
    }
}
