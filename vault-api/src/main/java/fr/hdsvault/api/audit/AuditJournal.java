package fr.hdsvault.api.audit;

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.CRC32C;
import org.h2.store.fs.FilePath;

/**
 * Makes a group of audit events durable with one small write and one {@code fdatasync}, so
 * that a read or a search need not wait for the embedded database to store and force its
 * pages (about 1 ms each on the machines measured, docs/performance.md). Used on H2 only, for groups
 * whose requests changed nothing in the index (GET and HEAD); every other group, and every
 * second while this journal holds events, forces H2 itself, after which the journal starts
 * again from its beginning. On start-up the trail replays what the journal holds and H2 lost
 * ({@link AuditTrail}), before anything else reads or appends to the log.
 *
 * <p>Format (docs/audit.md, "Journal"): a file of fixed length, zero-filled when created so
 * that later writes change no file metadata. Records follow one another from offset 0:
 * {@code magic "HDSJ", generation (8), length (4), CRC-32C of generation and body (4), body}.
 * A generation is random, drawn at each restart of the journal: records left further on by an
 * earlier generation end the replay like a torn or zeroed record does. The body is a group:
 * its first position, the log's root before it (so a journal replays only onto the trail it
 * continues), and each leaf's stored columns.
 */
final class AuditJournal implements AutoCloseable {

    static final long DEFAULT_LENGTH = 32L << 20;
    private static final int MAGIC = 0x4844534A; // "HDSJ"
    private static final int HEADER = 4 + 8 + 4 + 4;

    /** A group as it was appended: its first position, the log's root before it, its leaves. */
    record Group(long first, byte[] rootBefore, List<AuditLeaf> leaves) {
    }

    private final FileChannel channel;
    private final long length;
    private final SecureRandom random = new SecureRandom();
    private long generation;
    private long position;

    private AuditJournal(FileChannel channel, long length) {
        this.channel = channel;
        this.length = length;
    }

    /**
     * The journal beside an H2 database file ({@code vault.mv.db} gives {@code vault.audit-journal}),
     * opened through H2's file systems so that it lives wherever the database does; created
     * zero-filled, forced, and its directory forced, when missing.
     */
    static AuditJournal beside(String h2StoreFile, long length) {
        String name = h2StoreFile.replaceFirst("\\.mv\\.db$", "") + ".audit-journal";
        FilePath file = FilePath.get(name);
        try {
            boolean created = !file.exists();
            FileChannel channel = file.open("rw");
            if (created || channel.size() < length) {
                ByteBuffer zeros = ByteBuffer.allocate(1 << 20);
                for (long at = channel.size(); at < length; at += zeros.capacity()) {
                    zeros.clear().limit((int) Math.min(zeros.capacity(), length - at));
                    channel.write(zeros, at);
                }
                channel.force(true);
                Path disk = Path.of(file.unwrap().toString()).toAbsolutePath();
                if (created && disk.getFileSystem().supportedFileAttributeViews().contains("posix")) {
                    // owner-only like the index files (VaultHome): the directory is 0700 anyway, this keeps a copy private
                    Files.setPosixFilePermissions(disk, PosixFilePermissions.fromString("rw-------"));
                }
                forceDirectory(disk.getParent());
            }
            return new AuditJournal(channel, Math.max(length, channel.size()));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot open the audit journal", e);
        }
    }

    private static void forceDirectory(Path dir) {
        try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
            d.force(true);
        } catch (IOException notSupportedHere) {
            // some systems cannot open a directory; the file's own force then has to do
        }
    }

    /** Every group of the current generation, in order; stops at the first record that is torn, zeroed or older. */
    List<Group> read() {
        List<Group> groups = new ArrayList<>();
        long at = 0;
        Long gen = null;
        try {
            while (at + HEADER <= length) {
                ByteBuffer header = ByteBuffer.allocate(HEADER);
                channel.read(header, at);
                header.flip();
                if (header.remaining() < HEADER || header.getInt() != MAGIC) {
                    break;
                }
                long g = header.getLong();
                int size = header.getInt();
                int crc = header.getInt();
                if (gen != null && g != gen || size <= 0 || at + HEADER + size > length) {
                    break;
                }
                ByteBuffer body = ByteBuffer.allocate(size);
                channel.read(body, at + HEADER);
                if (body.position() < size || crc(g, body.array()) != crc) {
                    break;
                }
                gen = g;
                groups.add(decode(body.array()));
                at += HEADER + size;
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the audit journal", e);
        }
        return groups;
    }

    /** Starts a new generation from offset 0: call once everything the journal holds is durable elsewhere. */
    void restart() {
        generation = random.nextLong();
        position = 0;
    }

    /** Bytes appended since the last restart. */
    long used() {
        return position;
    }

    /**
     * Appends a group and forces it to disk; false, writing nothing, when it does not fit
     * (the caller then forces the database and restarts the journal).
     */
    boolean append(Group group) {
        byte[] body = encode(group);
        if (position + HEADER + body.length > length) {
            return false;
        }
        ByteBuffer record = ByteBuffer.allocate(HEADER + body.length);
        record.putInt(MAGIC).putLong(generation).putInt(body.length).putInt(crc(generation, body)).put(body).flip();
        try {
            long at = position;
            while (record.hasRemaining()) {
                at += channel.write(record, at);
            }
            channel.force(false); // the file's length never changes: its data is all there is to force
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the audit journal", e);
        }
        position += HEADER + body.length;
        return true;
    }

    @Override
    public void close() {
        try {
            channel.close();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot close the audit journal", e);
        }
    }

    private static int crc(long generation, byte[] body) {
        CRC32C c = new CRC32C();
        c.update(ByteBuffer.allocate(8).putLong(0, generation));
        c.update(body);
        return (int) c.getValue();
    }

    private static byte[] encode(Group group) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(512 * group.leaves().size());
        try (DataOutputStream out = new DataOutputStream(bytes)) {
            out.writeLong(group.first());
            writeBytes(out, group.rootBefore());
            out.writeInt(group.leaves().size());
            for (AuditLeaf leaf : group.leaves()) {
                out.writeLong(leaf.seq());
                out.writeLong(leaf.recordedAt().toEpochMilli());
                out.writeUTF(leaf.action());
                out.writeInt(leaf.outcome());
                writeString(out, leaf.subtype());
                writeString(out, leaf.agentToken());
                writeString(out, leaf.patientToken());
                writeString(out, leaf.entityToken());
                writeBytes(out, leaf.envelope());
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return bytes.toByteArray();
    }

    private static Group decode(byte[] body) throws IOException {
        DataInputStream in = new DataInputStream(new java.io.ByteArrayInputStream(body));
        long first = in.readLong();
        byte[] rootBefore = readBytes(in);
        int count = in.readInt();
        List<AuditLeaf> leaves = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            leaves.add(new AuditLeaf(in.readLong(), Instant.ofEpochMilli(in.readLong()), in.readUTF(), in.readInt(), readString(in),
                    readString(in), readString(in), readString(in), readBytes(in)));
        }
        return new Group(first, rootBefore, leaves);
    }

    private static void writeString(DataOutputStream out, String s) throws IOException {
        out.writeBoolean(s != null);
        if (s != null) {
            out.writeUTF(s);
        }
    }

    private static String readString(DataInputStream in) throws IOException {
        return in.readBoolean() ? in.readUTF() : null;
    }

    private static void writeBytes(DataOutputStream out, byte[] b) throws IOException {
        out.writeInt(b.length);
        out.write(b);
    }

    private static byte[] readBytes(DataInputStream in) throws IOException {
        byte[] b = new byte[in.readInt()];
        in.readFully(b);
        return b;
    }
}
