package fr.hdsvault.api.cli;

import fr.hdsvault.api.audit.AuditKeys;
import fr.hdsvault.api.evidence.ClientChecks;
import fr.hdsvault.api.evidence.EvidenceCheck;
import fr.hdsvault.api.evidence.EvidenceReport;
import fr.hdsvault.api.security.Role;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.LinkedHashMap;
import java.util.List;
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
 * {@code vault evidence --url URL}: the evidence report of a running vault (docs/evidence.md).
 * Makes the client's checks from outside (TLS, access control, traceability), asks the vault for
 * its own and a signature over all of them, then writes the signed report (JSON) and a readable
 * page (HTML) beside it. {@code vault evidence verify FILE} checks a report offline.
 */
@Command(name = "evidence", mixinStandardHelpOptions = true, subcommands = EvidenceCommand.Verify.class,
        description = "Run every evidence check on a running vault (TLS, residency, encryption at rest, integrity, traceability, "
                + "access control, backups, recovery, key management, detection) and write the signed report, JSON and HTML. "
                + "Exit 0 when every check passed, 1 when one failed, 2 when the vault refused. 'evidence verify' checks a report offline.")
public final class EvidenceCommand implements Callable<Integer> {

    private static final JsonMapper JSON = JsonMapper.builder().build();

    @Spec
    CommandSpec spec;
    @Mixin
    AdminClient client;
    @Option(names = "--out", paramLabel = "FILE", description = "The signed report (default: evidence-<time>.json here); the "
            + "readable page is written beside it, .html.")
    Path out;

    @Override
    public Integer call() throws Exception {
        PrintWriter log = spec.commandLine().getOut();
        String base = client.base();
        log.println("evidence: client checks on " + base + " (TLS, access control, traceability)");
        log.flush();
        List<EvidenceCheck> mine = new ClientChecks(base, client.tls(), client.issuer()).run();
        for (EvidenceCheck c : mine) {
            log.println("  " + line(c.passed(), c.id(), c.result()));
        }
        log.println("evidence: the vault's checks and its signature (residency, encryption at rest, integrity, backups, recovery, "
                + "key management, detection)");
        log.flush();
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("target", base);
        body.put("checks", mine.stream().map(EvidenceReport::fields).toList());
        AdminClient.Answer answer = client.sendJson("POST", "/admin/audit/evidence", Role.AUDITOR, JSON.writeValueAsString(body),
                Duration.ofMinutes(10));
        if (answer.status() != 200) {
            return BackupCommand.refused(spec, answer);
        }
        Path file = out != null ? out : Path.of("evidence-" + DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'")
                .withZone(ZoneOffset.UTC).format(Instant.now()) + ".json");
        Files.writeString(file, answer.body(), StandardCharsets.UTF_8);
        Map<String, Object> fields = readFields(answer.body());
        Path html = htmlBeside(file);
        Files.writeString(html, EvidenceReport.html(fields, "Signed by the vault's audit key; check with: vault evidence verify "
                + file.getFileName()), StandardCharsets.UTF_8);
        printChecks(log, fields, true);
        log.println("evidence: report " + file + " (signed, SHA-256 recorded in the audit trail), readable page " + html);
        log.flush();
        return Boolean.TRUE.equals(fields.get("allPassed")) ? 0 : 1;
    }

    /** The vault's checks as the report lists them (the client's were printed as they ran). */
    @SuppressWarnings("unchecked")
    static void printChecks(PrintWriter log, Map<String, Object> fields, boolean vaultOnly) {
        for (Map<String, Object> c : (List<Map<String, Object>>) fields.get("checks")) {
            if (!vaultOnly || EvidenceCheck.VAULT.equals(c.get("observer"))) {
                log.println("  " + line(Boolean.TRUE.equals(c.get("passed")), (String) c.get("id"), (String) c.get("result")));
            }
        }
        log.println("evidence: " + fields.get("passed") + " checks passed, " + fields.get("failed") + " failed");
    }

    private static String line(boolean passed, String id, String result) {
        return (passed ? "PASS " : "FAIL ") + String.format("%-18s ", id) + result;
    }

    /** The report's fields, read from the signed text (not checked here: the vault just sent it over TLS). */
    @SuppressWarnings("unchecked")
    private static Map<String, Object> readFields(String signedFile) {
        return JSON.readValue((String) JSON.readValue(signedFile, Map.class).get("certificate"), Map.class);
    }

    static Path htmlBeside(Path json) {
        String name = json.getFileName().toString();
        return json.resolveSibling((name.endsWith(".json") ? name.substring(0, name.length() - 5) : name) + ".html");
    }

    @Command(name = "verify", mixinStandardHelpOptions = true,
            description = "Check an evidence report's signature offline with the vault's audit public key and print its checks. "
                    + "Exit 0 when the signature is valid (whatever the checks found), 1 when it is not.")
    static final class Verify implements Callable<Integer> {
        @Spec
        CommandSpec spec;
        @Mixin
        DataDirOption dataDir;
        @Parameters(paramLabel = "FILE")
        Path file;
        @Option(names = "--public-key", paramLabel = "FILE", description = "The vault's audit public key (base64), obtained from its "
                + "host beforehand. Default: DIR/keys/" + AuditKeys.PUBLIC_FILE + ".")
        Path publicKey;

        @Override
        public Integer call() throws Exception {
            byte[] key = AuditKeys.readPublic(publicKey != null ? publicKey : dataDir.resolve().resolve("keys").resolve(AuditKeys.PUBLIC_FILE));
            Map<String, Object> fields;
            try {
                fields = EvidenceReport.verify(Files.readString(file, StandardCharsets.UTF_8), key);
            } catch (IllegalArgumentException e) {
                return BackupCommand.report(spec, false, file + ": " + e.getMessage());
            }
            PrintWriter log = spec.commandLine().getOut();
            log.println(file + ": signature valid; vault " + fields.get("vaultId") + ", generated " + fields.get("generatedAt")
                    + " for " + fields.get("requestedBy") + "; SHA-256 of the signed report "
                    + fr.hdsvault.api.lifecycle.SignedStatement.sha256(((String) JSON.readValue(Files.readString(file), Map.class)
                    .get("certificate")).getBytes(StandardCharsets.UTF_8)));
            printChecks(log, fields, false);
            log.flush();
            return 0;
        }
    }
}
