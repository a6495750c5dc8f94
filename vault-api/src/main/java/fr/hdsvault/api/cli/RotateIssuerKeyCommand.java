package fr.hdsvault.api.cli;

import fr.hdsvault.api.home.VaultHome;
import fr.hdsvault.api.security.TokenIssuer;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/**
 * Rotates the single-node token signing key: new tokens are signed with a new key; a running
 * vault picks it up without a restart and keeps accepting tokens of the previous key until they
 * expire. Prints the new key id.
 */
@Command(name = "rotate-issuer-key", mixinStandardHelpOptions = true,
        description = "Rotate the single-node token signing key (the running vault follows without a restart).")
public final class RotateIssuerKeyCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Mixin
    DataDirOption dataDir;

    @Override
    public Integer call() {
        String keyId = TokenIssuer.forHome(VaultHome.prepare(dataDir.resolve())).rotate();
        spec.commandLine().getOut().println(keyId);
        spec.commandLine().getOut().flush();
        return 0;
    }
}
