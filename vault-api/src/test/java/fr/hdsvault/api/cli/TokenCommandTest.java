package fr.hdsvault.api.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.nimbusds.jwt.SignedJWT;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code vault token}: the claims it writes, and what it refuses. */
class TokenCommandTest {

    @TempDir
    Path dir;

    @Test
    void aPractitionerTokenNamesItsOwnResourceWhenAsked() throws Exception {
        StringWriter out = new StringWriter();
        int exit = new CommandLine(new TokenCommand()).setOut(new PrintWriter(out, true)).execute("--data-dir", dir.toString(),
                "--role", "practitioner", "--subject", "dr-1", "--fhir-user", "Practitioner/p-42", "--ttl", "5m");
        assertThat(exit).isZero();
        var claims = SignedJWT.parse(out.toString().strip()).getJWTClaimsSet();
        assertThat(claims.getStringClaim("fhirUser")).isEqualTo("Practitioner/p-42");
        assertThat(claims.getStringClaim("vault_role")).isEqualTo("practitioner");

        StringWriter plain = new StringWriter();
        assertThat(new CommandLine(new TokenCommand()).setOut(new PrintWriter(plain, true)).execute("--data-dir", dir.toString(),
                "--role", "practitioner", "--subject", "dr-1")).isZero();
        assertThat(SignedJWT.parse(plain.toString().strip()).getJWTClaimsSet().getClaims()).doesNotContainKey("fhirUser");
    }

    @Test
    void aFhirUserThatIsNotAReferenceIsRefused() {
        for (String bad : new String[] {"p-42", "Observation/1", "Practitioner/", "Practitioner/a b"}) {
            StringWriter out = new StringWriter();
            StringWriter err = new StringWriter();
            int exit = new CommandLine(new TokenCommand()).setOut(new PrintWriter(out, true)).setErr(new PrintWriter(err, true))
                    .execute("--data-dir", dir.toString(), "--role", "practitioner", "--subject", "dr-1", "--fhir-user", bad);
            assertThat(exit).as(bad).isNotZero();
            assertThat(err.toString()).contains("--fhir-user must be a reference");
            assertThat(out.toString()).isEmpty();
        }
    }
}
