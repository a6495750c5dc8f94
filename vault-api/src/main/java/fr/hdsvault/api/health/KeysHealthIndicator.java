package fr.hdsvault.api.health;

import fr.hdsvault.crypto.root.RootKeyProvider;
import org.springframework.boot.health.contributor.AbstractHealthIndicator;
import org.springframework.boot.health.contributor.Health;

/** Ready when the root key provider can wrap and unwrap (an HSM that stopped answering is not ready). */
public final class KeysHealthIndicator extends AbstractHealthIndicator {

    private final RootKeyProvider root;

    public KeysHealthIndicator(RootKeyProvider root) {
        this.root = root;
    }

    @Override
    protected void doHealthCheck(Health.Builder builder) {
        byte[] probe = new byte[32];
        RootKeyProvider.Wrapped wrapped = root.wrap(probe);
        byte[] back = root.unwrap(wrapped.rootKeyVersion(), wrapped.bytes());
        if (java.util.Arrays.equals(probe, back)) {
            builder.up();
        } else {
            builder.down();
        }
    }
}
