package fr.hdsvault.api.audit;

import fr.hdsvault.crypto.root.OwnerOnlyFiles;
import fr.hdsvault.crypto.sign.Ed25519;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;

/**
 * The checkpoint signing key of a single-node vault: {@code keys/audit-signing.key} (the
 * Ed25519 seed, owner-only) and {@code keys/audit-signing.pub} (the public key, base64), which
 * auditors copy elsewhere as their trust anchor for {@code vault audit verify --public-key}.
 */
public final class AuditKeys {

    public static final String PRIVATE_FILE = "audit-signing.key";
    public static final String PUBLIC_FILE = "audit-signing.pub";

    private AuditKeys() {
    }

    public static Ed25519.SigningKey loadOrCreate(Path keysDir) {
        Path seedFile = keysDir.resolve(PRIVATE_FILE);
        try {
            if (!Files.exists(seedFile)) {
                Ed25519.SigningKey fresh = Ed25519.SigningKey.generate();
                OwnerOnlyFiles.writeAtomically(seedFile, Base64.getEncoder().encode(fresh.seed()));
                Files.writeString(keysDir.resolve(PUBLIC_FILE), Base64.getEncoder().encodeToString(fresh.publicKey()) + "\n");
            }
            return Ed25519.SigningKey.fromSeed(Base64.getDecoder().decode(Files.readString(seedFile, StandardCharsets.US_ASCII).strip()));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the audit signing key", e);
        }
    }

    public static byte[] readPublic(Path file) {
        try {
            return Base64.getDecoder().decode(Files.readString(file, StandardCharsets.US_ASCII).strip());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the audit public key " + file, e);
        }
    }
}
