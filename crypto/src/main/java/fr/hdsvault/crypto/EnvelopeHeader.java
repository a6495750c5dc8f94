package fr.hdsvault.crypto;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.zip.CRC32C;

/**
 * Envelope header, format version 1 (docs/formats.md is the normative description):
 *
 * <pre>
 * magic "HDSE" | version u8 | algorithm u8 | header length u16
 * | KEK id length u8 | KEK id | KEK version u32 | KEK fingerprint (8)
 * | wrapped DEK length u8 | wrapped DEK | nonce (12) | commitment (32) | CRC-32C u32
 * </pre>
 *
 * The CRC-32C is not a security mechanism (the commitment and the GCM tags are); it lets a
 * damaged header be reported as tampering rather than as a wrong key or an unknown version.
 */
final class EnvelopeHeader {
    static final byte[] MAGIC = {'H', 'D', 'S', 'E'};
    static final int FORMAT_VERSION = 1;
    /** AES-256-GCM in 64 KiB frames, HKDF-SHA256 key derivation and commitment, DEK wrapped with AES-KWP. */
    static final int ALG_AES256GCM_HKDF_SHA256 = 1;
    static final int PREFIX_LENGTH = 8;
    static final int NONCE_LENGTH = 12;
    static final int COMMITMENT_LENGTH = 32;
    static final int CRC_LENGTH = 4;
    private static final int MIN_LENGTH = PREFIX_LENGTH + 1 + 1 + 4 + Kek.FINGERPRINT_LENGTH + 1 + 1
            + NONCE_LENGTH + COMMITMENT_LENGTH + CRC_LENGTH;

    final String kekId;
    final int kekVersion;
    final byte[] kekFingerprint;
    final byte[] wrappedDek;
    final byte[] nonce;
    final byte[] commitment;
    /** The encoded header, exactly as it is (or will be) stored. */
    final byte[] bytes;

    EnvelopeHeader(String kekId, int kekVersion, byte[] kekFingerprint, byte[] wrappedDek, byte[] nonce, byte[] commitment) {
        this.kekId = kekId;
        this.kekVersion = kekVersion;
        this.kekFingerprint = kekFingerprint;
        this.wrappedDek = wrappedDek;
        this.nonce = nonce;
        this.commitment = commitment;
        this.bytes = encode();
    }

    static byte[] kekIdBytes(String kekId) {
        byte[] id = kekId.getBytes(StandardCharsets.UTF_8);
        if (id.length == 0 || id.length > 255) {
            throw new IllegalArgumentException("KEK id must be 1 to 255 UTF-8 bytes");
        }
        return id;
    }

    /** Encoded header length for a KEK id and a wrapped DEK of these sizes (the 2 is the minimum of both). */
    static int encodedLength(int kekIdLength, int wrappedDekLength) {
        return MIN_LENGTH - 2 + kekIdLength + wrappedDekLength;
    }

    private byte[] encode() {
        byte[] id = kekIdBytes(kekId);
        int length = encodedLength(id.length, wrappedDek.length);
        ByteArrayOutputStream out = new ByteArrayOutputStream(length);
        out.writeBytes(MAGIC);
        out.write(FORMAT_VERSION);
        out.write(ALG_AES256GCM_HKDF_SHA256);
        writeU16(out, length);
        out.write(id.length);
        out.writeBytes(id);
        writeU32(out, kekVersion);
        out.writeBytes(kekFingerprint);
        out.write(wrappedDek.length);
        out.writeBytes(wrappedDek);
        out.writeBytes(nonce);
        out.writeBytes(commitment);
        CRC32C crc = new CRC32C();
        crc.update(out.toByteArray());
        writeU32(out, (int) crc.getValue());
        byte[] encoded = out.toByteArray();
        if (encoded.length != length) {
            throw new IllegalStateException("header length mismatch");
        }
        return encoded;
    }

    /**
     * The header fields a rewrap leaves unchanged, which the key derivation and every frame's
     * associated data bind: magic, version, algorithm, KEK id, nonce, commitment.
     */
    byte[] invariantPart() {
        byte[] id = kekIdBytes(kekId);
        ByteArrayOutputStream out = new ByteArrayOutputStream(64 + id.length);
        out.writeBytes(MAGIC);
        out.write(FORMAT_VERSION);
        out.write(ALG_AES256GCM_HKDF_SHA256);
        out.write(id.length);
        out.writeBytes(id);
        out.writeBytes(nonce);
        out.writeBytes(commitment);
        return out.toByteArray();
    }

    /** Reads and checks a header at the start of {@code envelope}. */
    static EnvelopeHeader parse(byte[] envelope) {
        if (envelope.length < PREFIX_LENGTH) {
            throw new TamperedEnvelopeException("envelope shorter than its header");
        }
        int length = headerLength(envelope);
        if (envelope.length < length) {
            throw new TamperedEnvelopeException("envelope shorter than its header");
        }
        return parseChecked(Arrays.copyOf(envelope, length));
    }

    /** Reads exactly one header from a stream. */
    static EnvelopeHeader read(InputStream in) throws IOException {
        byte[] prefix = in.readNBytes(PREFIX_LENGTH);
        if (prefix.length < PREFIX_LENGTH) {
            throw new TamperedEnvelopeException("envelope shorter than its header");
        }
        int length = headerLength(prefix);
        byte[] header = Arrays.copyOf(prefix, length);
        if (in.readNBytes(header, PREFIX_LENGTH, length - PREFIX_LENGTH) != length - PREFIX_LENGTH) {
            throw new TamperedEnvelopeException("envelope shorter than its header");
        }
        return parseChecked(header);
    }

    /** Header length from the 8-byte prefix, after checking the magic number. */
    static int headerLength(byte[] prefix) {
        for (int i = 0; i < MAGIC.length; i++) {
            if (prefix[i] != MAGIC[i]) {
                throw new TamperedEnvelopeException("not an hds-vault envelope (bad magic number)");
            }
        }
        int length = ((prefix[6] & 0xFF) << 8) | (prefix[7] & 0xFF);
        if (length < MIN_LENGTH) {
            throw new TamperedEnvelopeException("header length field is corrupt");
        }
        return length;
    }

    private static EnvelopeHeader parseChecked(byte[] h) {
        int length = h.length;
        CRC32C crc = new CRC32C();
        crc.update(h, 0, length - CRC_LENGTH);
        if ((int) crc.getValue() != readU32(h, length - CRC_LENGTH)) {
            throw new TamperedEnvelopeException("header checksum mismatch: the header was altered or damaged");
        }
        int version = h[4] & 0xFF;
        int algorithm = h[5] & 0xFF;
        if (version != FORMAT_VERSION || algorithm != ALG_AES256GCM_HKDF_SHA256) {
            throw new UnsupportedEnvelopeException("envelope format version " + version + ", algorithm " + algorithm
                    + " is not supported (this build reads version 1, algorithm 1)");
        }
        int p = PREFIX_LENGTH;
        int idLength = h[p++] & 0xFF;
        int wrappedAt = p + idLength + 4 + Kek.FINGERPRINT_LENGTH;
        if (idLength == 0 || wrappedAt >= length) {
            throw new TamperedEnvelopeException("header fields overrun the header");
        }
        String kekId = new String(h, p, idLength, StandardCharsets.UTF_8);
        p += idLength;
        int kekVersion = readU32(h, p);
        p += 4;
        byte[] fingerprint = Arrays.copyOfRange(h, p, p + Kek.FINGERPRINT_LENGTH);
        p += Kek.FINGERPRINT_LENGTH;
        int wrappedLength = h[p++] & 0xFF;
        if (p + wrappedLength + NONCE_LENGTH + COMMITMENT_LENGTH + CRC_LENGTH != length) {
            throw new TamperedEnvelopeException("header fields do not add up to the header length");
        }
        byte[] wrapped = Arrays.copyOfRange(h, p, p + wrappedLength);
        p += wrappedLength;
        byte[] nonce = Arrays.copyOfRange(h, p, p + NONCE_LENGTH);
        p += NONCE_LENGTH;
        byte[] commitment = Arrays.copyOfRange(h, p, p + COMMITMENT_LENGTH);
        EnvelopeHeader header = new EnvelopeHeader(kekId, kekVersion, fingerprint, wrapped, nonce, commitment);
        if (!Arrays.equals(header.bytes, h)) {
            throw new TamperedEnvelopeException("header is not in canonical form");
        }
        return header;
    }

    private static void writeU16(ByteArrayOutputStream out, int v) {
        out.write(v >>> 8);
        out.write(v);
    }

    static void writeU32(ByteArrayOutputStream out, int v) {
        out.write(v >>> 24);
        out.write(v >>> 16);
        out.write(v >>> 8);
        out.write(v);
    }

    static int readU32(byte[] b, int off) {
        return ((b[off] & 0xFF) << 24) | ((b[off + 1] & 0xFF) << 16) | ((b[off + 2] & 0xFF) << 8) | (b[off + 3] & 0xFF);
    }
}
