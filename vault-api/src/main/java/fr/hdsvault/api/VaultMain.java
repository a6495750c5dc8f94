package fr.hdsvault.api;

import fr.hdsvault.api.cli.ServeCommand;
import fr.hdsvault.api.cli.AuditCommand;
import fr.hdsvault.api.cli.BackupCommand;
import fr.hdsvault.api.cli.ImportCommand;
import fr.hdsvault.api.cli.RestitutionCommand;
import fr.hdsvault.api.cli.ClientCommand;
import fr.hdsvault.api.cli.DestroyCommand;
import fr.hdsvault.api.cli.ErasePatientCommand;
import fr.hdsvault.api.cli.DrillCommand;
import fr.hdsvault.api.cli.EvidenceCommand;
import fr.hdsvault.api.cli.KeysCommand;
import fr.hdsvault.api.cli.RestoreCommand;
import fr.hdsvault.api.cli.RotateIssuerKeyCommand;
import fr.hdsvault.api.cli.TokenCommand;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * Entry point of vault.jar: {@code java -jar vault.jar [serve] [options]} starts the vault;
 * {@code java -jar vault.jar token ...} prints a signed token for a vault's data directory.
 */
@Command(name = "vault", mixinStandardHelpOptions = true, version = "hds-vault 0.1.0",
        subcommands = {ServeCommand.class, TokenCommand.class, RotateIssuerKeyCommand.class, AuditCommand.class,
                BackupCommand.class, DrillCommand.class, RestoreCommand.class, KeysCommand.class, ClientCommand.class,
                ErasePatientCommand.class, DestroyCommand.class, ImportCommand.class, RestitutionCommand.class, EvidenceCommand.class},
        description = "hds-vault: a FHIR R4 health-data vault, encrypted, audited and backed up.")
public final class VaultMain {

    private VaultMain() {
    }

    /** The JDK's setting for the common fork-join pool's size, read once when that pool is first used. */
    static final String COMMON_POOL_PARALLELISM = "java.util.concurrent.ForkJoinPool.common.parallelism";

    public static void main(String[] args) {
        // The MinIO client hands every upload to CompletableFuture's default pool; on fewer than three cores
        // that pool is a new thread per task (one per object stored: 9,400 threads in one Synthea ingest).
        // Two workers keep them reused. Set before anything starts the pool; an explicit -D wins.
        if (System.getProperty(COMMON_POOL_PARALLELISM) == null && Runtime.getRuntime().availableProcessors() < 3) {
            System.setProperty(COMMON_POOL_PARALLELISM, "2");
        }
        // No subcommand means "serve", so that `java -jar vault.jar` starts the vault.
        boolean hasSubcommand = args.length > 0 && !args[0].startsWith("-");
        boolean askedForHelp = args.length > 0 && (args[0].equals("-h") || args[0].equals("--help") || args[0].equals("-V")
                || args[0].equals("--version"));
        String[] effective = hasSubcommand || askedForHelp ? args : prepend("serve", args);
        int exit = new CommandLine(new VaultMain()).execute(effective);
        if (exit != 0 || !effective[0].equals("serve")) {
            System.exit(exit);
        }
    }

    private static String[] prepend(String first, String[] rest) {
        String[] all = new String[rest.length + 1];
        all[0] = first;
        System.arraycopy(rest, 0, all, 1, rest.length);
        return all;
    }
}
