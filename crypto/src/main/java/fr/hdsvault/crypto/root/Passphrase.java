package fr.hdsvault.crypto.root;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * Where the passphrase of a PKCS#12 root key store comes from: an environment variable, or a
 * file readable by its owner only. A file that the group or others may read is refused, the
 * way ssh refuses a private key with loose rights.
 */
public final class Passphrase {

    private Passphrase() {
    }

    public static char[] fromEnvironment(Map<String, String> environment, String variable) {
        String value = environment.get(variable);
        if (value == null || value.isEmpty()) {
            throw new IllegalStateException("environment variable " + variable + " is not set");
        }
        return value.toCharArray();
    }

    public static char[] fromFile(Path file) throws IOException {
        OwnerOnlyFiles.requireOwnerOnly(file);
        String value = Files.readString(file, StandardCharsets.UTF_8).strip();
        if (value.isEmpty()) {
            throw new IllegalStateException("passphrase file " + file + " is empty");
        }
        return value.toCharArray();
    }

    /**
     * The environment variable when it is set, else the file; for single-node use the file is
     * created with a random passphrase (0600) on first start.
     */
    public static char[] resolve(Map<String, String> environment, String variable, Path file) throws IOException {
        String value = environment.get(variable);
        if (value != null && !value.isEmpty()) {
            return value.toCharArray();
        }
        if (!Files.exists(file)) {
            byte[] random = new byte[32];
            new java.security.SecureRandom().nextBytes(random);
            String generated = java.util.Base64.getUrlEncoder().withoutPadding().encodeToString(random);
            OwnerOnlyFiles.writeAtomically(file, generated.getBytes(StandardCharsets.UTF_8));
        }
        return fromFile(file);
    }
}
