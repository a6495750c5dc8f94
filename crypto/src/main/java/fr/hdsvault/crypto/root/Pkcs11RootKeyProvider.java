package fr.hdsvault.crypto.root;

import java.io.IOException;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.Provider;
import java.security.Security;
import java.util.ArrayList;
import java.util.List;
import javax.crypto.KeyGenerator;
import javax.crypto.SecretKey;

/**
 * Production root key: AES-256 keys generated inside a PKCS#11 token (an HSM; SoftHSM2 in
 * tests) through the JDK's SunPKCS11 provider. Keys are created sensitive and
 * non-extractable: the JVM only ever holds handles, and every wrap and unwrap runs inside the
 * token.
 */
public final class Pkcs11RootKeyProvider extends KeyStoreRootKeyProvider {

    /**
     * Token coordinates: the module, the token's label (as {@code softhsm2-util --init-token
     * --label} or the HSM's tooling set it), and the user PIN.
     */
    public record Config(Path library, String tokenLabel, char[] pin) {
        @Override
        public String toString() {
            return "Config[" + library + ", token '" + tokenLabel + "', PIN hidden]";
        }
    }

    /** What the JVM must be started with to read token labels (vault.jar's manifest says it). */
    public static final String REQUIRED_JVM_OPTION = "--add-exports jdk.crypto.cryptoki/sun.security.pkcs11.wrapper=ALL-UNNAMED";

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
        long slot = slotOf(config.library(), config.tokenLabel());
        // Template applied to every AES key this provider generates or stores: the root key can
        // wrap and unwrap, and can never be read out of the token.
        String pkcs11Config = String.join("\n",
                "name = hdsvault",
                "library = " + config.library(),
                "slot = " + slot,
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
                    "PKCS#11 token '" + config.tokenLabel() + "' (" + config.library().getFileName() + ")");
            root.loadOrCreate(null);
            return root;
        } catch (GeneralSecurityException | IOException e) {
            throw new IllegalStateException("cannot open the PKCS#11 token '" + config.tokenLabel() + "' through "
                    + config.library() + ": check the PIN", e);
        }
    }

    /**
     * The slot holding the token with this label. The JDK's provider addresses slots by number
     * only, and token labels are what an HSM's operator names; the JDK's own PKCS#11 wrapper
     * reads them (through reflection: its package is exported at run time only).
     */
    static long slotOf(Path library, String tokenLabel) {
        List<String> seen = new ArrayList<>();
        try {
            Class<?> wrapper = Class.forName("sun.security.pkcs11.wrapper.PKCS11");
            Class<?> initArgsType = Class.forName("sun.security.pkcs11.wrapper.CK_C_INITIALIZE_ARGS");
            Object initArgs = initArgsType.getConstructor().newInstance();
            initArgsType.getField("flags").setLong(initArgs, 0x2L); // CKF_OS_LOCKING_OK, as the JDK's provider asks
            Object module = wrapper.getMethod("getInstance", String.class, String.class, initArgsType, boolean.class)
                    .invoke(null, library.toString(), "C_GetFunctionList", initArgs, false);
            long[] slots = (long[]) wrapper.getMethod("C_GetSlotList", boolean.class).invoke(module, true);
            Method tokenInfo = wrapper.getMethod("C_GetTokenInfo", long.class);
            for (long slot : slots) {
                Object info = tokenInfo.invoke(module, slot);
                String label = new String((char[]) info.getClass().getField("label").get(info)).strip();
                if (label.equals(tokenLabel)) {
                    return slot;
                }
                seen.add(label);
            }
        } catch (IllegalAccessException e) {
            throw new IllegalStateException("reading PKCS#11 token labels needs the JVM option " + REQUIRED_JVM_OPTION
                    + " (vault.jar's manifest sets it; add it when starting the vault another way)", e);
        } catch (InvocationTargetException e) {
            throw new IllegalStateException("cannot list the tokens of " + library + ": " + e.getCause(), e.getCause());
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("this JDK has no PKCS#11 wrapper (jdk.crypto.cryptoki)", e);
        }
        throw new IllegalStateException("no PKCS#11 token labelled '" + tokenLabel + "' in " + library
                + " (tokens present: " + seen + ")");
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

    /** Another vault process sharing the token may have rotated the root key. */
    @Override
    protected boolean reload() throws GeneralSecurityException, IOException {
        keyStore.load(null, null); // the session is logged in already: this only lists the token's objects again
        return true;
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
