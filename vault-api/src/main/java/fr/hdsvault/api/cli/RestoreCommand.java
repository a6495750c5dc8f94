package fr.hdsvault.api.cli;

import fr.hdsvault.api.audit.AuditKeys;
import fr.hdsvault.api.backup.VaultRestore;
import fr.hdsvault.backup.BackupException;
import fr.hdsvault.backup.BackupTarget;
import fr.hdsvault.backup.Progress;
import fr.hdsvault.crypto.root.OwnerOnlyFiles;
import fr.hdsvault.crypto.root.Passphrase;
import fr.hdsvault.crypto.root.RootKeyProvider;
import fr.hdsvault.api.home.VaultHome;
import fr.hdsvault.api.keys.RootKeyProperties;
import fr.hdsvault.api.keys.RootKeys;
import fr.hdsvault.api.storage.StoresProperties;
import fr.hdsvault.api.storage.VaultStores;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
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

    @Mixin
    ConfigOptions config;

    @Option(names = "--backup-dir", paramLabel = "DIR",
            description = "An embedded backup store's directory (a single-node vault's DIR/backup-s3, or its copy). "
                    + "Default: the backup store of the configuration (--backup-s3-endpoint, vault.stores.backup.*).")
    Path backupDir;

    @Option(names = "--set", defaultValue = "latest", paramLabel = "ID", description = "The set to restore. Default: the latest complete set.")
    String set;

    @Option(names = "--root-key", paramLabel = "FILE",
            description = "The root key store (root.p12), from its separate custody. Its passphrase: --root-passphrase-file or $"
                    + VaultHome.ROOT_PASSPHRASE_VARIABLE + ". Without it, the HSM of the configuration (--hsm-library).")
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
        StoresProperties stores = config.bind(dir, "vault.stores", StoresProperties.class);
        RootKeyProperties rootSettings = config.bind(dir, "vault.root-key", RootKeyProperties.class);
        if ((rootKey == null) == !rootSettings.hsm().configured()) {
            throw new ParameterException(spec.commandLine(), "name the root key: --root-key FILE (PKCS#12) or the HSM "
                    + "(--hsm-library and --hsm-token-label), not both");
        }
        if (backupDir == null && !stores.backup().external()) {
            throw new ParameterException(spec.commandLine(), "name the backup store: --backup-dir DIR or --backup-s3-endpoint URL");
        }
        if (rootKey != null && !Files.isRegularFile(rootKey)) {
            throw new ParameterException(spec.commandLine(), "--root-key: no key store at " + rootKey);
        }
        try (RootKeyProvider root = rootKey != null ? RootKeys.pkcs12(rootKey, rootPassphraseFile != null
                ? Passphrase.fromFile(rootPassphraseFile) : Passphrase.fromEnvironment(System.getenv(), VaultHome.ROOT_PASSPHRASE_VARIABLE))
                : RootKeys.hsm(rootSettings.hsm(), System.getenv());
             // The source: read only, its region checked before anything is read.
             VaultStores source = new VaultStores(stores, System.getenv(), null, backupDir)) {
            VaultStores.StoreBucket backup = source.requireResident(StoresProperties.Role.BACKUP);
            BackupTarget target = new BackupTarget(backup.store(), backup.bucket());
            String id = "latest".equals(set) ? target.latestComplete().map(BackupTarget.SetInfo::id)
                    .orElseThrow(() -> new BackupException("no complete backup set in " + backup.describe())) : set;
            err.println("restoring backup set " + id + " from " + backup.describe() + " into " + dir);
            err.flush();
            try (VaultRestore.Restored restored = VaultRestore.restore(target, id, root, dir, stores, indexUrl,
                    System.getenv().getOrDefault("VAULT_INDEX_USER", ""), System.getenv().getOrDefault("VAULT_INDEX_PASSWORD", ""),
                    auditPublicKey == null ? null : AuditKeys.readPublic(auditPublicKey), parallelism,
                    Progress.reporting("restore", Duration.ofSeconds(5), line -> {
                        err.println(line);
                        err.flush();
                    }))) {
                if (rootKey != null) {
                    // The restored vault opens with the same root key: placed where `vault serve` looks for it.
                    Files.copy(rootKey, dir.resolve("keys").resolve("root.p12"));
                    if (rootPassphraseFile != null) {
                        OwnerOnlyFiles.writeAtomically(dir.resolve("keys").resolve("root.passphrase"),
                                Files.readAllBytes(rootPassphraseFile));
                    }
                }
                (restored.ok() ? out : err).println(restored.describe()
                        + (restored.ok() ? "\nstart it with: vault serve --data-dir " + dir + " (and the same configuration)"
                        : "\nthis directory is NOT a faithful copy of the set: do not serve it; restore another set"));
                out.flush();
                err.flush();
                return restored.ok() ? 0 : 1;
            }
        } catch (BackupException e) {
            err.println("restore FAILED: " + e.getMessage());
            err.flush();
            return 1;
        }
    }
}
