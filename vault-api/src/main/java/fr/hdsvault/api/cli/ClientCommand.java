package fr.hdsvault.api.cli;

import fr.hdsvault.api.security.Role;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import tools.jackson.databind.json.JsonMapper;

/**
 * {@code vault client register|list|disable}: the SMART backend clients of a running vault,
 * through its /admin API (operators). Each change is audited.
 */
@Command(name = "client", mixinStandardHelpOptions = true, description = "Register, list or disable SMART backend clients.",
        subcommands = {ClientCommand.Register.class, ClientCommand.ListClients.class, ClientCommand.Disable.class})
public final class ClientCommand {

    private static final JsonMapper JSON = JsonMapper.builder().build();

    @Command(name = "register", mixinStandardHelpOptions = true,
            description = "Register a backend client with its public keys and the system/ scopes it may be granted (read only).")
    static final class Register implements Callable<Integer> {
        @Spec
        CommandSpec spec;
        @Mixin
        AdminClient client;
        @Option(names = "--client-id", required = true, paramLabel = "ID", description = "The client's id (its assertions' iss and sub).")
        String clientId;
        @Option(names = "--scope", required = true, paramLabel = "SCOPES", description = "Allowed scopes, e.g. \"system/*.rs\".")
        String scope;
        @ArgGroup(exclusive = true, multiplicity = "1")
        Keys keys;

        static final class Keys {
            @Option(names = "--jwks", paramLabel = "FILE", description = "The client's public JWK set (RSA 2048+ or EC P-384 keys).")
            Path file;
            @Option(names = "--jwks-url", paramLabel = "URL", description = "Where the client publishes its JWK set (https).")
            String url;
        }

        @Override
        public Integer call() throws Exception {
            Map<String, Object> body = new LinkedHashMap<>();
            body.put("clientId", clientId);
            body.put("scope", scope);
            if (keys.file != null) {
                body.put("jwks", JSON.readValue(Files.readString(keys.file, StandardCharsets.UTF_8), Map.class));
            } else {
                body.put("jwksUrl", keys.url);
            }
            AdminClient.Answer a = client.sendJson("POST", "/admin/clients", Role.OPERATOR, JSON.writeValueAsString(body));
            if (a.status() != 201) {
                return BackupCommand.refused(spec, a);
            }
            return BackupCommand.report(spec, true, "client " + a.object().get("clientId") + " registered, scopes " + a.object().get("scope"));
        }
    }

    @Command(name = "list", mixinStandardHelpOptions = true, description = "List the registered backend clients.")
    static final class ListClients implements Callable<Integer> {
        @Spec
        CommandSpec spec;
        @Mixin
        AdminClient client;

        @Override
        public Integer call() throws Exception {
            AdminClient.Answer a = client.send("GET", "/admin/clients", Role.OPERATOR, Duration.ofMinutes(1));
            if (a.status() != 200) {
                return BackupCommand.refused(spec, a);
            }
            List<Map<String, Object>> clients = a.array();
            StringBuilder text = new StringBuilder(clients.size() + " backend clients");
            for (Map<String, Object> c : clients) {
                text.append(System.lineSeparator()).append(c.get("clientId")).append("  ").append(c.get("scope")).append("  ")
                        .append(Boolean.TRUE.equals(c.get("enabled")) ? "enabled" : "disabled " + c.get("disabledAt"))
                        .append("  registered ").append(c.get("registeredAt")).append(" by ").append(c.get("registeredBy"));
            }
            return BackupCommand.report(spec, true, text.toString());
        }
    }

    @Command(name = "disable", mixinStandardHelpOptions = true,
            description = "Disable a backend client: its assertions are refused at once; tokens it holds expire within 5 minutes.")
    static final class Disable implements Callable<Integer> {
        @Spec
        CommandSpec spec;
        @Mixin
        AdminClient client;
        @Parameters(paramLabel = "ID")
        String clientId;

        @Override
        public Integer call() throws Exception {
            AdminClient.Answer a = client.send("POST", "/admin/clients/" + java.net.URLEncoder.encode(clientId, StandardCharsets.UTF_8)
                    + "/disable", Role.OPERATOR, Duration.ofMinutes(1));
            if (a.status() != 200) {
                return BackupCommand.refused(spec, a);
            }
            return BackupCommand.report(spec, true, "client " + clientId + " disabled");
        }
    }
}
