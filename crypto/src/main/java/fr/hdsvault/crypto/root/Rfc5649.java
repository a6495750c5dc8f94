package fr.hdsvault.crypto.root;

import fr.hdsvault.crypto.WrongKeyException;
import java.security.GeneralSecurityException;
import java.security.Provider;
import javax.crypto.Cipher;
import javax.crypto.SecretKey;
import org.bouncycastle.crypto.BlockCipher;
import org.bouncycastle.crypto.CipherParameters;
import org.bouncycastle.crypto.InvalidCipherTextException;
import org.bouncycastle.crypto.engines.RFC5649WrapEngine;
import org.bouncycastle.crypto.params.KeyParameter;

/**
 * RFC 5649 (AES key wrap with padding) under a root key that may live in an HSM.
 *
 * <p>The JDK 17 PKCS#11 provider has no AES key wrap mechanism, but every token offers raw
 * AES (ECB, one block at a time). Bouncy Castle's RFC 5649 engine is driven here over a JCA
 * AES/ECB cipher of the key's own provider, so the construction comes from Bouncy Castle,
 * each AES block operation runs where the key lives, and the root key is never exported.
 * The output is byte-for-byte RFC 5649 (checked against the JDK's AES/KWP in the tests).
 */
final class Rfc5649 {

    private Rfc5649() {
    }

    static byte[] wrap(SecretKey key, Provider provider, byte[] plaintext) {
        RFC5649WrapEngine engine = new RFC5649WrapEngine(new JcaAesBlock(key, provider));
        engine.init(true, BOUND_KEY);
        return engine.wrap(plaintext, 0, plaintext.length);
    }

    static byte[] unwrap(SecretKey key, Provider provider, byte[] wrapped, String keyName) {
        RFC5649WrapEngine engine = new RFC5649WrapEngine(new JcaAesBlock(key, provider));
        engine.init(false, BOUND_KEY);
        try {
            return engine.unwrap(wrapped, 0, wrapped.length);
        } catch (InvalidCipherTextException | IllegalArgumentException e) {
            throw new WrongKeyException("wrapped key does not unwrap under " + keyName
                    + " (integrity check failed: altered record or another vault's key)");
        }
    }

    /** The key is bound in the adapter; the engine wants a parameter object, which the adapter ignores. */
    private static final CipherParameters BOUND_KEY = new KeyParameter(new byte[16]);

    /** One AES block at a time through a JCA cipher whose key may be a non-extractable token object. */
    private static final class JcaAesBlock implements BlockCipher {
        private final SecretKey key;
        private final Provider provider;
        private Cipher cipher;

        JcaAesBlock(SecretKey key, Provider provider) {
            this.key = key;
            this.provider = provider;
        }

        @Override
        public void init(boolean forEncryption, CipherParameters ignored) {
            try {
                cipher = provider == null ? Cipher.getInstance("AES/ECB/NoPadding")
                        : Cipher.getInstance("AES/ECB/NoPadding", provider);
                cipher.init(forEncryption ? Cipher.ENCRYPT_MODE : Cipher.DECRYPT_MODE, key);
            } catch (GeneralSecurityException e) {
                throw new IllegalStateException("AES/ECB unavailable for the root key", e);
            }
        }

        @Override
        public String getAlgorithmName() {
            return "AES";
        }

        @Override
        public int getBlockSize() {
            return 16;
        }

        @Override
        public int processBlock(byte[] in, int inOff, byte[] out, int outOff) {
            try {
                // doFinal per block: it ends the token operation each time, so no HSM session is left mid-operation.
                int n = cipher.doFinal(in, inOff, 16, out, outOff);
                if (n != 16) {
                    throw new IllegalStateException("AES/ECB returned " + n + " bytes for one block");
                }
                return 16;
            } catch (GeneralSecurityException e) {
                throw new IllegalStateException("AES block operation failed", e);
            }
        }

        @Override
        public void reset() {
            // Stateless per block: ECB keeps no chaining state.
        }
    }
}
