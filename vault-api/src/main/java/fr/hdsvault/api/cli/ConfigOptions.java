package fr.hdsvault.api.cli;

import java.io.IOException;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Properties;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.core.env.ConfigurableEnvironment;
import org.springframework.core.env.MapPropertySource;
import org.springframework.core.env.PropertiesPropertySource;
import org.springframework.core.env.StandardEnvironment;
import picocli.CommandLine.Option;

/**
 * Where a command's {@code vault.*} settings come from, the same for every command (serve,
 * audit verify, restore), highest first: these options; system properties and the environment
 * ({@code VAULT_STORES_PRIMARY_ENDPOINT} for {@code vault.stores.primary.endpoint}, Spring's
 * relaxed binding); the configuration file; the defaults. Secrets (S3 keys, PINs, passphrases)
 * have no option: they come from the environment or owner-only files (docs/deploy.md).
 */
public final class ConfigOptions {

    static final String CONFIG_VARIABLE = "VAULT_CONFIG";
    static final String FILE_SOURCE = "vault configuration file";
    static final String OPTION_SOURCE = "vault command-line options";

    @Option(names = "--config", paramLabel = "FILE",
            description = "A properties file of vault.* settings (default: $VAULT_CONFIG, else DIR/vault.properties when it exists).")
    Path config;

    @Option(names = "--s3-endpoint", paramLabel = "URL",
            description = "The external S3 server of the records (and of the audit bucket unless --audit-s3-endpoint); "
                    + "default: the embedded store in DIR/s3. Credentials: $VAULT_S3_ACCESS_KEY and $VAULT_S3_SECRET_KEY, "
                    + "or vault.stores.primary.credentials-file.")
    String s3Endpoint;

    @Option(names = "--audit-s3-endpoint", paramLabel = "URL",
            description = "The S3 server of the audit checkpoints, when not the records' (credentials: $VAULT_AUDIT_S3_*).")
    String auditS3Endpoint;

    @Option(names = "--backup-s3-endpoint", paramLabel = "URL",
            description = "The S3 server of the backup sets; default: the embedded store in DIR/backup-s3 (credentials: $VAULT_BACKUP_S3_*).")
    String backupS3Endpoint;

    @Option(names = "--hsm-library", paramLabel = "PATH",
            description = "A PKCS#11 module holding the root key (an HSM); default: the PKCS#12 key store DIR/keys/root.p12. "
                    + "PIN: $VAULT_HSM_PIN or vault.root-key.hsm.pin-file.")
    Path hsmLibrary;

    @Option(names = "--hsm-token-label", paramLabel = "LABEL", description = "The label of the HSM token holding the root key.")
    String hsmTokenLabel;

    @Option(names = "--tls-certificate", paramLabel = "PEM",
            description = "The server's certificate chain (PEM), e.g. from a public CA; with --tls-private-key. "
                    + "Default: a certificate from a local CA generated in DIR/tls (single node).")
    Path tlsCertificate;

    @Option(names = "--tls-private-key", paramLabel = "PEM", description = "The server's private key (PEM, mode 0600).")
    Path tlsPrivateKey;

    /** The options given, as the properties they set. */
    Map<String, Object> overrides() {
        Map<String, Object> p = new HashMap<>();
        putIfSet(p, "vault.stores.primary.endpoint", s3Endpoint);
        putIfSet(p, "vault.stores.audit.endpoint", auditS3Endpoint);
        putIfSet(p, "vault.stores.backup.endpoint", backupS3Endpoint);
        putIfSet(p, "vault.root-key.hsm.library", hsmLibrary == null ? null : hsmLibrary.toString());
        putIfSet(p, "vault.root-key.hsm.token-label", hsmTokenLabel);
        putIfSet(p, "vault.tls.certificate", tlsCertificate == null ? null : tlsCertificate.toString());
        putIfSet(p, "vault.tls.private-key", tlsPrivateKey == null ? null : tlsPrivateKey.toString());
        return p;
    }

    private static void putIfSet(Map<String, Object> p, String key, String value) {
        if (value != null && !value.isBlank()) {
            p.put(key, value.strip());
        }
    }

    /** The configuration file: --config, else $VAULT_CONFIG, else DIR/vault.properties if it exists; null if none. */
    Path file(Path dataDir) {
        if (config != null) {
            if (!Files.isRegularFile(config)) {
                throw new IllegalArgumentException("--config: no file " + config);
            }
            return config;
        }
        String env = System.getenv(CONFIG_VARIABLE);
        if (env != null && !env.isBlank()) {
            return Path.of(env.strip());
        }
        Path inDir = dataDir.resolve("vault.properties");
        return Files.isRegularFile(inDir) ? inDir : null;
    }

    /** Adds the file (below the environment) and the options (above everything) to an environment. */
    void applyTo(ConfigurableEnvironment environment, Path dataDir) {
        Path file = file(dataDir);
        if (file != null) {
            environment.getPropertySources().addAfter(StandardEnvironment.SYSTEM_ENVIRONMENT_PROPERTY_SOURCE_NAME,
                    new PropertiesPropertySource(FILE_SOURCE, read(file)));
        }
        environment.getPropertySources().addFirst(new MapPropertySource(OPTION_SOURCE, overrides()));
    }

    /** Binds settings the way the Spring application does, for the commands that do not start it. */
    <T> T bind(Path dataDir, String prefix, Class<T> type) {
        StandardEnvironment environment = new StandardEnvironment();
        applyTo(environment, dataDir);
        return Binder.get(environment).bindOrCreate(prefix, type);
    }

    private static Properties read(Path file) {
        Properties p = new Properties();
        try (Reader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            p.load(in);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the configuration file " + file, e);
        }
        return p;
    }
}
