package fr.hdsvault.crypto;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HexFormat;
import org.bouncycastle.crypto.digests.SHA256Digest;
import org.bouncycastle.crypto.generators.HKDFBytesGenerator;
import org.bouncycastle.crypto.params.HKDFParameters;
import org.junit.jupiter.api.Test;

/** HKDF over the JDK's SHA-256 gives RFC 5869's answers, the same as over Bouncy Castle's. */
class JdkSha256DigestTest {
    static final HexFormat HEX = HexFormat.of();

    static byte[] hkdf(org.bouncycastle.crypto.Digest digest, byte[] ikm, byte[] salt, byte[] info, int length) {
        HKDFBytesGenerator g = new HKDFBytesGenerator(digest);
        g.init(new HKDFParameters(ikm, salt, info));
        byte[] out = new byte[length];
        g.generateBytes(out, 0, length);
        return out;
    }

    @Test
    void rfc5869TestCase1() {
        byte[] ikm = HEX.parseHex("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b");
        byte[] salt = HEX.parseHex("000102030405060708090a0b0c");
        byte[] info = HEX.parseHex("f0f1f2f3f4f5f6f7f8f9");
        String okm = "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865";
        assertThat(HEX.formatHex(hkdf(new JdkSha256Digest(), ikm, salt, info, 42))).isEqualTo(okm);
        assertThat(HEX.formatHex(hkdf(new SHA256Digest(), ikm, salt, info, 42))).isEqualTo(okm);
    }

    @Test
    void agreesWithBouncyCastleOnLongerInputs() {
        byte[] ikm = new byte[80];
        byte[] salt = new byte[80];
        byte[] info = new byte[200];
        for (int i = 0; i < 200; i++) {
            info[i] = (byte) i;
            if (i < 80) {
                ikm[i] = (byte) (i * 7);
                salt[i] = (byte) (i * 13);
            }
        }
        assertThat(hkdf(new JdkSha256Digest(), ikm, salt, info, 82)).isEqualTo(hkdf(new SHA256Digest(), ikm, salt, info, 82));
    }
}
