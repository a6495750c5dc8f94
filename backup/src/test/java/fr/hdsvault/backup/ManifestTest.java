package fr.hdsvault.backup;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import fr.hdsvault.crypto.sign.Ed25519;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The manifest's text round-trips; its signature fails for any other byte or any other key. */
class ManifestTest {

    static Manifest sample() {
        return new Manifest("20261128T020000Z-3f9a1c", "vault-1", Instant.parse("2026-11-28T02:00:00.123Z"),
                Instant.parse("2026-11-28T02:00:00.101Z"), 5, 12, 3456,
                List.of(new Manifest.Item("index", "a".repeat(64), 10), new Manifest.Item("objects", "b".repeat(64), 20)));
    }

    @Test
    void rendersAndParsesBack() {
        assertThat(Manifest.parse(sample().render())).isEqualTo(sample());
    }

    @Test
    void malformedManifestsAreRefused() {
        String text = new String(sample().render(), StandardCharsets.UTF_8);
        for (String bad : List.of(text.replace("hds-vault backup set 1", "hds-vault backup set 2"),
                text.replace("item index", "item INDEX"), text.replace("objects 12 3456", "objects twelve"), text.strip())) {
            assertThatThrownBy(() -> Manifest.parse(bad.getBytes(StandardCharsets.UTF_8))).isInstanceOf(BackupException.class);
        }
    }

    @Test
    void theSignatureCoversEveryByteAndNamesItsKey() {
        Ed25519.SigningKey key = Ed25519.SigningKey.generate();
        byte[] manifest = sample().render();
        byte[] signature = ManifestSignature.sign(manifest, key);
        assertThat(ManifestSignature.verify(manifest, signature, key.publicKey())).isTrue();
        byte[] altered = manifest.clone();
        altered[altered.length - 2] ^= 1;
        assertThat(ManifestSignature.verify(altered, signature, key.publicKey())).isFalse();
        Ed25519.SigningKey other = Ed25519.SigningKey.generate();
        assertThat(ManifestSignature.verify(manifest, ManifestSignature.sign(manifest, other), key.publicKey())).isFalse();
    }
}
