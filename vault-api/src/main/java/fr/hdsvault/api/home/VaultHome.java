package fr.hdsvault.api.home;

import fr.hdsvault.crypto.root.OwnerOnlyFiles;
import fr.hdsvault.crypto.root.Passphrase;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.UUID;

/**
 * The single-node data directory and everything the vault creates in it on first start:
 *
 * <pre>
 * vault-id              the vault's identity (issuer of its tokens); on a shared database, the cluster's
 * node-id               this data directory's node, among the nodes of one vault
 * tls/                  local CA (ca.pem) and server certificate (DevPki)
 * keys/root.p12         root key store; keys/root.passphrase unless VAULT_ROOT_PASSPHRASE is set
 * keys/jwt-issuer.jwks  the single-node token signing keys (newest first; the previous one kept for verification)
 * s3/                   the embedded S3 store
 * index/                the embedded H2 index database
 * </pre>
 *
 * Directories are owner-only (0700), also when they existed with looser rights; secrets owner-only (0600).
 */
public final class VaultHome {

    public static final String ROOT_PASSPHRASE_VARIABLE = "VAULT_ROOT_PASSPHRASE";

    private final Path root;

    private VaultHome(Path root) {
        this.root = root;
    }

    public static VaultHome prepare(Path dir) {
        Path root = dir.toAbsolutePath().normalize();
        VaultHome home = new VaultHome(root);
        for (Path d : new Path[] {root, home.tls(), home.keys(), home.s3(), home.index()}) {
            try {
                if (!Files.isDirectory(d)) {
                    Files.createDirectories(d);
                }
                Files.setPosixFilePermissions(d, PosixFilePermissions.fromString("rwx------"));
            } catch (IOException e) {
                throw new UncheckedIOException("cannot create " + d, e);
            }
        }
        return home;
    }

    public Path root() {
        return root;
    }

    public Path tls() {
        return root.resolve("tls");
    }

    public Path keys() {
        return root.resolve("keys");
    }

    public Path s3() {
        return root.resolve("s3");
    }

    public Path index() {
        return root.resolve("index");
    }

    /**
     * Makes the files H2 created in {@code index/} owner-only: H2 creates them with the process's
     * umask (0644 here). The directory is 0700 anyway; this keeps a copied file private too.
     */
    public void restrictIndexFiles() {
        try (java.util.stream.Stream<Path> files = Files.list(index())) {
            for (Path f : files.filter(Files::isRegularFile).toList()) {
                Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rw-------"));
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot restrict the rights of " + index(), e);
        }
    }

    /**
     * The embedded H2 index database of this directory. H2's own JVM shutdown hook is off: on
     * SIGTERM it would close the database while the vault still drains and serves, and before the
     * audit trail's last checkpoint; the vault closes it when its connections close.
     */
    public String h2Url() {
        return "jdbc:h2:file:" + index().resolve("vault") + ";DB_CLOSE_ON_EXIT=FALSE";
    }

    /**
     * The vault's identity, random on first start. Nodes that share an index database share the
     * one it holds ({@code VaultIdentity}), which each adopts into its directory.
     */
    public String vaultId() {
        return randomIdentity("vault-id");
    }

    /** This data directory among the nodes of one vault, random on first start. */
    public String nodeId() {
        return randomIdentity("node-id");
    }

    /** Takes the vault identity a shared index database holds (this directory joins that vault). */
    public void adoptVaultId(String vaultId) {
        Path file = root.resolve("vault-id");
        try {
            Files.writeString(file, vaultId + "\n", StandardCharsets.US_ASCII);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file, e);
        }
    }

    private String randomIdentity(String name) {
        Path file = root.resolve(name);
        try {
            if (!Files.exists(file)) {
                Files.writeString(file, UUID.randomUUID() + "\n", StandardCharsets.US_ASCII);
            }
            return Files.readString(file, StandardCharsets.US_ASCII).strip();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file, e);
        }
    }

    /** The root key store's passphrase: the environment variable, else an owner-only file created on first start. */
    public char[] rootPassphrase() {
        try {
            return Passphrase.resolve(System.getenv(), ROOT_PASSPHRASE_VARIABLE, keys().resolve("root.passphrase"));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the root key passphrase", e);
        }
    }

    /** A random secret kept in an owner-only file (e.g. the TLS key store password), created on first use. */
    public char[] localSecret(String name) {
        Path file = keys().resolve(name + ".secret");
        try {
            if (!Files.exists(file)) {
                byte[] random = new byte[24];
                new SecureRandom().nextBytes(random);
                OwnerOnlyFiles.writeAtomically(file, Base64.getUrlEncoder().withoutPadding().encodeToString(random)
                        .getBytes(StandardCharsets.US_ASCII));
            }
            return Passphrase.fromFile(file);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file, e);
        }
    }
}
