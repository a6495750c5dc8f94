package fr.hdsvault.crypto.root;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;

/**
 * Secrets on disk: written with owner-only rights from the first byte, flushed, then renamed
 * into place atomically; read only when nobody but their owner may read them (as ssh refuses a
 * private key with loose rights).
 */
public final class OwnerOnlyFiles {

    private OwnerOnlyFiles() {
    }

    /** Refuses a secret file that its group or others may read or write. */
    public static void requireOwnerOnly(Path file) throws IOException {
        java.util.Set<java.nio.file.attribute.PosixFilePermission> permissions = Files.getPosixFilePermissions(file);
        permissions.removeAll(java.util.EnumSet.of(java.nio.file.attribute.PosixFilePermission.OWNER_READ,
                java.nio.file.attribute.PosixFilePermission.OWNER_WRITE));
        if (!permissions.isEmpty()) {
            throw new IllegalStateException("refusing " + file + ": its rights are "
                    + PosixFilePermissions.toString(Files.getPosixFilePermissions(file))
                    + "; it must be readable by its owner only (chmod 600)");
        }
    }

    public static void writeAtomically(Path target, byte[] content) throws IOException {
        Path dir = target.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        Path tmp = Files.createTempFile(dir, "." + target.getFileName(), ".tmp",
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        try {
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
                ByteBuffer buf = ByteBuffer.wrap(content);
                while (buf.hasRemaining()) {
                    ch.write(buf);
                }
                ch.force(true);
            }
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
                d.force(true); // make the rename itself durable
            }
        } finally {
            Files.deleteIfExists(tmp);
        }
    }
}
