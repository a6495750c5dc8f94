package fr.hdsvault.api.storage;

import fr.hdsvault.storage.ResidencyPolicy;
import fr.hdsvault.storage.S3Credentials;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;

/**
 * {@code vault.stores.*}: the three S3 stores of a vault (docs/deploy.md).
 *
 * <ul>
 *   <li>{@code primary}: the records (ciphertext objects). No endpoint: the embedded server in
 *       {@code DIR/s3}.</li>
 *   <li>{@code audit}: the signed audit checkpoints. No endpoint: the primary's server,
 *       credentials and trust store, in its own bucket.</li>
 *   <li>{@code backup}: the backup sets, a second site. No endpoint: a second embedded server in
 *       {@code DIR/backup-s3}.</li>
 * </ul>
 * Credentials never come from configuration values (a command line or a properties file
 * others may read): each store's {@code credentials-file} (owner-only), else the environment
 * ({@code VAULT_S3_}, {@code VAULT_AUDIT_S3_}, {@code VAULT_BACKUP_S3_} followed by
 * {@code ACCESS_KEY} and {@code SECRET_KEY}).
 *
 * @param allowedRegions         the residency policy, for every store
 * @param allowWithoutObjectLock accept an external audit or backup bucket that does not enforce
 *                               S3 Object Lock (refused by default; said at every start)
 */
@ConfigurationProperties("vault.stores")
public record StoresProperties(
        @DefaultValue({"fr-par", "eu-west-3", "fr-*"}) List<String> allowedRegions,
        @DefaultValue("false") boolean allowWithoutObjectLock,
        @DefaultValue Store primary,
        @DefaultValue Store audit,
        @DefaultValue Store backup) {

    /** Which store, with its default bucket and the environment prefix of its credentials. */
    public enum Role {
        PRIMARY("hds-vault-objects", "VAULT_S3_"),
        AUDIT("hds-vault-audit", "VAULT_AUDIT_S3_"),
        BACKUP("hds-vault-backup", "VAULT_BACKUP_S3_");

        final String defaultBucket;
        final String environmentPrefix;

        Role(String defaultBucket, String environmentPrefix) {
            this.defaultBucket = defaultBucket;
            this.environmentPrefix = environmentPrefix;
        }

        public String defaultBucket() {
            return defaultBucket;
        }
    }

    /**
     * One store. {@code trustStore}: a PEM file of CA certificates for an HTTPS endpoint signed
     * by a private CA.
     */
    public record Store(String endpoint, String bucket, @DefaultValue("fr-par") String region, Path credentialsFile,
                        Path trustStore) {
        public boolean external() {
            return endpoint != null && !endpoint.isBlank();
        }
    }

    /** Every store embedded in the data directory, the French regions allowed: the single-node defaults. */
    public static StoresProperties embedded() {
        Store none = new Store(null, null, "fr-par", null, null);
        return new StoresProperties(ResidencyPolicy.FRANCE, false, none, none, none);
    }

    public ResidencyPolicy residency() {
        return ResidencyPolicy.of(allowedRegions);
    }

    public Store store(Role role) {
        return switch (role) {
            case PRIMARY -> primary;
            case AUDIT -> audit.external() ? audit : new Store(primary.endpoint(), audit.bucket(), primary.region(),
                    primary.credentialsFile(), primary.trustStore());
            case BACKUP -> backup;
        };
    }

    public String bucket(Role role) {
        String bucket = store(role).bucket();
        return bucket == null || bucket.isBlank() ? role.defaultBucket : bucket;
    }

    /** The credentials of an external store: its file, else the environment; an error naming both when neither is there. */
    public S3Credentials credentials(Role role, Map<String, String> env) {
        Store store = store(role);
        if (store.credentialsFile() != null) {
            return S3Credentials.fromFile(store.credentialsFile());
        }
        // The audit store on the primary's server uses the primary's credentials unless it has its own.
        String prefix = role == Role.AUDIT && !audit.external() ? Role.PRIMARY.environmentPrefix : role.environmentPrefix;
        return S3Credentials.fromEnvironment(env, prefix).orElseThrow(() -> new IllegalArgumentException(
                "no credentials for the " + role.name().toLowerCase(java.util.Locale.ROOT) + " store at " + store.endpoint()
                        + ": set " + prefix + "ACCESS_KEY and " + prefix + "SECRET_KEY, or vault.stores."
                        + role.name().toLowerCase(java.util.Locale.ROOT) + ".credentials-file (mode 0600)"));
    }
}
