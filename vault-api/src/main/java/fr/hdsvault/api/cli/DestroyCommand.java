package fr.hdsvault.api.cli;

import fr.hdsvault.api.audit.AuditKeys;
import fr.hdsvault.api.lifecycle.VaultDestruction;
import fr.hdsvault.api.security.Role;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import tools.jackson.databind.json.JsonMapper;

/**
 * {@code vault destroy --reason ... --certificate FILE}: the end of a contract, every record of a
 * running vault destroyed (operators; irreversible, audited), and the signed certificate written;
 * {@code vault destroy verify FILE --public-key audit-signing.pub} checks a certificate offline.
 */
@Command(name = "destroy", mixinStandardHelpOptions = true, subcommands = DestroyCommand.Verify.class,
        description = "Destroy every record of a running vault (crypto-shredding of every key, records and index rows removed; "
                + "the audit trail stays) and write the signed certificate of destruction. Irreversible.")
public final class DestroyCommand implements Callable<Integer> {

    private static final JsonMapper JSON = JsonMapper.builder().build();

    @Spec
    CommandSpec spec;
    @Mixin
    AdminClient client;
    @Option(names = "--reason", paramLabel = "TEXT", description = "Why (the contract's end); kept as its SHA-256.")
    String reason;
    @Option(names = "--certificate", paramLabel = "FILE", description = "Where to write the signed certificate.")
    Path certificate;
    @Option(names = "--confirm", paramLabel = "VAULT-ID", description = "The vault's id (DIR/vault-id); asked on the terminal when not given.")
    String confirm;

    @Override
    public Integer call() throws Exception {
        // Checked here, not by picocli: "destroy verify" must not need the destruction's options.
        if (reason == null || certificate == null) {
            return BackupCommand.report(spec, false, "destroy needs --reason and --certificate FILE");
        }
        if (Files.exists(certificate)) {
            return BackupCommand.report(spec, false, certificate + " exists: give a new file for the certificate");
        }
        String confirmed = AdminClient.confirmation(confirm, "Destroying every record of this vault cannot be undone. Type the vault's id: ");
        if (confirmed == null) {
            return BackupCommand.report(spec, false, "no terminal to confirm on: give --confirm with the vault's id");
        }
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("confirm", confirmed);
        body.put("reason", reason);
        AdminClient.Answer a = client.sendJson("POST", "/admin/destroy", Role.OPERATOR, JSON.writeValueAsString(body));
        if (a.status() != 200) {
            return BackupCommand.refused(spec, a);
        }
        Files.writeString(certificate, a.body(), StandardCharsets.UTF_8);
        Map<String, Object> fields = JSON.readValue((String) a.object().get("certificate"), Map.class);
        return BackupCommand.report(spec, true, "vault " + fields.get("vault") + " destroyed: " + ((java.util.List<?>) fields
                .get("keysDestroyed")).size() + " keys destroyed, " + fields.get("resourceVersionsRemoved") + " resource versions and "
                + fields.get("objectsDeleted") + " objects removed; signed certificate in " + certificate);
    }

    @Command(name = "verify", mixinStandardHelpOptions = true,
            description = "Check a certificate of destruction offline, with the audit public key you hold.")
    static final class Verify implements Callable<Integer> {
        @Spec
        CommandSpec spec;
        @Parameters(paramLabel = "FILE")
        Path file;
        @Option(names = "--public-key", required = true, paramLabel = "FILE", description = "The audit signing public key (audit-signing.pub).")
        Path publicKey;

        @Override
        public Integer call() throws Exception {
            try {
                Map<String, Object> fields = VaultDestruction.verify(Files.readString(file, StandardCharsets.UTF_8),
                        AuditKeys.readPublic(publicKey));
                return BackupCommand.report(spec, true, "certificate verified: vault " + fields.get("vault") + " destroyed at "
                        + fields.get("finishedAt") + " by " + fields.get("by") + ", " + ((java.util.List<?>) fields.get("keysDestroyed"))
                        .size() + " keys; audit checkpoint:\n" + fields.get("auditCheckpoint"));
            } catch (IllegalArgumentException e) {
                return BackupCommand.report(spec, false, "certificate NOT verified: " + e.getMessage());
            }
        }
    }
}
