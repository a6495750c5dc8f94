package fr.hdsvault.crypto;

import static org.assertj.core.api.Assertions.assertThat;

import fr.hdsvault.crypto.root.Pkcs12RootKeyProvider;
import fr.hdsvault.crypto.root.RootKeyProvider;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The test vector of docs/formats.md: fixed KEK, DEK and nonce give exactly these bytes, and
 * the document shows the same hex, so format, code and documentation cannot drift apart.
 */
class KnownAnswerTest {

    static final HexFormat HEX = HexFormat.of();
    static final byte[] KEK = sequence(0x00);
    static final byte[] DEK = sequence(0x20);
    static final byte[] NONCE = HEX.parseHex("a0a1a2a3a4a5a6a7a8a9aaab");
    static final EncryptionContext CONTEXT = new EncryptionContext("tenant-1", "Patient", "example", "1");
    static final byte[] PLAINTEXT = "{\"resourceType\":\"Patient\",\"id\":\"example\"}".getBytes(StandardCharsets.UTF_8);

    static final String EXPECTED = "4844534501010073056b656b2d31000000016015b7c7aa3d22662892f48c52045c08050ec796a5a91c5ddaf7c61cbdc940adc8d3dc8a144f6161a8c5d3299e325f1750a0a1a2a3a4a5a6a7a8a9aaaba13b91cf53d9816f0057c6af749d9543cc2be536e5c8fa4f31c58e38a3670043037b97bd235896ebab691dc5d346f55c3e43153678864ca9dc7ce2b56da9e2a779dc9420ea053ec4ad93931b4ab0b60ea42ce7048be9e27e31c47cd387";

    static byte[] sequence(int first) {
        byte[] b = new byte[32];
        for (int i = 0; i < b.length; i++) {
            b[i] = (byte) (first + i);
        }
        return b;
    }

    @Test
    void fixedKeysAndNonceGiveTheDocumentedBytes() {
        byte[] sealed = EnvelopeCipher.seal(new Kek("kek-1", 1, KEK), CONTEXT, PLAINTEXT, DEK, NONCE);
        assertThat(HEX.formatHex(sealed)).isEqualTo(EXPECTED);
    }

    @Test
    void intermediateValuesAreTheDocumentedOnes() throws Exception {
        String doc = Files.readString(Path.of("..", "docs", "formats.md"));
        String contextHex = HEX.formatHex(CONTEXT.encode());
        assertThat(contextHex).isEqualTo("000874656e616e742d31000750617469656e7400076578616d706c65000131");
        byte[] derived = EnvelopeCipher.derive(DEK, NONCE, "kek-1", CONTEXT.encode());
        String encryptionKey = HEX.formatHex(derived, 0, 32);
        String commitment = HEX.formatHex(derived, 32, 64);
        EnvelopeHeader h = EnvelopeHeader.parse(HEX.parseHex(EXPECTED));
        String aad = HEX.formatHex(EnvelopeCipher.aadDigest(h, CONTEXT.encode()));
        assertThat(encryptionKey).isEqualTo("a0ce8e9c3607490610ccb405f7f5e8269334ef1c24740fd540071d42bcac86e4");
        assertThat(commitment).isEqualTo(HEX.formatHex(h.commitment));
        assertThat(aad).isEqualTo("3e120e999701d2c0184e8c95cecde4818f5a3c97c1eeda38c247f4123bf42da7");
        assertThat(HEX.formatHex(h.kekFingerprint)).isEqualTo("6015b7c7aa3d2266");
        for (String value : new String[] {contextHex, encryptionKey, commitment, aad, HEX.formatHex(h.wrappedDek)}) {
            assertThat(doc).as("docs/formats.md shows " + value).contains(value);
        }
    }

    @Test
    void theDocumentedVectorOpensWithTheDocumentedKek(@TempDir Path dir) {
        RootKeyProvider root = Pkcs12RootKeyProvider.openOrCreate(dir.resolve("root.p12"), "p".toCharArray());
        InMemoryKekRegistry registry = new InMemoryKekRegistry();
        RootKeyProvider.Wrapped wrapped = root.wrap(KEK);
        registry.insert(new KekRecord("kek-1", 1, wrapped.rootKeyVersion(), wrapped.bytes(), Instant.now(), null));
        EnvelopeCipher cipher = new EnvelopeCipher(new Keyring(root, registry));
        assertThat(cipher.open(CONTEXT, HEX.parseHex(EXPECTED))).isEqualTo(PLAINTEXT);
    }

    @Test
    void docsFormatsShowsTheSameVector() throws Exception {
        Path doc = Path.of("..", "docs", "formats.md");
        String text = Files.readString(doc).replaceAll("\\s+", "");
        assertThat(text).contains(EXPECTED);
    }
}
