package fr.hdsvault.crypto.index;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.Test;

class BlindIndexTest {

    static BlindIndex index(int keyByte) {
        byte[] key = new byte[32];
        java.util.Arrays.fill(key, (byte) keyByte);
        return new BlindIndex(new SecretKeySpec(key, "HmacSHA256"));
    }

    final BlindIndex tenantA = index(1);

    @Test
    void equivalentSpellingsOfOneValueGiveOneToken() {
        BlindIndex.TokenPair a = tenantA.token("identifier", "urn:oid:1.2.250.1.213.1.4.8", " 1840575123456 ");
        BlindIndex.TokenPair b = tenantA.token("identifier", "urn:oid:1.2.250.1.213.1.4.8", "1840575123456");
        assertThat(a).isEqualTo(b);
        assertThat(tenantA.token("code", "HTTP://LOINC.org/", "8867-4"))
                .isEqualTo(tenantA.token("code", "http://loinc.org", "8867-4"));
        // NFC: "é" precomposed and decomposed are the same code.
        assertThat(tenantA.token("code", null, "caf\u00e9")).isEqualTo(tenantA.token("code", null, "cafe\u0301"));
        assertThat(tenantA.reference("subject", "https://vault.example/fhir/Patient/123/_history/4"))
                .isEqualTo(tenantA.reference("subject", "Patient/123"));
    }

    @Test
    void differentValuesParametersKindsAndTenantsGiveUnrelatedTokens() {
        String code = tenantA.token("code", "http://loinc.org", "8867-4").withSystem();
        assertThat(tenantA.token("code", "http://loinc.org", "8867-5").withSystem()).isNotEqualTo(code);
        assertThat(tenantA.token("code", "http://snomed.info/sct", "8867-4").withSystem()).isNotEqualTo(code);
        assertThat(tenantA.token("identifier", "http://loinc.org", "8867-4").withSystem()).isNotEqualTo(code);
        assertThat(index(2).token("code", "http://loinc.org", "8867-4").withSystem()).isNotEqualTo(code);
        // Codes are case-sensitive in FHIR token search.
        assertThat(tenantA.token("code", null, "abc").anySystem()).isNotEqualTo(tenantA.token("code", null, "ABC").anySystem());
        assertThat(tenantA.reference("subject", "Patient/1")).isNotEqualTo(tenantA.reference("subject", "Group/1"));
    }

    @Test
    void anySystemTokenMatchesWhateverTheSystem() {
        BlindIndex.TokenPair withSystem = tenantA.token("identifier", "http://hospital.example/mrn", "A-17");
        BlindIndex.TokenPair without = tenantA.token("identifier", null, "A-17");
        assertThat(without.withSystem()).isNull();
        assertThat(without.anySystem()).isEqualTo(withSystem.anySystem());
    }

    @Test
    void tokensHoldNoClearValue() {
        String token = tenantA.token("identifier", "urn:oid:1.2.250.1.213.1.4.8", "1840575123456").withSystem();
        assertThat(token).hasSize(43).doesNotContain("1840575123456").matches("[A-Za-z0-9_-]+");
    }

    @Test
    void malformedReferencesAreRejected() {
        assertThatThrownBy(() -> tenantA.reference("subject", "123")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> tenantA.reference("subject", "Patient/")).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void stringsFoldCaseAccentsAndSpacesButNothingElse() {
        assertThat(SearchValues.string("  Hélène \t DUPRÉ-Lefèvre ")).isEqualTo("helene dupre-lefevre");
        assertThat(SearchValues.string("ﬁlip Ærø")).isEqualTo("filip ærø"); // æ and ø are letters, not accented ones
        assertThat(SearchValues.string("Martín ")).isEqualTo("martin");
        assertThat(SearchValues.string("Martin-Luc")).isNotEqualTo("martin luc");
    }
}
