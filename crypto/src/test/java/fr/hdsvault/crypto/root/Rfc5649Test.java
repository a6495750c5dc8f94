package fr.hdsvault.crypto.root;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import fr.hdsvault.crypto.WrongKeyException;
import java.util.HexFormat;
import javax.crypto.Cipher;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.Test;

/** RFC 5649 section 6 vectors, through the HSM-capable path and through the JDK's own AES/KWP. */
class Rfc5649Test {
    static final HexFormat HEX = HexFormat.of();
    static final SecretKeySpec KEK = new SecretKeySpec(HEX.parseHex("5840df6e29b02af1ab493b705bf16ea1ae8338f4dcc176a8"), "AES");

    @Test
    void twentyOctetKeyVector() throws Exception {
        byte[] key = HEX.parseHex("c37b7e6492584340bed12207808941155068f738");
        String expected = "138bdeaa9b8fa7fc61f97742e72248ee5ae6ae5360d1ae6a5f54f373fa543b6a";
        assertThat(HEX.formatHex(Rfc5649.wrap(KEK, null, key))).isEqualTo(expected);
        Cipher jdk = Cipher.getInstance("AES/KWP/NoPadding");
        jdk.init(Cipher.ENCRYPT_MODE, KEK);
        assertThat(HEX.formatHex(jdk.doFinal(key))).isEqualTo(expected);
        assertThat(Rfc5649.unwrap(KEK, null, HEX.parseHex(expected), "test")).isEqualTo(key);
    }

    @Test
    void sevenOctetKeyVector() {
        byte[] key = HEX.parseHex("466f7250617369");
        assertThat(HEX.formatHex(Rfc5649.wrap(KEK, null, key))).isEqualTo("afbeb0f07dfbf5419200f2ccb50bb24f");
    }

    @Test
    void alteredWrappingIsRejected() {
        byte[] wrapped = Rfc5649.wrap(KEK, null, new byte[32]);
        wrapped[5] ^= 1;
        assertThatThrownBy(() -> Rfc5649.unwrap(KEK, null, wrapped, "root key v1"))
                .isInstanceOf(WrongKeyException.class).hasMessageContaining("root key v1");
    }
}
