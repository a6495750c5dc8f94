package fr.hdsvault.api.keys;

import java.nio.file.Path;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;

/**
 * {@code vault.root-key.*}: where the root key lives. Without {@code hsm.library}, a PKCS#12
 * key store in {@code DIR/keys/root.p12} (the single-node default, its passphrase from
 * {@code VAULT_ROOT_PASSPHRASE} or {@code DIR/keys/root.passphrase}); with it, a PKCS#11 token
 * (an HSM), the key generated inside it and never leaving it. The token's PIN comes from
 * {@code VAULT_HSM_PIN} or from {@code hsm.pin-file} (owner-only), never from a command line.
 */
@ConfigurationProperties("vault.root-key")
public record RootKeyProperties(@DefaultValue Hsm hsm) {

    public static final String PIN_VARIABLE = "VAULT_HSM_PIN";

    /** A PKCS#11 token: the module (e.g. /usr/lib/softhsm/libsofthsm2.so), the token's label, the PIN's file. */
    public record Hsm(Path library, String tokenLabel, Path pinFile) {
        public boolean configured() {
            return library != null;
        }
    }
}
