package fr.hdsvault.api.backup;

import fr.hdsvault.api.VaultApplication;
import fr.hdsvault.crypto.EncryptionContext;
import fr.hdsvault.crypto.EnvelopeCipher;
import fr.hdsvault.crypto.Keyring;
import fr.hdsvault.crypto.sign.Ed25519;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import javax.crypto.Mac;

/**
 * The keys of backup sets, both held in the key registry under the root key, so that a set
 * plus the root key is all a restore needs, and nobody without the root key can forge a set:
 * <ul>
 * <li>items that hold index data are sealed under the KEK {@value #SEALING_KEK}, with the set
 *     id and item name as context (an item moved to another set or name does not open);</li>
 * <li>manifests are signed with an Ed25519 key whose seed is derived from the registry key
 *     {@value #SIGNING_KEY}; a restore derives it from the set's own (wrapped) registry.</li>
 * </ul>
 */
public final class BackupKeys {

    public static final String SEALING_KEK = "backup:" + VaultApplication.TENANT;
    public static final String SIGNING_KEY = "backup-signing:" + VaultApplication.TENANT;
    private static final byte[] SEED_LABEL = "hds-vault backup manifest signing key v1".getBytes(StandardCharsets.US_ASCII);

    private BackupKeys() {
    }

    public static Ed25519.SigningKey signingKey(Keyring keyring) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(keyring.hmacKey(SIGNING_KEY));
            return Ed25519.SigningKey.fromSeed(mac.doFinal(SEED_LABEL));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("cannot derive the backup signing key", e);
        }
    }

    /** Creates both keys if this vault never made a backup: they must be in the registry the snapshot copies. */
    static void ensure(Keyring keyring, EnvelopeCipher envelopes) {
        signingKey(keyring);
        envelopes.seal(SEALING_KEK, itemContext("20000101T000000Z-000000", "probe"), new byte[0]);
    }

    static EncryptionContext itemContext(String setId, String item) {
        return new EncryptionContext(VaultApplication.TENANT, "backup-item", setId, item);
    }
}
