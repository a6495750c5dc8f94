package fr.hdsvault.crypto;

import java.io.ByteArrayOutputStream;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.security.DrbgParameters;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.Arrays;
import javax.crypto.AEADBadTagException;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;
import org.bouncycastle.crypto.generators.HKDFBytesGenerator;
import org.bouncycastle.crypto.params.HKDFParameters;

/**
 * Seals and opens envelopes (format v1, docs/formats.md): each object gets a fresh 256-bit
 * data key (DEK) wrapped by the KEK of its scope; an encryption key and a commitment value
 * are derived from the DEK with HKDF-SHA256; the body is AES-256-GCM in frames of 64 KiB.
 *
 * <p>Providers by measurement (docs/performance.md): the JDK for AES-GCM, AES-KWP and SHA-256
 * (its intrinsics run 10-30 times faster than pure-Java code), Bouncy Castle for HKDF, which
 * the JDK 17 lacks, run over the JDK's SHA-256.
 */
public final class EnvelopeCipher {

    /** Plaintext bytes per frame; the JDK's GCM runs its fast path up to this size. */
    public static final int FRAME_SIZE = 64 * 1024;
    static final int TAG_LENGTH = 16;
    static final int DEK_LENGTH = 32;
    /** RFC 5649 output for a 32-byte key: 8-byte integrity block plus the key. */
    static final int WRAPPED_DEK_LENGTH = DEK_LENGTH + 8;
    private static final int ENCRYPTED_FRAME = FRAME_SIZE + TAG_LENGTH;
    private static final byte[] KDF_LABEL = "hds-vault envelope v1 keys".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] AAD_LABEL = "hds-vault envelope v1 aad".getBytes(StandardCharsets.US_ASCII);

    private static final ThreadLocal<Cipher> GCM = ThreadLocal.withInitial(() -> cipher("AES/GCM/NoPadding"));
    private static final ThreadLocal<Cipher> KWP = ThreadLocal.withInitial(() -> cipher("AES/KWP/NoPadding"));
    private static final ThreadLocal<SecureRandom> RANDOM = ThreadLocal.withInitial(EnvelopeCipher::drbg);

    private final Keyring keyring;

    public EnvelopeCipher(Keyring keyring) {
        this.keyring = keyring;
    }

    /** What a header tells without any key: used to find envelopes that need a rewrap. */
    public record EnvelopeInfo(String kekId, int kekVersion, int headerLength) {
    }

    public static EnvelopeInfo inspect(byte[] envelope) {
        EnvelopeHeader h = EnvelopeHeader.parse(envelope);
        return new EnvelopeInfo(h.kekId, h.kekVersion, h.bytes.length);
    }

    /** Exact sealed size of a plaintext of the given length under the given KEK id. */
    public static long sealedLength(String kekId, long plaintextLength) {
        long frames = Math.max(1, (plaintextLength + FRAME_SIZE - 1) / FRAME_SIZE);
        int header = EnvelopeHeader.encodedLength(EnvelopeHeader.kekIdBytes(kekId).length, WRAPPED_DEK_LENGTH);
        return header + plaintextLength + frames * TAG_LENGTH;
    }

    // ---------------------------------------------------------------- byte arrays

    public byte[] seal(String kekId, EncryptionContext context, byte[] plaintext) {
        return seal(freshSealer(kekId, context), plaintext);
    }

    /** Deterministic core, package-private for the known-answer test. */
    static byte[] seal(Kek kek, EncryptionContext context, byte[] plaintext, byte[] dek, byte[] nonce) {
        return seal(new Sealer(kek, context, dek, nonce), plaintext);
    }

    private static byte[] seal(Sealer sealer, byte[] plaintext) {
        int length = plaintext.length;
        int frames = Math.max(1, (length + FRAME_SIZE - 1) / FRAME_SIZE);
        byte[] header = sealer.header.bytes;
        byte[] out = new byte[header.length + length + frames * TAG_LENGTH];
        System.arraycopy(header, 0, out, 0, header.length);
        int outOff = header.length;
        for (int i = 0; i < frames; i++) {
            int off = i * FRAME_SIZE;
            int n = Math.min(FRAME_SIZE, length - off);
            outOff += sealer.keys.sealFrame(i, i == frames - 1, plaintext, off, n, out, outOff);
        }
        return out;
    }

    public byte[] open(EncryptionContext context, byte[] envelope) {
        EnvelopeHeader header = EnvelopeHeader.parse(envelope);
        FrameKeys keys = unlock(header, context);
        int bodyOff = header.bytes.length;
        int body = envelope.length - bodyOff;
        int frames = Math.max(1, (body + ENCRYPTED_FRAME - 1) / ENCRYPTED_FRAME);
        int lastLength = body - (frames - 1) * ENCRYPTED_FRAME;
        if (lastLength < TAG_LENGTH) {
            throw new TamperedEnvelopeException("envelope body truncated");
        }
        byte[] out = new byte[body - frames * TAG_LENGTH];
        int outOff = 0;
        for (int i = 0; i < frames; i++) {
            boolean last = i == frames - 1;
            int n = last ? lastLength : ENCRYPTED_FRAME;
            outOff += keys.openFrame(i, last, envelope, bodyOff + i * ENCRYPTED_FRAME, n, out, outOff);
        }
        return out;
    }

    /**
     * Moves an envelope to the newest version of its KEK by rewriting its header only: the
     * DEK is unwrapped with the old version and wrapped with the new one; the body bytes are
     * copied unchanged. Returns the input itself when it is already current.
     */
    public byte[] rewrap(EncryptionContext context, byte[] envelope) {
        EnvelopeHeader header = EnvelopeHeader.parse(envelope);
        EnvelopeHeader newHeader = rewrapHeader(header, context);
        if (newHeader == header) {
            return envelope;
        }
        int bodyLength = envelope.length - header.bytes.length;
        byte[] out = Arrays.copyOf(newHeader.bytes, newHeader.bytes.length + bodyLength);
        System.arraycopy(envelope, header.bytes.length, out, newHeader.bytes.length, bodyLength);
        return out;
    }

    // ---------------------------------------------------------------- streams

    /** An output stream that seals everything written to it into {@code sink}; close it to write the final frame. */
    public OutputStream sealing(String kekId, EncryptionContext context, OutputStream sink) throws IOException {
        Sealer sealer = freshSealer(kekId, context);
        sink.write(sealer.header.bytes);
        return new SealingOutputStream(sink, sealer);
    }

    /**
     * An input stream of the plaintext of the envelope read from {@code source}. The header and
     * keys are checked here; each frame is authenticated before any of its bytes is returned,
     * and a truncated, extended or reordered body fails at the frame where it shows. A reader
     * must treat any exception as "the whole object is invalid".
     */
    public InputStream opening(EncryptionContext context, InputStream source) throws IOException {
        EnvelopeHeader header = EnvelopeHeader.read(source);
        return new OpeningInputStream(source, unlock(header, context));
    }

    /** Streaming rewrap: reads an envelope, writes it with a current header and the same body. Returns bytes written. */
    public long rewrap(EncryptionContext context, InputStream in, OutputStream out) throws IOException {
        EnvelopeHeader header = EnvelopeHeader.read(in);
        byte[] newHeader = rewrapHeader(header, context).bytes;
        out.write(newHeader);
        return newHeader.length + in.transferTo(out);
    }

    // ---------------------------------------------------------------- internals

    private EnvelopeHeader rewrapHeader(EnvelopeHeader header, EncryptionContext context) {
        Kek current = keyring.currentKek(header.kekId);
        if (current.version == header.kekVersion) {
            return header;
        }
        byte[] dek = unwrapAndCommit(header, context).dek;
        try {
            return new EnvelopeHeader(header.kekId, current.version, current.fingerprint,
                    wrapDek(current, dek), header.nonce, header.commitment);
        } finally {
            Arrays.fill(dek, (byte) 0);
        }
    }

    private FrameKeys unlock(EnvelopeHeader header, EncryptionContext context) {
        Unlocked u = unwrapAndCommit(header, context);
        Arrays.fill(u.dek, (byte) 0);
        return new FrameKeys(u.encryptionKey, header.nonce, aadDigest(header, context.encode()));
    }

    private record Unlocked(byte[] dek, SecretKeySpec encryptionKey) {
    }

    /** Unwraps the DEK and checks the key commitment (constant time) before any decryption. */
    private Unlocked unwrapAndCommit(EnvelopeHeader header, EncryptionContext context) {
        Kek kek = keyring.kek(header.kekId, header.kekVersion);
        if (!Arrays.equals(kek.fingerprint, header.kekFingerprint)) {
            throw new WrongKeyException("envelope was sealed under a different key named " + header.kekId
                    + " v" + header.kekVersion + " (fingerprint mismatch: another vault's key registry?)");
        }
        byte[] dek;
        try {
            Cipher kwp = KWP.get();
            kwp.init(Cipher.DECRYPT_MODE, kek.key);
            dek = kwp.doFinal(header.wrappedDek);
        } catch (GeneralSecurityException e) {
            throw new TamperedEnvelopeException("wrapped data key failed its integrity check");
        }
        if (dek.length != DEK_LENGTH) {
            Arrays.fill(dek, (byte) 0);
            throw new TamperedEnvelopeException("wrapped data key has the wrong length");
        }
        byte[] derived = derive(dek, header.nonce, header.kekId, context.encode());
        try {
            if (!MessageDigest.isEqual(Arrays.copyOfRange(derived, DEK_LENGTH, 2 * DEK_LENGTH), header.commitment)) {
                Arrays.fill(dek, (byte) 0);
                throw new TamperedEnvelopeException(
                        "key commitment mismatch: envelope altered, or opened as another resource, version or tenant");
            }
            return new Unlocked(dek, new SecretKeySpec(derived, 0, DEK_LENGTH, "AES"));
        } finally {
            Arrays.fill(derived, (byte) 0);
        }
    }

    /** HKDF-SHA256(ikm = DEK, salt = nonce, info = label | KEK id | context) -> encryption key (32) | commitment (32). */
    static byte[] derive(byte[] dek, byte[] nonce, String kekId, byte[] context) {
        ByteArrayOutputStream info = new ByteArrayOutputStream(KDF_LABEL.length + 64 + context.length);
        info.writeBytes(KDF_LABEL);
        EncryptionContext.writeField(info, kekId);
        info.writeBytes(context);
        HKDFBytesGenerator hkdf = new HKDFBytesGenerator(new JdkSha256Digest());
        hkdf.init(new HKDFParameters(dek, nonce, info.toByteArray()));
        byte[] out = new byte[2 * DEK_LENGTH];
        hkdf.generateBytes(out, 0, out.length);
        return out;
    }

    /** SHA-256(label | invariant header fields | context): bound into every frame's associated data. */
    static byte[] aadDigest(EnvelopeHeader header, byte[] context) {
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            sha.update(AAD_LABEL);
            sha.update(header.invariantPart());
            sha.update(context);
            return sha.digest();
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    static byte[] wrapDek(Kek kek, byte[] dek) {
        try {
            Cipher kwp = KWP.get();
            kwp.init(Cipher.ENCRYPT_MODE, kek.key);
            return kwp.doFinal(dek);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("AES-KWP failed", e);
        }
    }

    /** Per-object state for sealing: the header and the frame keys. */
    private static final class Sealer {
        final EnvelopeHeader header;
        final FrameKeys keys;

        Sealer(Kek kek, EncryptionContext context, byte[] dek, byte[] nonce) {
            byte[] contextBytes = context.encode();
            byte[] derived = derive(dek, nonce, kek.id, contextBytes);
            byte[] commitment = Arrays.copyOfRange(derived, DEK_LENGTH, 2 * DEK_LENGTH);
            header = new EnvelopeHeader(kek.id, kek.version, kek.fingerprint, wrapDek(kek, dek), nonce.clone(), commitment);
            keys = new FrameKeys(new SecretKeySpec(derived, 0, DEK_LENGTH, "AES"), header.nonce, aadDigest(header, contextBytes));
            Arrays.fill(derived, (byte) 0);
        }
    }

    /** Frame i: nonce = header nonce XOR i (last 4 bytes); AAD = digest | i | final flag. */
    private record FrameKeys(SecretKeySpec key, byte[] nonce, byte[] aadDigest) {

        int sealFrame(int index, boolean last, byte[] in, int off, int len, byte[] out, int outOff) {
            try {
                Cipher gcm = GCM.get();
                gcm.init(Cipher.ENCRYPT_MODE, key, new GCMParameterSpec(TAG_LENGTH * 8, frameNonce(index)));
                gcm.updateAAD(frameAad(index, last));
                return gcm.doFinal(in, off, len, out, outOff);
            } catch (GeneralSecurityException e) {
                throw new IllegalStateException("AES-GCM encryption failed", e);
            }
        }

        int openFrame(int index, boolean last, byte[] in, int off, int len, byte[] out, int outOff) {
            try {
                Cipher gcm = GCM.get();
                gcm.init(Cipher.DECRYPT_MODE, key, new GCMParameterSpec(TAG_LENGTH * 8, frameNonce(index)));
                gcm.updateAAD(frameAad(index, last));
                return gcm.doFinal(in, off, len, out, outOff);
            } catch (AEADBadTagException e) {
                throw new TamperedEnvelopeException("frame " + index + " failed authentication"
                        + (last ? " (body altered, truncated or extended)" : " (body altered or reordered)"));
            } catch (GeneralSecurityException e) {
                throw new IllegalStateException("AES-GCM decryption failed", e);
            }
        }

        private byte[] frameNonce(int index) {
            byte[] n = nonce.clone();
            n[8] ^= (byte) (index >>> 24);
            n[9] ^= (byte) (index >>> 16);
            n[10] ^= (byte) (index >>> 8);
            n[11] ^= (byte) index;
            return n;
        }

        private byte[] frameAad(int index, boolean last) {
            byte[] aad = Arrays.copyOf(aadDigest, aadDigest.length + 5);
            int p = aadDigest.length;
            aad[p] = (byte) (index >>> 24);
            aad[p + 1] = (byte) (index >>> 16);
            aad[p + 2] = (byte) (index >>> 8);
            aad[p + 3] = (byte) index;
            aad[p + 4] = (byte) (last ? 1 : 0);
            return aad;
        }
    }

    private static final class SealingOutputStream extends FilterOutputStream {
        private final Sealer sealer;
        private final byte[] buffer = new byte[FRAME_SIZE];
        private final byte[] sealed = new byte[ENCRYPTED_FRAME];
        private int buffered;
        private int frameIndex;
        private boolean closed;

        SealingOutputStream(OutputStream sink, Sealer sealer) {
            super(sink);
            this.sealer = sealer;
        }

        @Override
        public void write(int b) throws IOException {
            write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            if (closed) {
                throw new IOException("sealing stream is closed");
            }
            while (len > 0) {
                // A full buffer is sealed as a non-final frame only once more data arrives.
                if (buffered == FRAME_SIZE) {
                    emit(false);
                }
                int n = Math.min(len, FRAME_SIZE - buffered);
                System.arraycopy(b, off, buffer, buffered, n);
                buffered += n;
                off += n;
                len -= n;
            }
        }

        private void emit(boolean last) throws IOException {
            int n = sealer.keys.sealFrame(frameIndex++, last, buffer, 0, buffered, sealed, 0);
            out.write(sealed, 0, n);
            buffered = 0;
        }

        @Override
        public void flush() throws IOException {
            out.flush(); // buffered plaintext stays until its frame is complete
        }

        @Override
        public void close() throws IOException {
            if (closed) {
                return;
            }
            closed = true;
            try {
                emit(true);
                out.flush();
            } finally {
                Arrays.fill(buffer, (byte) 0);
                out.close();
            }
        }
    }

    private static final class OpeningInputStream extends InputStream {
        private final InputStream in;
        private final FrameKeys keys;
        // One encrypted frame plus one byte of look-ahead, to know whether a frame is the last.
        private final byte[] encrypted = new byte[ENCRYPTED_FRAME + 1];
        private final byte[] plain = new byte[FRAME_SIZE];
        private int carried;
        private int plainPos;
        private int plainLimit;
        private int frameIndex;
        private boolean finished;

        OpeningInputStream(InputStream in, FrameKeys keys) {
            this.in = in;
            this.keys = keys;
        }

        private boolean fill() throws IOException {
            while (plainPos == plainLimit) {
                if (finished) {
                    return false;
                }
                int n = carried + in.readNBytes(encrypted, carried, encrypted.length - carried);
                boolean last = n < encrypted.length;
                int frameLength = last ? n : ENCRYPTED_FRAME;
                if (frameLength < TAG_LENGTH) {
                    throw new TamperedEnvelopeException("envelope body truncated");
                }
                plainLimit = keys.openFrame(frameIndex++, last, encrypted, 0, frameLength, plain, 0);
                plainPos = 0;
                if (last) {
                    finished = true;
                    carried = 0;
                } else {
                    encrypted[0] = encrypted[ENCRYPTED_FRAME];
                    carried = 1;
                }
            }
            return true;
        }

        @Override
        public int read() throws IOException {
            return fill() ? plain[plainPos++] & 0xFF : -1;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (len == 0) {
                return 0;
            }
            if (!fill()) {
                return -1;
            }
            int n = Math.min(len, plainLimit - plainPos);
            System.arraycopy(plain, plainPos, b, off, n);
            plainPos += n;
            return n;
        }

        @Override
        public void close() throws IOException {
            Arrays.fill(plain, (byte) 0);
            in.close();
        }
    }

    /** A fresh DEK and nonce (one DRBG call: each call costs about as much as the bytes) under the current KEK. */
    private Sealer freshSealer(String kekId, EncryptionContext context) {
        byte[] fresh = new byte[DEK_LENGTH + EnvelopeHeader.NONCE_LENGTH];
        RANDOM.get().nextBytes(fresh);
        byte[] dek = Arrays.copyOf(fresh, DEK_LENGTH);
        byte[] nonce = Arrays.copyOfRange(fresh, DEK_LENGTH, fresh.length);
        try {
            return new Sealer(keyring.currentKek(kekId), context, dek, nonce);
        } finally {
            Arrays.fill(fresh, (byte) 0);
            Arrays.fill(dek, (byte) 0);
        }
    }

    private static Cipher cipher(String transformation) {
        try {
            return Cipher.getInstance(transformation);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(transformation + " unavailable in this JDK", e);
        }
    }

    private static SecureRandom drbg() {
        try {
            // NIST SP 800-90A Hash_DRBG at 256-bit strength, one per thread: no lock on the hot path.
            return SecureRandom.getInstance("DRBG",
                    DrbgParameters.instantiation(256, DrbgParameters.Capability.RESEED_ONLY, null));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("DRBG unavailable", e);
        }
    }
}
