package fr.hdsvault.api.bulk;

import fr.hdsvault.crypto.EncryptionContext;
import fr.hdsvault.crypto.EnvelopeCipher;
import fr.hdsvault.crypto.Keyring;
import fr.hdsvault.storage.ObjectStore;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestOutputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;

/**
 * An export's files in the object store, each sealed as it is written under the export's own
 * key (one KEK per export, never a patient's): the files hold many patients' data in clear
 * NDJSON once opened, so they are encrypted at rest like records, and destroying the export's
 * key when the files expire or the export is cancelled makes every copy unreadable, including
 * copies in a locked bucket or a backup. A file is sealed into a temporary local file as its
 * lines come (constant memory), then uploaded with its checksum; object keys say nothing but
 * the job and a sequence number.
 */
final class ExportFiles {

    static final String CONTEXT_TYPE = "bulk-export";

    private final ObjectStore store;
    private final String bucket;
    private final EnvelopeCipher envelopes;
    private final Keyring keyring;
    private final String tenant;
    private final Path temporary;

    ExportFiles(ObjectStore store, String bucket, EnvelopeCipher envelopes, Keyring keyring, String tenant, Path temporary) {
        this.store = store;
        this.bucket = bucket;
        this.envelopes = envelopes;
        this.keyring = keyring;
        this.tenant = tenant;
        this.temporary = temporary;
    }

    static String objectKey(String jobId, int seq) {
        return "exports/" + jobId + "/" + seq;
    }

    /** A file being written: lines of NDJSON, sealed to a local temporary file. */
    final class Writer implements AutoCloseable {
        final int seq;
        final String type;
        final String kind;
        private final String jobId;
        private final Path file;
        private final MessageDigest clear = sha256();
        private final MessageDigest sealed = sha256();
        private final OutputStream out;
        private final Set<String> compartments = new LinkedHashSet<>();
        private long lines;
        private long bytes;

        Writer(String jobId, String kekId, int seq, String type, String kind) {
            this.jobId = jobId;
            this.seq = seq;
            this.type = type;
            this.kind = kind;
            try {
                Files.createDirectories(temporary);
                this.file = Files.createTempFile(temporary, "export-", ".sealed");
                OutputStream sink = new DigestOutputStream(new BufferedOutputStream(Files.newOutputStream(file), 64 * 1024), sealed);
                this.out = new DigestOutputStream(envelopes.sealing(kekId, context(jobId, seq), sink), clear);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot write an export file to the temporary directory", e);
            }
        }

        /** One resource: its JSON on one line; {@code compartment} is the patient it belongs to, or null. */
        void add(byte[] json, String compartment) {
            try {
                out.write(json);
                out.write('\n');
            } catch (IOException e) {
                throw new UncheckedIOException("cannot write an export file to the temporary directory", e);
            }
            lines++;
            bytes += json.length + 1;
            if (compartment != null && compartment.startsWith("Patient/")) {
                compartments.add(compartment);
            }
        }

        long lines() {
            return lines;
        }

        long bytes() {
            return bytes;
        }

        Set<String> compartments() {
            return compartments;
        }

        /** Seals the last frame and uploads the file; the record of it is the job's to write. */
        ExportJobs.File upload() {
            try {
                out.close();
                String key = objectKey(jobId, seq);
                try (InputStream in = Files.newInputStream(file)) {
                    store.put(bucket, key, in, Files.size(file), HexFormat.of().formatHex(sealed.digest()), Map.of());
                }
                return new ExportJobs.File(seq, type, kind, key, lines, HexFormat.of().formatHex(clear.digest()));
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read back a sealed export file", e);
            } finally {
                close();
            }
        }

        @Override
        public void close() {
            try {
                out.close();
            } catch (IOException ignored) {
                // the file is deleted below either way
            }
            try {
                Files.deleteIfExists(file);
            } catch (IOException ignored) {
                // a temporary file: the directory is cleared on start
            }
        }
    }

    Writer writer(String jobId, String kekId, int seq, String type, String kind) {
        return new Writer(jobId, kekId, seq, type, kind);
    }

    /** The clear NDJSON of a file, authenticated frame by frame as it is read. */
    InputStream open(String jobId, ExportJobs.File file) throws IOException {
        return envelopes.opening(context(jobId, file.seq()), store.get(bucket, file.objectKey()));
    }

    /** Crypto-shreds the export (its key), then deletes its objects. */
    void destroy(String jobId, String kekId, Iterable<ExportJobs.File> files) {
        keyring.destroyKek(kekId);
        for (ExportJobs.File f : files) {
            store.delete(bucket, f.objectKey());
        }
    }

    /** Clears temporary files a stopped node left behind. */
    void clearTemporary() {
        if (!Files.isDirectory(temporary)) {
            return;
        }
        try (var files = Files.list(temporary)) {
            files.filter(f -> f.getFileName().toString().startsWith("export-")).forEach(f -> {
                try {
                    Files.deleteIfExists(f);
                } catch (IOException ignored) {
                    // tried again on the next start
                }
            });
        } catch (IOException ignored) {
            // tried again on the next start
        }
    }

    private EncryptionContext context(String jobId, int seq) {
        return new EncryptionContext(tenant, CONTEXT_TYPE, jobId, String.valueOf(seq));
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
