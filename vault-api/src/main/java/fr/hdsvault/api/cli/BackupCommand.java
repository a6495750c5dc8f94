package fr.hdsvault.api.cli;

import fr.hdsvault.api.security.Role;
import java.io.PrintWriter;
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

/** {@code vault backup run|list|verify}: the backup operations of a running vault, through its /admin API. */
@Command(name = "backup", mixinStandardHelpOptions = true, description = "Back up a running vault, list and verify its backup sets.",
        subcommands = {BackupCommand.Run.class, BackupCommand.ListSets.class, BackupCommand.Verify.class})
public final class BackupCommand {

    /** Exit codes: 0 done, 1 the operation failed (backup failed, set does not verify), 2 the vault refused or did not answer. */
    static int report(CommandSpec spec, boolean ok, String text) {
        PrintWriter out = ok ? spec.commandLine().getOut() : spec.commandLine().getErr();
        out.println(text);
        out.flush();
        return ok ? 0 : 1;
    }

    static int refused(CommandSpec spec, AdminClient.Answer answer) {
        spec.commandLine().getErr().println("the vault answered " + answer.status() + ": " + answer.body());
        spec.commandLine().getErr().flush();
        return 2;
    }

    @Command(name = "run", mixinStandardHelpOptions = true, description = "Run a backup now and print its summary.")
    static final class Run implements Callable<Integer> {
        @Spec
        CommandSpec spec;
        @Mixin
        AdminClient client;
        @Option(names = "--json", description = "Print the summary as JSON.")
        boolean json;

        @Override
        public Integer call() throws Exception {
            AdminClient.Answer a = client.send("POST", "/admin/backups", Role.OPERATOR, Duration.ofHours(12));
            if (a.status() != 200 && a.status() != 500) {
                return refused(spec, a);
            }
            Map<String, Object> s = a.object();
            boolean ok = "complete".equals(s.get("status"));
            String text = json ? a.body() : ok
                    ? String.format("backup %s complete: %s objects (%s bytes), %s copied, %s bytes written, in %s ms",
                    s.get("id"), s.get("objects"), s.get("bytes"), s.get("objectsCopied"), s.get("bytesCopied"), s.get("durationMillis"))
                    : "backup " + s.get("id") + " FAILED: " + s.get("error");
            return report(spec, ok, text);
        }
    }

    @Command(name = "list", mixinStandardHelpOptions = true, description = "List the backup sets, oldest first.")
    static final class ListSets implements Callable<Integer> {
        @Spec
        CommandSpec spec;
        @Mixin
        AdminClient client;

        @Override
        public Integer call() throws Exception {
            AdminClient.Answer a = client.send("GET", "/admin/backups", Role.OPERATOR, Duration.ofMinutes(5));
            if (a.status() != 200) {
                return refused(spec, a);
            }

            StringBuilder text = new StringBuilder(String.format("%-24s %-10s %-26s %10s %14s", "ID", "STATUS", "POINT IN TIME",
                    "OBJECTS", "BYTES"));
            for (Map<String, Object> s : a.array()) {
                text.append(String.format("%n%-24s %-10s %-26s %10s %14s", s.get("id"), s.get("status"), s.get("pointInTime"),
                        s.get("objects"), s.get("bytes")));
            }
            return report(spec, true, text.toString());
        }
    }

    @Command(name = "verify", mixinStandardHelpOptions = true,
            description = "Verify a backup set: signature, every item hash, every object (with --read-data: read and decrypted).")
    static final class Verify implements Callable<Integer> {
        @Spec
        CommandSpec spec;
        @Mixin
        AdminClient client;
        @Parameters(paramLabel = "ID", description = "The set id (see `vault backup list`).")
        String id;
        @Option(names = "--read-data", description = "Read every object and open it with its keys.")
        boolean readData;

        @Override
        public Integer call() throws Exception {
            AdminClient.Answer a = client.send("GET", "/admin/backups/" + id + "/verify?readData=" + readData, Role.OPERATOR,
                    Duration.ofHours(12));
            if (a.status() != 200) {
                return refused(spec, a);
            }
            Map<String, Object> r = a.object();
            boolean ok = Boolean.TRUE.equals(r.get("ok"));
            StringBuilder text = new StringBuilder(ok
                    ? "backup " + id + " verified: " + r.get("itemsChecked") + " items, " + r.get("objectsChecked") + " objects"
                    + (readData ? " read and decrypted" : " present with their hashes")
                    : "backup " + id + " FAILED verification: " + r.get("failureCount") + " problem(s)");
            for (Object f : (List<?>) r.get("failures")) {
                Map<?, ?> failure = (Map<?, ?>) f;
                text.append("\n  ").append(failure.get("item")).append(failure.get("objectKey") == null ? "" : " " + failure.get("objectKey"))
                        .append(": ").append(failure.get("problem"));
            }
            return report(spec, ok, text.toString());
        }
    }
}
