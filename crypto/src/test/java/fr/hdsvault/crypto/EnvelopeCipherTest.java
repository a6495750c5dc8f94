package fr.hdsvault.crypto;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class EnvelopeCipherTest {

    static final EncryptionContext CTX = new EncryptionContext("tenant-a", "Observation", "obs-secret-42", "1");
    static final String KEK = "kek-7f3a";

    @TempDir
    Path dir;
    Keyring keyring;
    EnvelopeCipher cipher;

    @BeforeEach
    void setUp() {
        keyring = TestKeys.keyring(dir);
        cipher = new EnvelopeCipher(keyring);
    }

    static byte[] random(int size, long seed) {
        byte[] b = new byte[size];
        new Random(seed).nextBytes(b);
        return b;
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 1, 1024, 65535, 65536, 65537, 131072, 1 << 20, 16 << 20})
    void roundTripsBytesAndStreams(int size) throws IOException {
        byte[] plaintext = random(size, size);
        byte[] sealed = cipher.seal(KEK, CTX, plaintext);
        assertThat(sealed.length).isEqualTo(EnvelopeCipher.sealedLength(KEK, size));
        assertThat(cipher.open(CTX, sealed)).isEqualTo(plaintext);

        ByteArrayOutputStream streamed = new ByteArrayOutputStream();
        try (OutputStream out = cipher.sealing(KEK, CTX, streamed)) {
            // Odd write sizes cross frame boundaries at arbitrary offsets.
            for (int off = 0; off < size; off += 7919) {
                out.write(plaintext, off, Math.min(7919, size - off));
            }
        }
        assertThat(streamed.size()).isEqualTo(sealed.length);
        assertThat(cipher.open(CTX, streamed.toByteArray())).isEqualTo(plaintext);
        try (InputStream in = cipher.opening(CTX, new ByteArrayInputStream(sealed))) {
            assertThat(in.readAllBytes()).isEqualTo(plaintext);
        }
    }

    @Test
    void sealingTheSamePlaintextTwiceGivesUnrelatedCiphertexts() {
        byte[] plaintext = "same".getBytes(StandardCharsets.UTF_8);
        byte[] a = cipher.seal(KEK, CTX, plaintext);
        byte[] b = cipher.seal(KEK, CTX, plaintext);
        int header = EnvelopeCipher.inspect(a).headerLength();
        assertThat(Arrays.copyOfRange(a, header, a.length)).isNotEqualTo(Arrays.copyOfRange(b, header, b.length));
    }

    @Test
    void flippingAnySingleByteOfASmallEnvelopeIsTampering() {
        byte[] sealed = cipher.seal(KEK, CTX, random(300, 1));
        for (int i = 0; i < sealed.length; i++) {
            for (int bit : new int[] {0x01, 0x80}) {
                byte[] copy = sealed.clone();
                copy[i] ^= (byte) bit;
                int position = i;
                assertThatThrownBy(() -> cipher.open(CTX, copy))
                        .as("byte %d of %d flipped with %02x", position, sealed.length, bit)
                        .isInstanceOf(TamperedEnvelopeException.class);
            }
        }
    }

    @Test
    void flippingRandomBytesOfAMultiFrameEnvelopeIsTamperingInBothApis() {
        byte[] sealed = cipher.seal(KEK, CTX, random(3 * EnvelopeCipher.FRAME_SIZE + 100, 2));
        Random positions = new Random(3);
        for (int n = 0; n < 200; n++) {
            byte[] copy = sealed.clone();
            int i = positions.nextInt(copy.length);
            copy[i] ^= (byte) (1 + positions.nextInt(255));
            assertThatThrownBy(() -> cipher.open(CTX, copy)).as("byte %d", i).isInstanceOf(TamperedEnvelopeException.class);
            assertThatThrownBy(() -> {
                try (InputStream in = cipher.opening(CTX, new ByteArrayInputStream(copy))) {
                    in.readAllBytes();
                }
            }).as("stream, byte %d", i).isInstanceOf(TamperedEnvelopeException.class);
        }
    }

    @Test
    void truncatedExtendedAndReorderedBodiesAreTampering() {
        byte[] sealed = cipher.seal(KEK, CTX, random(2 * EnvelopeCipher.FRAME_SIZE + 10, 4));
        int header = EnvelopeCipher.inspect(sealed).headerLength();
        int frame = EnvelopeCipher.FRAME_SIZE + EnvelopeCipher.TAG_LENGTH;
        byte[] withoutLastFrame = Arrays.copyOf(sealed, header + 2 * frame);
        byte[] oneByteShort = Arrays.copyOf(sealed, sealed.length - 1);
        byte[] headerOnly = Arrays.copyOf(sealed, header);
        byte[] extended = Arrays.copyOf(sealed, sealed.length + 1);
        byte[] swapped = sealed.clone();
        System.arraycopy(sealed, header, swapped, header + frame, frame);
        System.arraycopy(sealed, header + frame, swapped, header, frame);
        byte[] duplicatedFrame = concat(Arrays.copyOf(sealed, header + frame), Arrays.copyOfRange(sealed, header, sealed.length));
        for (byte[] bad : new byte[][] {withoutLastFrame, oneByteShort, headerOnly, extended, swapped, duplicatedFrame}) {
            assertThatThrownBy(() -> cipher.open(CTX, bad)).isInstanceOf(TamperedEnvelopeException.class);
            assertThatThrownBy(() -> cipher.opening(CTX, new ByteArrayInputStream(bad)).readAllBytes())
                    .isInstanceOf(TamperedEnvelopeException.class);
        }
        assertThatThrownBy(() -> cipher.open(CTX, Arrays.copyOf(sealed, 5))).isInstanceOf(TamperedEnvelopeException.class);
    }

    @Test
    void anEnvelopeOpenedAsAnotherResourceVersionTypeOrTenantFails() {
        byte[] sealed = cipher.seal(KEK, CTX, random(500, 5));
        for (EncryptionContext other : new EncryptionContext[] {
                new EncryptionContext("tenant-b", "Observation", "obs-secret-42", "1"),
                new EncryptionContext("tenant-a", "Condition", "obs-secret-42", "1"),
                new EncryptionContext("tenant-a", "Observation", "obs-secret-43", "1"),
                new EncryptionContext("tenant-a", "Observation", "obs-secret-42", "2")}) {
            assertThatThrownBy(() -> cipher.open(other, sealed))
                    .isInstanceOf(TamperedEnvelopeException.class)
                    .hasMessageContaining("commitment")
                    .hasMessageNotContaining("obs-secret");
        }
    }

    @Test
    void aWrappedKeySplicedFromAnotherEnvelopeFailsEvenWithTheChecksumRepaired() {
        byte[] victim = cipher.seal(KEK, CTX, random(100, 6));
        EncryptionContext otherCtx = new EncryptionContext("tenant-a", "Observation", "obs-other", "1");
        byte[] donor = cipher.seal(KEK, otherCtx, random(100, 7));
        EnvelopeHeader v = EnvelopeHeader.parse(victim);
        EnvelopeHeader d = EnvelopeHeader.parse(donor);
        // An attacker who knows the format rebuilds a well-formed header with the donor's wrapped DEK.
        EnvelopeHeader forged = new EnvelopeHeader(v.kekId, v.kekVersion, v.kekFingerprint, d.wrappedDek, v.nonce, v.commitment);
        byte[] spliced = concat(forged.bytes, Arrays.copyOfRange(victim, v.bytes.length, victim.length));
        assertThatThrownBy(() -> cipher.open(CTX, spliced)).isInstanceOf(TamperedEnvelopeException.class)
                .hasMessageContaining("commitment");
        // And the whole donor envelope presented as the victim fails too.
        assertThatThrownBy(() -> cipher.open(CTX, donor)).isInstanceOf(TamperedEnvelopeException.class);
    }

    @Test
    void anotherVaultsKeyOfTheSameNameIsAWrongKeyNotTampering(@TempDir Path otherDir) {
        byte[] sealed = cipher.seal(KEK, CTX, random(100, 8));
        EnvelopeCipher otherVault = new EnvelopeCipher(TestKeys.keyring(otherDir));
        otherVault.seal(KEK, CTX, new byte[1]); // the other vault has its own KEK under the same id
        assertThatThrownBy(() -> otherVault.open(CTX, sealed)).isInstanceOf(WrongKeyException.class)
                .hasMessageContaining("fingerprint");
        EnvelopeCipher emptyVault = new EnvelopeCipher(TestKeys.keyring(otherDir.resolve("empty")));
        assertThatThrownBy(() -> emptyVault.open(CTX, sealed)).isInstanceOf(WrongKeyException.class)
                .hasMessageContaining("not in this key registry");
    }

    @Test
    void aDestroyedKekShredsEveryEnvelopeUnderItAndOnlyThose() {
        byte[] v1 = cipher.seal(KEK, CTX, random(100, 9));
        keyring.rotateKek(KEK);
        byte[] v2 = cipher.seal(KEK, CTX, random(100, 10));
        byte[] otherPatient = cipher.seal("kek-other", CTX, random(100, 11));
        assertThat(keyring.destroyKek(KEK)).isEqualTo(2);
        for (byte[] shredded : new byte[][] {v1, v2}) {
            assertThatThrownBy(() -> cipher.open(CTX, shredded)).isInstanceOf(KeyDestroyedException.class)
                    .hasMessageContaining("permanently unreadable");
        }
        assertThatThrownBy(() -> cipher.seal(KEK, CTX, new byte[1])).isInstanceOf(KeyDestroyedException.class);
        assertThatThrownBy(() -> keyring.rotateKek(KEK)).isInstanceOf(KeyDestroyedException.class);
        assertThat(cipher.open(CTX, otherPatient)).hasSize(100);
    }

    @Test
    void anUnknownFormatVersionWithAValidChecksumIsUnsupportedNotTampering() {
        byte[] sealed = cipher.seal(KEK, CTX, random(10, 12));
        int header = EnvelopeCipher.inspect(sealed).headerLength();
        sealed[4] = 2;
        CRC32C crc = new CRC32C();
        crc.update(sealed, 0, header - 4);
        int v = (int) crc.getValue();
        sealed[header - 4] = (byte) (v >>> 24);
        sealed[header - 3] = (byte) (v >>> 16);
        sealed[header - 2] = (byte) (v >>> 8);
        sealed[header - 1] = (byte) v;
        assertThatThrownBy(() -> cipher.open(CTX, sealed)).isInstanceOf(UnsupportedEnvelopeException.class)
                .hasMessageContaining("version 2");
    }

    @Test
    void kekRotationKeepsOldEnvelopesReadableAndRewrapMovesThemOffTheOldVersion() throws IOException {
        byte[] plaintext = random(3 * EnvelopeCipher.FRAME_SIZE, 13);
        byte[] underV1 = cipher.seal(KEK, CTX, plaintext);
        byte[] alsoV1 = cipher.seal(KEK, CTX, plaintext);
        assertThat(keyring.rotateKek(KEK)).isEqualTo(2);
        assertThat(EnvelopeCipher.inspect(cipher.seal(KEK, CTX, plaintext)).kekVersion()).isEqualTo(2);
        assertThat(cipher.open(CTX, underV1)).isEqualTo(plaintext);

        byte[] rewrapped = cipher.rewrap(CTX, underV1);
        ByteArrayOutputStream streamRewrapped = new ByteArrayOutputStream();
        cipher.rewrap(CTX, new ByteArrayInputStream(alsoV1), streamRewrapped);
        int oldHeader = EnvelopeCipher.inspect(underV1).headerLength();
        int newHeader = EnvelopeCipher.inspect(rewrapped).headerLength();
        assertThat(EnvelopeCipher.inspect(rewrapped).kekVersion()).isEqualTo(2);
        assertThat(Arrays.copyOfRange(rewrapped, newHeader, rewrapped.length))
                .as("body untouched").isEqualTo(Arrays.copyOfRange(underV1, oldHeader, underV1.length));
        assertThat(cipher.rewrap(CTX, rewrapped)).as("already current: no-op").isSameAs(rewrapped);

        // Retire v1: what was rewrapped still opens, what was not is shredded.
        KekRecord v1 = keyring.registry().find(KEK, 1).orElseThrow();
        assertThat(keyring.registry().replace(v1.tombstone(java.time.Instant.now()), v1.rootKeyVersion())).isTrue();
        keyring.clearCache();
        assertThat(cipher.open(CTX, rewrapped)).isEqualTo(plaintext);
        assertThat(cipher.open(CTX, streamRewrapped.toByteArray())).isEqualTo(plaintext);
        byte[] notRewrapped = cipher.seal(KEK, CTX, new byte[0]);
        assertThat(cipher.open(CTX, notRewrapped)).isEmpty();
        assertThatThrownBy(() -> cipher.open(CTX, alsoV1)).isInstanceOf(KeyDestroyedException.class);
    }

    @Test
    void rewrapRefusesATamperedEnvelopeInsteadOfLaunderingIt() {
        byte[] sealed = cipher.seal(KEK, CTX, random(100, 14));
        keyring.rotateKek(KEK);
        EncryptionContext other = new EncryptionContext("tenant-a", "Observation", "obs-other", "1");
        assertThatThrownBy(() -> cipher.rewrap(other, sealed)).isInstanceOf(TamperedEnvelopeException.class);
    }

    @Test
    void rootKeyRotationRewrapsKeksAndKeepsEverythingReadable() {
        byte[] a = cipher.seal(KEK, CTX, random(100, 15));
        byte[] b = cipher.seal("kek-b", CTX, random(100, 16));
        keyring.rotateKek("kek-b");
        Keyring.RootRotation rotation = keyring.rotateRootKey();
        assertThat(rotation.newRootKeyVersion()).isEqualTo(2);
        assertThat(rotation.rewrapped()).isEqualTo(3);
        keyring.registry().listAfter("", 0, 100)
                .forEach(r -> assertThat(r.rootKeyVersion()).as(r.toString()).isEqualTo(2));
        keyring.clearCache();
        assertThat(cipher.open(CTX, a)).hasSize(100);
        assertThat(cipher.open(CTX, b)).hasSize(100);
        // A fresh key ring over the same store and registry (a restart) reads everything too.
        Keyring restarted = TestKeys.keyring(dir, keyring.registry());
        assertThat(new EnvelopeCipher(restarted).open(CTX, a)).hasSize(100);
    }

    @Test
    void contextValuesNeverAppearInTheEnvelope() {
        byte[] sealed = cipher.seal(KEK, CTX, "x".getBytes(StandardCharsets.UTF_8));
        String asText = new String(sealed, StandardCharsets.ISO_8859_1);
        assertThat(asText).doesNotContain("obs-secret-42").doesNotContain("tenant-a").doesNotContain("Observation");
        assertThat(CTX.toString()).doesNotContain("obs-secret-42");
    }

    static byte[] concat(byte[] a, byte[] b) {
        byte[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
