package fr.hdsvault.crypto.root;

import fr.hdsvault.crypto.WrongKeyException;
import java.security.GeneralSecurityException;
import java.security.Key;
import java.security.KeyStore;
import java.security.Provider;
import java.util.Collections;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.crypto.SecretKey;

/**
 * What the PKCS#12 and PKCS#11 providers share: root key versions are AES-256 secret-key
 * entries named {@code hds-vault-root-v<N>} in a {@link KeyStore}, and wrapping is RFC 5649
 * done by the key's own provider.
 */
abstract sealed class KeyStoreRootKeyProvider implements RootKeyProvider
        permits Pkcs12RootKeyProvider, Pkcs11RootKeyProvider {

    private static final Pattern ALIAS = Pattern.compile("hds-vault-root-v(\\d+)");

    protected final KeyStore keyStore;
    private final Provider cipherProvider;
    private final Map<Integer, SecretKey> versions = new ConcurrentHashMap<>();
    private volatile int current;

    protected KeyStoreRootKeyProvider(KeyStore keyStore, Provider cipherProvider) {
        this.keyStore = keyStore;
        this.cipherProvider = cipherProvider;
    }

    static String alias(int version) {
        return "hds-vault-root-v" + version;
    }

    /** Loads every root key version; creates version 1 when the store holds none. */
    protected final void loadOrCreate(KeyStore.ProtectionParameter entryProtection) throws GeneralSecurityException {
        scan(entryProtection instanceof KeyStore.PasswordProtection p ? p.getPassword() : null);
        if (current == 0) {
            rotate();
        }
    }

    private synchronized void scan(char[] password) throws GeneralSecurityException {
        for (String alias : Collections.list(keyStore.aliases())) {
            Matcher m = ALIAS.matcher(alias);
            if (m.matches()) {
                Key key = keyStore.getKey(alias, password);
                if (key instanceof SecretKey secret) {
                    int version = Integer.parseInt(m.group(1));
                    versions.put(version, secret);
                    current = Math.max(current, version);
                }
            }
        }
    }

    /**
     * Reads the store again, for versions another process created (vaults sharing one HSM token);
     * false when the store cannot be shared, so nothing new can appear.
     */
    protected boolean reload() throws GeneralSecurityException, java.io.IOException {
        return false;
    }

    /** The key of a version, reading the store again once when another process may have created it. */
    private SecretKey version(int version) {
        SecretKey key = versions.get(version);
        if (key == null) {
            try {
                if (reload()) {
                    scan(null);
                }
            } catch (GeneralSecurityException | java.io.IOException e) {
                throw new IllegalStateException("cannot read the root keys of " + description() + " again", e);
            }
            key = versions.get(version);
        }
        return key;
    }

    /** Generates a new AES-256 root key and persists it under the given alias; returns the stored key handle. */
    protected abstract SecretKey createRootKey(String alias) throws GeneralSecurityException;

    /** The key object of one version: a handle, never key bytes, for an HSM. For tests. */
    SecretKey keyHandle(int version) {
        return versions.get(version);
    }

    @Override
    public int currentVersion() {
        return current;
    }

    @Override
    public Wrapped wrap(byte[] keyMaterial) {
        int version = current;
        return new Wrapped(version, Rfc5649.wrap(versions.get(version), cipherProvider, keyMaterial));
    }

    @Override
    public byte[] unwrap(int rootKeyVersion, byte[] wrapped) {
        SecretKey key = version(rootKeyVersion);
        if (key == null) {
            throw new WrongKeyException("root key version " + rootKeyVersion + " is not held by " + description());
        }
        return Rfc5649.unwrap(key, cipherProvider, wrapped, "root key v" + rootKeyVersion);
    }

    @Override
    public synchronized int rotate() {
        try {
            if (reload()) { // another process sharing the token may have rotated already: never reuse its number
                scan(null);
            }
        } catch (GeneralSecurityException | java.io.IOException e) {
            throw new IllegalStateException("cannot read the root keys of " + description() + " again", e);
        }
        int next = current + 1;
        try {
            SecretKey key = createRootKey(alias(next));
            versions.put(next, key);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("could not create root key version " + next + " in " + description(), e);
        }
        current = next;
        return next;
    }
}
