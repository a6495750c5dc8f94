package fr.hdsvault.api.keys;

import fr.hdsvault.api.home.VaultHome;
import fr.hdsvault.crypto.root.Passphrase;
import fr.hdsvault.crypto.root.Pkcs11RootKeyProvider;
import fr.hdsvault.crypto.root.Pkcs12RootKeyProvider;
import fr.hdsvault.crypto.root.RootKeyProvider;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.Map;

/** Opens the root key provider that {@link RootKeyProperties} names, the same way for every command. */
public final class RootKeys {

    private RootKeys() {
    }

    /** The HSM when configured, else the PKCS#12 key store of the data directory (created on first start). */
    public static RootKeyProvider open(RootKeyProperties settings, VaultHome home, Map<String, String> env) {
        return settings.hsm().configured() ? hsm(settings.hsm(), env)
                : Pkcs12RootKeyProvider.openOrCreate(home.keys().resolve("root.p12"), home.rootPassphrase());
    }

    /** A PKCS#11 token: the label is required, the PIN from {@code VAULT_HSM_PIN} or the PIN file. */
    public static RootKeyProvider hsm(RootKeyProperties.Hsm hsm, Map<String, String> env) {
        if (hsm.tokenLabel() == null || hsm.tokenLabel().isBlank()) {
            throw new IllegalArgumentException("vault.root-key.hsm.token-label is required with vault.root-key.hsm.library");
        }
        return Pkcs11RootKeyProvider.open(new Pkcs11RootKeyProvider.Config(hsm.library(), hsm.tokenLabel(), pin(hsm, env)));
    }

    private static char[] pin(RootKeyProperties.Hsm hsm, Map<String, String> env) {
        if (hsm.pinFile() != null) {
            try {
                return Passphrase.fromFile(hsm.pinFile()); // refused unless owner-only
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read the HSM PIN file " + hsm.pinFile(), e);
            }
        }
        String pin = env.get(RootKeyProperties.PIN_VARIABLE);
        if (pin == null || pin.isEmpty()) {
            throw new IllegalArgumentException("no HSM PIN: set " + RootKeyProperties.PIN_VARIABLE
                    + " or vault.root-key.hsm.pin-file (mode 0600)");
        }
        return pin.toCharArray();
    }

    /** A PKCS#12 key store outside the data directory (a restore, from the key's separate custody). */
    public static RootKeyProvider pkcs12(Path keyStore, char[] passphrase) {
        return Pkcs12RootKeyProvider.openOrCreate(keyStore, passphrase);
    }
}
