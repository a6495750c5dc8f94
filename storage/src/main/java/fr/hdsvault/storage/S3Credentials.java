package fr.hdsvault.storage;

import java.io.IOException;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.EnumSet;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;

/**
 * An S3 access key pair. {@link #toString()} hides the secret. Credentials come from the
 * environment or from an owner-only file, never from a command line (which other users of the
 * host can read in the process list).
 */
public record S3Credentials(String accessKey, String secretKey) {

    public S3Credentials {
        if (accessKey == null || accessKey.isBlank() || secretKey == null || secretKey.isBlank()) {
            throw new IllegalArgumentException("S3 credentials need an access key and a secret key");
        }
    }

    /**
     * Reads a file of two lines, {@code access-key=...} and {@code secret-key=...} (Java
     * properties syntax); refused unless only its owner may read it (0600 or 0400).
     */
    public static S3Credentials fromFile(Path file) {
        try {
            Set<PosixFilePermission> loose = EnumSet.of(PosixFilePermission.GROUP_READ, PosixFilePermission.GROUP_WRITE,
                    PosixFilePermission.GROUP_EXECUTE, PosixFilePermission.OTHERS_READ, PosixFilePermission.OTHERS_WRITE,
                    PosixFilePermission.OTHERS_EXECUTE);
            Set<PosixFilePermission> actual = Files.getPosixFilePermissions(file);
            actual.retainAll(loose);
            if (!actual.isEmpty()) {
                throw new IllegalArgumentException("S3 credentials file " + file + " is readable by others: chmod 600 it");
            }
            Properties p = new Properties();
            try (Reader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
                p.load(in);
            }
            String access = p.getProperty("access-key");
            String secret = p.getProperty("secret-key");
            if (access == null || secret == null) {
                throw new IllegalArgumentException("S3 credentials file " + file + " needs access-key= and secret-key= lines");
            }
            return new S3Credentials(access.strip(), secret.strip());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the S3 credentials file " + file, e);
        }
    }

    /** {@code <prefix>ACCESS_KEY} and {@code <prefix>SECRET_KEY} from the environment, when both are set. */
    public static Optional<S3Credentials> fromEnvironment(Map<String, String> env, String prefix) {
        String access = env.get(prefix + "ACCESS_KEY");
        String secret = env.get(prefix + "SECRET_KEY");
        if (access == null || access.isBlank() || secret == null || secret.isBlank()) {
            return Optional.empty();
        }
        return Optional.of(new S3Credentials(access.strip(), secret.strip()));
    }

    @Override
    public String toString() {
        return "S3Credentials[" + accessKey + ", secret hidden]";
    }
}
