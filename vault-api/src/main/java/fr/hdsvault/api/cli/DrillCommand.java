package fr.hdsvault.api.cli;

import fr.hdsvault.api.security.Role;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code vault drill run|list|show}: restore drills of a running vault, through its /admin API. */
@Command(name = "drill", mixinStandardHelpOptions = true, description = "Run restore drills and read their reports.",
        subcommands = {DrillCommand.Run.class, DrillCommand.ListDrills.class, DrillCommand.Show.class})
public final class DrillCommand {

    @Command(name = "run", mixinStandardHelpOptions = true,
            description = "Restore the latest (or a chosen) backup set into scratch space, check it, print the report. "
                    + "Exit 0 when the drill passed, 1 when it failed.")
    static final class Run implements Callable<Integer> {
        @Spec
        CommandSpec spec;
        @Mixin
        AdminClient client;
        @Option(names = "--backup", paramLabel = "ID", description = "The set to drill (default: the latest complete set).")
        String backupId;
        @Option(names = "--json", description = "Print the report as JSON.")
        boolean json;

        @Override
        public Integer call() throws Exception {
            AdminClient.Answer a = client.send("POST", "/admin/restore-drills" + (backupId == null ? "" : "?backupId=" + backupId),
                    Role.OPERATOR, Duration.ofHours(12));
            if (a.status() != 200) {
                return BackupCommand.refused(spec, a);
            }
            Map<String, Object> report = a.object();
            boolean passed = "passed".equals(report.get("status"));
            String text = json ? a.body() : client.sendText("/admin/restore-drills/" + report.get("id"), Role.OPERATOR).body();
            return BackupCommand.report(spec, passed, text.strip());
        }
    }

    @Command(name = "list", mixinStandardHelpOptions = true, description = "List recent restore drills, newest first.")
    static final class ListDrills implements Callable<Integer> {
        @Spec
        CommandSpec spec;
        @Mixin
        AdminClient client;

        @Override
        public Integer call() throws Exception {
            AdminClient.Answer a = client.send("GET", "/admin/restore-drills", Role.OPERATOR, Duration.ofMinutes(1));
            if (a.status() != 200) {
                return BackupCommand.refused(spec, a);
            }
            StringBuilder text = new StringBuilder(String.format("%-30s %-8s %-24s %10s %10s %8s", "ID", "STATUS", "BACKUP", "RTO (s)",
                    "RPO (s)", "FAILURES"));
            for (Map<String, Object> d : a.array()) {
                text.append(String.format("%n%-30s %-8s %-24s %10s %10s %8s", d.get("id"), d.get("status"), d.get("backupId"),
                        d.get("rtoSeconds"), d.get("rpoSeconds"), ((List<?>) d.get("failures")).size()));
            }
            return BackupCommand.report(spec, true, text.toString());
        }
    }

    @Command(name = "show", mixinStandardHelpOptions = true, description = "Print one drill's report (text).")
    static final class Show implements Callable<Integer> {
        @Spec
        CommandSpec spec;
        @Mixin
        AdminClient client;
        @Parameters(paramLabel = "ID")
        String id;

        @Override
        public Integer call() throws Exception {
            AdminClient.Answer a = client.sendText("/admin/restore-drills/" + id, Role.OPERATOR);
            if (a.status() != 200) {
                return BackupCommand.refused(spec, a);
            }
            return BackupCommand.report(spec, true, a.body().strip());
        }
    }
}
