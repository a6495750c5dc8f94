package fr.hdsvault.api.cli;

import fr.hdsvault.api.security.Role;
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

/** {@code vault erase-patient ID --reason ...}: erases one patient of a running vault (operators; irreversible, audited). */
@Command(name = "erase-patient", mixinStandardHelpOptions = true,
        description = "Erase one patient: its key is destroyed (crypto-shredding), its records and index rows removed; no backup "
                + "restore brings it back. Irreversible.")
public final class ErasePatientCommand implements Callable<Integer> {

    private static final JsonMapper JSON = JsonMapper.builder().build();

    @Spec
    CommandSpec spec;
    @Mixin
    AdminClient client;
    @Parameters(paramLabel = "ID", description = "The Patient's id.")
    String patientId;
    @Option(names = "--reason", required = true, paramLabel = "TEXT", description = "Why (the data controller's decision); audited.")
    String reason;
    @Option(names = "--confirm", paramLabel = "ID", description = "The id again; asked on the terminal when not given.")
    String confirm;

    @Override
    public Integer call() throws Exception {
        String confirmed = AdminClient.confirmation(confirm, "Erasing Patient/" + patientId + " cannot be undone. Type its id again: ");
        if (confirmed == null) {
            return BackupCommand.report(spec, false, "no terminal to confirm on: give --confirm " + patientId);
        }
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("confirm", confirmed);
        body.put("reason", reason);
        AdminClient.Answer a = client.sendJson("POST", "/admin/patients/" + java.net.URLEncoder.encode(patientId,
                java.nio.charset.StandardCharsets.UTF_8) + "/erase", Role.OPERATOR, JSON.writeValueAsString(body));
        if (a.status() != 200) {
            return BackupCommand.refused(spec, a);
        }
        Map<String, Object> r = a.object();
        return BackupCommand.report(spec, true, "Patient/" + patientId + " erased: key " + r.get("keyId") + " destroyed, "
                + r.get("versionsRemoved") + " resource versions and " + r.get("objectsDeleted") + " objects removed");
    }
}
