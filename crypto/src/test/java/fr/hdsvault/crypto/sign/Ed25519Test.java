package fr.hdsvault.crypto.sign;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;

class Ed25519Test {
    static final HexFormat HEX = HexFormat.of();

    @Test
    void rfc8032TestVector2() {
        // RFC 8032, section 7.1, TEST 2 (one-byte message 0x72).
        Ed25519.SigningKey key = Ed25519.SigningKey.fromSeed(
                HEX.parseHex("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb"));
        assertThat(HEX.formatHex(key.publicKey()))
                .isEqualTo("3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c");
        byte[] signature = key.sign(new byte[] {0x72});
        assertThat(HEX.formatHex(signature)).isEqualTo("92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
                + "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00");
        assertThat(Ed25519.verify(key.publicKey(), new byte[] {0x72}, signature)).isTrue();
    }

    @Test
    void anyChangeToMessageSignatureOrKeyFailsVerification() {
        Ed25519.SigningKey key = Ed25519.SigningKey.generate();
        byte[] message = "checkpoint\n42\nroot".getBytes(StandardCharsets.UTF_8);
        byte[] signature = key.sign(message);
        assertThat(Ed25519.verify(key.publicKey(), message, signature)).isTrue();

        byte[] otherMessage = message.clone();
        otherMessage[11] ^= 1;
        assertThat(Ed25519.verify(key.publicKey(), otherMessage, signature)).isFalse();
        for (int i = 0; i < signature.length; i += 7) {
            byte[] bad = signature.clone();
            bad[i] ^= 0x40;
            assertThat(Ed25519.verify(key.publicKey(), message, bad)).as("signature byte %d", i).isFalse();
        }
        assertThat(Ed25519.verify(Ed25519.SigningKey.generate().publicKey(), message, signature)).isFalse();
        assertThat(Ed25519.verify(key.publicKey(), message, java.util.Arrays.copyOf(signature, 63))).isFalse();
        assertThat(Ed25519.verify(new byte[31], message, signature)).isFalse();
    }

    @Test
    void aKeyRestoredFromItsSeedSignsTheSame() {
        Ed25519.SigningKey key = Ed25519.SigningKey.generate();
        Ed25519.SigningKey restored = Ed25519.SigningKey.fromSeed(key.seed());
        assertThat(restored.publicKey()).isEqualTo(key.publicKey());
        assertThat(restored.sign(new byte[] {1, 2})).isEqualTo(key.sign(new byte[] {1, 2})); // Ed25519 is deterministic
        assertThat(key.toString()).doesNotContain(HEX.formatHex(key.seed()));
    }
}
