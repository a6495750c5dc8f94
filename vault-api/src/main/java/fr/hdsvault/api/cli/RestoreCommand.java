package fr.hdsvault.api.cli;

import fr.hdsvault.api.audit.AuditKeys;
import fr.hdsvault.api.backup.VaultRestore;
import fr.hdsvault.backup.BackupException;
import fr.hdsvault.backup.BackupTarget;
import fr.hdsvault.backup.Progress;
import fr.hdsvault.crypto.root.OwnerOnlyFiles;
import fr.hdsvault.crypto.root.Passphrase;
import fr.hdsvault.crypto.root.Pkcs12RootKeyProvider;
import fr.hdsvault.crypto.root.RootKeyProvider;
import fr.hdsvault.api.home.VaultHome;
import fr.hdsvault.storage.ObjectStore;
import fr.hdsvault.storage.ResidencyPolicy;
import fr.hdsvault.storage.S3Credentials;
import fr.hdsvault.storage.S3ObjectStore;
import fr.hdsvault.storage.S3StoreConfig;
import fr.hdsvault.storage.embedded.EmbeddedS3Server;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code vault restore}: builds a working vault from one backup set and the root key, into an
 * empty data directory (docs/runbook-disaster-recovery.md). Start it afterwards with
 * {@code vault serve --data-dir DIR}.
 */
@Command(name = "restore", mixinStandardHelpOptions = true,
        description = "Restore a backup set into an empty data directory (and optionally an empty PostgreSQL database). "
                + "Exit 0 when everything restored and verified, 1 otherwise.")
public final class RestoreCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Mixin
    DataDirOption dataDir;

    static final class Source {
        @Option(names = "--backup-dir", paramLabel = "DIR",
                description = "An embedded backup store's directory (a single-node vault's DIR/backup-s3, or its copy).")
        Path backupDir;

        @Option(names = "--backup-endpoint", paramLabel = "URL",
                description = "An S3/MinIO endpoint; credentials from VAULT_BACKUP_ACCESS_KEY and VAULT_BACKUP_SECRET_KEY.")
        String endpoint;
    }

    @ArgGroup(exclusive = true, multiplicity = "1")
    Source source;

    @Option(names = "--backup-bucket", defaultValue = "hds-vault-backup", paramLabel = "BUCKET", description = "Default: ${DEFAULT-VALUE}.")
    String bucket;

    @Option(names = "--backup-region", defaultValue = "fr-par", paramLabel = "REGION", description = "Default: ${DEFAULT-VALUE}.")
    String region;

    @Option(names = "--allowed-regions", defaultValue = "fr-par,eu-west-3,fr-*", paramLabel = "LIST",
            description = "Residency policy for the backup store. Default: ${DEFAULT-VALUE}.")
    String allowedRegions;

    @Option(names = "--set", defaultValue = "latest", paramLabel = "ID", description = "The set to restore. Default: the latest complete set.")
    String set;

    @Option(names = "--root-key", required = true, paramLabel = "FILE",
            description = "The root key store (root.p12), from its separate custody. Its passphrase: --root-passphrase-file or $"
                    + VaultHome.ROOT_PASSPHRASE_VARIABLE + ".")
    Path rootKey;

    @Option(names = "--root-passphrase-file", paramLabel = "FILE", description = "A file holding the root key store's passphrase.")
    Path rootPassphraseFile;

    @Option(names = "--index-url", paramLabel = "JDBC",
            description = "Restore the index into this (empty) database instead of H2 in the data directory; "
                    + "user and password from VAULT_INDEX_USER and VAULT_INDEX_PASSWORD.")
    String indexUrl;

    @Option(names = "--audit-public-key", paramLabel = "FILE",
            description = "The trusted audit checkpoint key (base64), to verify the restored audit trail against. "
                    + "Default: the key in the set.")
    Path auditPublicKey;

    @Option(names = "--parallelism", defaultValue = "8", paramLabel = "N", description = "Objects copied at once. Default: ${DEFAULT-VALUE}.")
    int parallelism;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        Path dir = dataDir.resolve().toAbsolutePath();
        if (!Files.isRegularFile(rootKey)) {
            throw new ParameterException(spec.commandLine(), "--root-key: no key store at " + rootKey);
        }
        char[] passphrase = rootPassphraseFile != null ? Passphrase.fromFile(rootPassphraseFile)
                : Passphrase.fromEnvironment(System.getenv(), VaultHome.ROOT_PASSPHRASE_VARIABLE);
        EmbeddedS3Server server = null;
        try (RootKeyProvider root = Pkcs12RootKeyProvider.openOrCreate(rootKey, passphrase)) {
            S3StoreConfig config;
            if (source.backupDir != null) {
                server = EmbeddedS3Server.start(source.backupDir);
                config = S3StoreConfig.declared(server.endpoint(), server.credentials(), region);
            } else {
                config = S3StoreConfig.external(source.endpoint, new S3Credentials(System.getenv().getOrDefault("VAULT_BACKUP_ACCESS_KEY", ""),
                        System.getenv().getOrDefault("VAULT_BACKUP_SECRET_KEY", "")), region);
            }
            try (ObjectStore store = new S3ObjectStore(config.withResidency(ResidencyPolicy.parse(allowedRegions)))) {
                BackupTarget target = new BackupTarget(store, bucket);
                String id = "latest".equals(set) ? target.latestComplete().map(BackupTarget.SetInfo::id)
                        .orElseThrow(() -> new BackupException("no complete backup set in " + bucket)) : set;
                err.println("restoring backup set " + id + " into " + dir);
                err.flush();
                try (VaultRestore.Restored restored = VaultRestore.restore(target, id, root, dir, indexUrl,
                        System.getenv().getOrDefault("VAULT_INDEX_USER", ""), System.getenv().getOrDefault("VAULT_INDEX_PASSWORD", ""),
                        auditPublicKey == null ? null : AuditKeys.readPublic(auditPublicKey), parallelism,
                        Progress.reporting("restore", Duration.ofSeconds(5), line -> {
                            err.println(line);
                            err.flush();
                        }))) {
                    // The restored vault opens with the same root key: placed where `vault serve` looks for it.
                    Files.copy(rootKey, dir.resolve("keys").resolve("root.p12"));
                    if (rootPassphraseFile != null) {
                        OwnerOnlyFiles.writeAtomically(dir.resolve("keys").resolve("root.passphrase"), Files.readAllBytes(rootPassphraseFile));
                    }
                    (restored.ok() ? out : err).println(restored.describe()
                            + (restored.ok() ? "\nstart it with: vault serve --data-dir " + dir
                            : "\nthis directory is NOT a faithful copy of the set: do not serve it; restore another set"));
                    out.flush();
                    err.flush();
                    return restored.ok() ? 0 : 1;
                }
            }
        } catch (BackupException e) {
            err.println("restore FAILED: " + e.getMessage());
            err.flush();
            return 1;
        } finally {
            if (server != null) {
                server.close();
            }
        }
    }
}
