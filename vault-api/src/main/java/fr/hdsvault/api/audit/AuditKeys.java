package fr.hdsvault.api.audit;

import fr.hdsvault.api.VaultApplication;
import fr.hdsvault.crypto.Keyring;
import fr.hdsvault.crypto.sign.Ed25519;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Base64;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The checkpoint signing key. Its seed is a secret of the key registry ({@value #SIGNING_SECRET}),
 * sealed under the root key like every KEK, so it is never on disk in clear and a backup's
 * registry carries it. Its public key is {@code keys/audit-signing.pub} (base64), which auditors
 * copy elsewhere as their trust anchor for {@code vault audit verify --public-key}.
 *
 * <p>Vaults before this kept the seed in clear in {@code keys/audit-signing.key}: at start-up
 * the seed is moved into the registry and the file is overwritten and deleted, so that
 * checkpoints signed before and after verify with the same public key.
 */
public final class AuditKeys {

    public static final String SIGNING_SECRET = "audit-signing:" + VaultApplication.TENANT;
    public static final String PUBLIC_FILE = "audit-signing.pub";
    /** The seed in clear, as earlier versions kept it; read once, moved into the registry, deleted. */
    static final String LEGACY_SEED_FILE = "audit-signing.key";
    private static final Logger log = LoggerFactory.getLogger(AuditKeys.class);

    private AuditKeys() {
    }

    /** The signing key, created in the registry on first use; writes the public key file when it is missing. */
    public static Ed25519.SigningKey signingKey(Keyring keyring, Path keysDir) {
        try {
            moveLegacySeed(keyring, keysDir.resolve(LEGACY_SEED_FILE));
            byte[] seed = keyring.secret(SIGNING_SECRET);
            Ed25519.SigningKey key = Ed25519.SigningKey.fromSeed(seed);
            Arrays.fill(seed, (byte) 0);
            Path publicFile = keysDir.resolve(PUBLIC_FILE);
            if (!Files.exists(publicFile)) {
                Files.writeString(publicFile, Base64.getEncoder().encodeToString(key.publicKey()) + "\n");
            }
            return key;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot prepare the audit signing key", e);
        }
    }

    private static void moveLegacySeed(Keyring keyring, Path legacy) throws IOException {
        if (!Files.exists(legacy)) {
            return;
        }
        byte[] seed = Base64.getDecoder().decode(Files.readString(legacy, StandardCharsets.US_ASCII).strip());
        if (!keyring.importSecret(SIGNING_SECRET, seed)) {
            byte[] kept = keyring.secret(SIGNING_SECRET);
            if (!Arrays.equals(kept, seed)) {
                log.warn("keys/{} holds another seed than the key registry's; the registry's is kept", LEGACY_SEED_FILE);
            }
            Arrays.fill(kept, (byte) 0);
        }
        Arrays.fill(seed, (byte) 0);
        // Overwrite before deleting, so the clear seed does not stay in the file's old blocks.
        long length = Files.size(legacy);
        Files.write(legacy, new byte[(int) length]);
        Files.delete(legacy);
        log.info("audit signing seed moved from keys/{} into the key registry, sealed under the root key", LEGACY_SEED_FILE);
    }

    public static byte[] readPublic(Path file) {
        try {
            return Base64.getDecoder().decode(Files.readString(file, StandardCharsets.US_ASCII).strip());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the audit public key " + file, e);
        }
    }
}
