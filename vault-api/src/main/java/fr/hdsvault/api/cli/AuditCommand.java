package fr.hdsvault.api.cli;

import fr.hdsvault.api.audit.AuditConfig;
import fr.hdsvault.api.audit.AuditKeys;
import fr.hdsvault.api.audit.AuditVerifier;
import fr.hdsvault.api.home.VaultHome;
import fr.hdsvault.api.storage.StoresProperties;
import fr.hdsvault.api.storage.VaultStores;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.jdbc.datasource.SingleConnectionDataSource;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code vault audit verify}: checks the whole audit trail of a stopped vault against its signed checkpoints. */
@Command(name = "audit", mixinStandardHelpOptions = true, description = "Inspect the audit trail.",
        subcommands = {AuditCommand.Verify.class})
public final class AuditCommand {

    @Command(name = "verify", mixinStandardHelpOptions = true,
            description = "Recompute the audit tree from the stored events and check every signed checkpoint, in the database "
                    + "and in the audit bucket (one to one). Exit 0 with a one-line summary, or 1 naming the first divergent position.")
    static final class Verify implements Callable<Integer> {

        @Spec
        CommandSpec spec;

        @Mixin
        DataDirOption dataDir;

        @Mixin
        ConfigOptions config;

        @Option(names = "--index-url", paramLabel = "JDBC",
                description = "The index database (default: the data directory's H2; or $VAULT_INDEX_URL).")
        String indexUrl;

        @Option(names = "--public-key", paramLabel = "FILE",
                description = "The trusted checkpoint public key (base64). Default: DIR/keys/" + AuditKeys.PUBLIC_FILE
                        + "; keep a copy outside the vault's host as your trust anchor.")
        Path publicKey;

        @Option(names = "--trusted-checkpoint", paramLabel = "FILE",
                description = "A checkpoint note saved earlier (GET /admin/audit/checkpoints): also prove the trail only grew "
                        + "from it, which detects a rollback even when every later checkpoint was deleted.")
        Path trustedCheckpoint;

        @Option(names = "--url", paramLabel = "URL",
                description = "Verify a running vault through its API instead (e.g. https://localhost:8443), with --token.")
        String url;

        @Option(names = "--token", paramLabel = "JWT", description = "An auditor's bearer token, for --url.")
        String token;

        @Override
        public Integer call() throws Exception {
            Path dir = dataDir.resolve();
            String trusted = trustedCheckpoint == null ? null : Files.readString(trustedCheckpoint, StandardCharsets.UTF_8);
            if (url != null) {
                return remote(dir, trusted);
            }
            VaultHome home = VaultHome.prepare(dir);
            String url = indexUrl != null ? indexUrl : System.getenv().getOrDefault("VAULT_INDEX_URL",
                    home.h2Url() + ";ACCESS_MODE_DATA=r");
            boolean h2 = url.startsWith("jdbc:h2:");
            SingleConnectionDataSource db = new SingleConnectionDataSource(url,
                    h2 ? "sa" : System.getenv().getOrDefault("VAULT_INDEX_USER", ""),
                    h2 ? "" : System.getenv().getOrDefault("VAULT_INDEX_PASSWORD", ""), true);
            // The audit bucket is read through the S3 API, as the vault reads it: the configured store (external, or the
            // data directory's embedded one), its region checked first. No root key is needed: only the public key.
            try (VaultStores stores = VaultStores.of(config.bind(dir, "vault.stores", StoresProperties.class), home)) {
                VaultStores.StoreBucket audit = stores.requireResident(StoresProperties.Role.AUDIT);
                AuditVerifier.Result result = new AuditVerifier(new JdbcTemplate(db),
                        AuditKeys.readPublic(publicKey != null ? publicKey : home.keys().resolve(AuditKeys.PUBLIC_FILE)),
                        AuditConfig.KEY_NAME, audit.store(), audit.bucket()).verify(trusted);
                (result.ok() ? spec.commandLine().getOut() : spec.commandLine().getErr()).println(result.message());
                spec.commandLine().getOut().flush();
                spec.commandLine().getErr().flush();
                return result.ok() ? 0 : 1;
            } finally {
                db.destroy();
            }
        }

        /** The same verification, run by the vault on its live database: GET (or POST with the trusted note) /admin/audit/verify. */
        private int remote(Path dir, String trusted) throws Exception {
            if (token == null) {
                throw new picocli.CommandLine.ParameterException(spec.commandLine(), "--url needs --token (an auditor's)");
            }
            java.net.http.HttpClient http = java.net.http.HttpClient.newBuilder()
                    .sslContext(fr.hdsvault.crypto.pki.DevPki.clientContext(dir.resolve("tls").resolve(fr.hdsvault.crypto.pki.DevPki.CA_CERT)))
                    .connectTimeout(java.time.Duration.ofSeconds(10)).build();
            java.net.http.HttpRequest.Builder request = java.net.http.HttpRequest.newBuilder(
                            java.net.URI.create(url.replaceAll("/+$", "") + "/admin/audit/verify"))
                    .header("Authorization", "Bearer " + token).timeout(java.time.Duration.ofMinutes(10));
            if (trusted != null) {
                request.header("Content-Type", "text/plain").POST(java.net.http.HttpRequest.BodyPublishers.ofString(trusted));
            }
            java.net.http.HttpResponse<String> r = http.send(request.build(), java.net.http.HttpResponse.BodyHandlers.ofString());
            if (r.statusCode() != 200) {
                spec.commandLine().getErr().println("the vault answered " + r.statusCode() + ": " + r.body());
                spec.commandLine().getErr().flush();
                return 2;
            }
            java.util.Map<String, Object> result = com.nimbusds.jose.util.JSONObjectUtils.parse(r.body());
            boolean ok = Boolean.TRUE.equals(result.get("ok"));
            (ok ? spec.commandLine().getOut() : spec.commandLine().getErr()).println(result.get("message"));
            spec.commandLine().getOut().flush();
            spec.commandLine().getErr().flush();
            return ok ? 0 : 1;
        }
    }
}
