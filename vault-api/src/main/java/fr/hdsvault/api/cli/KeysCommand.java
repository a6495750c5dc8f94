package fr.hdsvault.api.cli;

import fr.hdsvault.api.security.Role;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** {@code vault keys show|rotate-root}: the root key of a running vault, through its /admin API (operators). */
@Command(name = "keys", mixinStandardHelpOptions = true, description = "Show or rotate the root key of a running vault.",
        subcommands = {KeysCommand.Show.class, KeysCommand.RotateRoot.class})
public final class KeysCommand {

    @Command(name = "show", mixinStandardHelpOptions = true, description = "Where the root key lives and its current version.")
    static final class Show implements Callable<Integer> {
        @Spec
        CommandSpec spec;
        @Mixin
        AdminClient client;

        @Override
        public Integer call() throws Exception {
            AdminClient.Answer a = client.send("GET", "/admin/keys/root", Role.OPERATOR, Duration.ofMinutes(1));
            if (a.status() != 200) {
                return BackupCommand.refused(spec, a);
            }
            Map<String, Object> r = a.object();
            return BackupCommand.report(spec, true, "root key: " + r.get("provider") + ", version " + r.get("currentVersion"));
        }
    }

    @Command(name = "rotate-root", mixinStandardHelpOptions = true,
            description = "Create a new root key version (inside the HSM for a PKCS#11 token) and rewrap every key-encryption key "
                    + "under it. Records are not re-encrypted; older versions stay for older backups. Audited.")
    static final class RotateRoot implements Callable<Integer> {
        @Spec
        CommandSpec spec;
        @Mixin
        AdminClient client;

        @Override
        public Integer call() throws Exception {
            AdminClient.Answer a = client.send("POST", "/admin/keys/root/rotate", Role.OPERATOR, Duration.ofHours(1));
            if (a.status() != 200) {
                return BackupCommand.refused(spec, a);
            }
            Map<String, Object> r = a.object();
            return BackupCommand.report(spec, true, "root key rotated: " + r.get("provider") + ", now version " + r.get("currentVersion")
                    + "; " + r.get("rewrapped") + " keys rewrapped, " + r.get("skippedDestroyed") + " destroyed keys skipped");
        }
    }
}
