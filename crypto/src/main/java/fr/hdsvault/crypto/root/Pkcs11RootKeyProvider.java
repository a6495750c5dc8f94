package fr.hdsvault.crypto.root;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.Provider;
import java.security.Security;
import javax.crypto.KeyGenerator;
import javax.crypto.SecretKey;

/**
 * Production root key: AES-256 keys generated inside a PKCS#11 token (an HSM; SoftHSM2 in
 * tests) through the JDK's SunPKCS11 provider. Keys are created sensitive and
 * non-extractable: the JVM only ever holds handles, and every wrap and unwrap runs inside the
 * token.
 */
public final class Pkcs11RootKeyProvider extends KeyStoreRootKeyProvider {

    /** Token coordinates. {@code slotListIndex} picks among slots holding an initialised token. */
    public record Config(Path library, int slotListIndex, char[] pin) {
    }

    private final Provider provider;
    private final String label;

    private Pkcs11RootKeyProvider(KeyStore keyStore, Provider provider, String label) {
        super(keyStore, provider);
        this.provider = provider;
        this.label = label;
    }

    public static Pkcs11RootKeyProvider open(Config config) {
        if (!Files.isReadable(config.library())) {
            throw new IllegalStateException("PKCS#11 library not found: " + config.library());
        }
        // Template applied to every AES key this provider generates or stores: the root key can
        // wrap and unwrap, and can never be read out of the token.
        String pkcs11Config = String.join("\n",
                "name = hdsvault",
                "library = " + config.library(),
                "slotListIndex = " + config.slotListIndex(),
                "attributes(*, CKO_SECRET_KEY, CKK_AES) = {",
                "  CKA_SENSITIVE = true",
                "  CKA_EXTRACTABLE = false",
                "  CKA_ENCRYPT = true",
                "  CKA_DECRYPT = true",
                "}",
                "");
        try {
            Provider provider = Security.getProvider("SunPKCS11").configure("--" + pkcs11Config);
            KeyStore ks = KeyStore.getInstance("PKCS11", provider);
            ks.load(null, config.pin());
            Pkcs11RootKeyProvider root = new Pkcs11RootKeyProvider(ks, provider,
                    "PKCS#11 token (" + config.library().getFileName() + ", slot index " + config.slotListIndex() + ")");
            root.loadOrCreate(null);
            return root;
        } catch (GeneralSecurityException | IOException e) {
            throw new IllegalStateException("cannot open PKCS#11 token through " + config.library()
                    + ": check the slot and the PIN", e);
        }
    }

    @Override
    protected SecretKey createRootKey(String alias) throws GeneralSecurityException {
        KeyGenerator generator = KeyGenerator.getInstance("AES", provider);
        generator.init(256);
        SecretKey sessionKey = generator.generateKey();
        // Storing copies the key into a persistent token object (CKA_TOKEN) under this label.
        keyStore.setEntry(alias, new KeyStore.SecretKeyEntry(sessionKey), null);
        return (SecretKey) keyStore.getKey(alias, null);
    }

    @Override
    public String description() {
        return label;
    }

    @Override
    public void close() {
        // SunPKCS11 keeps its session pool for the life of the provider; keys stay in the token.
    }
}
