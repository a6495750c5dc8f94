package fr.hdsvault.crypto;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import org.bouncycastle.crypto.ExtendedDigest;

/**
 * Bouncy Castle's {@code Digest} interface over the JDK's SHA-256, so that Bouncy Castle's
 * HKDF (which the JDK 17 lacks) runs on the JDK's SHA-256 (which uses the CPU's SHA
 * extensions where present). Measured in EnvelopeOverheadBenchmark: HKDF-SHA256 with 64 bytes
 * of output took about 8 us with Bouncy Castle's pure-Java SHA-256, see docs/performance.md.
 */
final class JdkSha256Digest implements ExtendedDigest {

    private final MessageDigest sha256;

    JdkSha256Digest() {
        try {
            sha256 = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 unavailable", e);
        }
    }

    @Override
    public String getAlgorithmName() {
        return "SHA-256";
    }

    @Override
    public int getDigestSize() {
        return 32;
    }

    @Override
    public int getByteLength() {
        return 64; // SHA-256 block size, which HMAC needs
    }

    @Override
    public void update(byte in) {
        sha256.update(in);
    }

    @Override
    public void update(byte[] in, int inOff, int len) {
        sha256.update(in, inOff, len);
    }

    @Override
    public int doFinal(byte[] out, int outOff) {
        byte[] digest = sha256.digest(); // also resets
        System.arraycopy(digest, 0, out, outOff, digest.length);
        return digest.length;
    }

    @Override
    public void reset() {
        sha256.reset();
    }
}
