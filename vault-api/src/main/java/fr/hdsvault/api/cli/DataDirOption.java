package fr.hdsvault.api.cli;

import java.nio.file.Path;
import picocli.CommandLine.Option;

/** The data directory, shared by every command: --data-dir, else VAULT_DATA_DIR, else ./vault-data. */
public final class DataDirOption {

    @Option(names = "--data-dir", paramLabel = "DIR", description = "Data directory (default: $VAULT_DATA_DIR or ./vault-data).")
    Path dataDir;

    public Path resolve() {
        if (dataDir != null) {
            return dataDir;
        }
        String env = System.getenv("VAULT_DATA_DIR");
        return Path.of(env == null || env.isBlank() ? "vault-data" : env);
    }
}
