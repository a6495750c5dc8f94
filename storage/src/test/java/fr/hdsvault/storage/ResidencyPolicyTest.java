package fr.hdsvault.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class ResidencyPolicyTest {

    @Test
    void theDefaultAllowsFrenchRegionsOnly() {
        ResidencyPolicy france = ResidencyPolicy.france();
        assertThat(france.allows("fr-par")).isTrue();
        assertThat(france.allows("eu-west-3")).isTrue();
        assertThat(france.allows("fr-lyon-1")).isTrue();
        assertThat(france.allows("FR-PAR")).isTrue();
        for (String elsewhere : new String[] {"us-east-1", "eu-west-1", "eu-west-2", "eu-central-1", "nl-ams", "fr", "fr-", "xfr-par", "", null}) {
            assertThat(france.allows(elsewhere)).as(String.valueOf(elsewhere)).isFalse();
        }
    }

    @Test
    void anOperatorCanWidenOrNarrowThePolicy() {
        ResidencyPolicy outscale = ResidencyPolicy.parse("eu-west-2, fr-*");
        assertThat(outscale.allows("eu-west-2")).isTrue();
        assertThat(outscale.allows("eu-west-3")).isFalse();
        assertThat(outscale.allowed()).containsExactly("eu-west-2", "fr-*");
        assertThatThrownBy(() -> ResidencyPolicy.parse(" , ")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> ResidencyPolicy.parse("fr par")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> ResidencyPolicy.parse("*")).isInstanceOf(IllegalArgumentException.class);
    }
}
