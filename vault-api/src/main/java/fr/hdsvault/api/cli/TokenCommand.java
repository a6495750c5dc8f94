package fr.hdsvault.api.cli;

import fr.hdsvault.api.home.VaultHome;
import fr.hdsvault.api.security.Role;
import fr.hdsvault.api.security.TokenIssuer;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** Prints a token signed by the single-node issuer of a data directory, and nothing else. */
@Command(name = "token", mixinStandardHelpOptions = true,
        description = "Print a signed bearer token accepted by the vault running on the data directory.")
public final class TokenCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Mixin
    DataDirOption dataDir;

    @Option(names = "--role", required = true, paramLabel = "ROLE",
            description = "practitioner, patient, auditor or operator.")
    String role;

    @Option(names = "--subject", required = true, paramLabel = "ID", description = "Who the token is for (token subject).")
    String subject;

    @Option(names = "--scope", paramLabel = "SCOPES", description = "SMART v2 scopes, space-separated, e.g. \"patient/*.rs\". Default: the role's "
                    + "(practitioner user/*.cruds, patient patient/*.rs, auditor and operator none).")
    String scope;

    @Option(names = "--patient", paramLabel = "ID", description = "Patient id, for patient-context scopes.")
    String patient;

    @Option(names = "--fhir-user", paramLabel = "TYPE/ID", description = "The user's own FHIR resource, e.g. Practitioner/123 "
            + "(the fhirUser claim; the detection rules compare a practitioner's names with its patients').")
    String fhirUser;

    @Option(names = "--ttl", defaultValue = "15m", paramLabel = "DURATION",
            description = "Lifetime: 30s, 15m, 1h, or ISO-8601 (PT15M); at most 1h, the vault's default maximum "
                    + "(vault.security.tokens.max-lifetime). Default: ${DEFAULT-VALUE}.")
    String ttl;

    @Override
    public Integer call() {
        Role r = Role.fromClaim(role).orElseThrow(() -> new ParameterException(spec.commandLine(),
                "--role must be practitioner, patient, auditor or operator"));
        boolean patientScopes = (scope != null ? scope : String.valueOf(r.defaultScopes())).contains("patient/");
        if ((r == Role.PATIENT || patientScopes) && patient == null) {
            throw new ParameterException(spec.commandLine(), "--patient ID is needed for the patient role and patient/ scopes");
        }
        if (fhirUser != null && !validFhirUser(fhirUser)) {
            throw new ParameterException(spec.commandLine(), "--fhir-user must be a reference such as Practitioner/123");
        }
        TokenIssuer issuer = TokenIssuer.forHome(VaultHome.prepare(dataDir.resolve()));
        spec.commandLine().getOut().println(issuer.issue(new TokenIssuer.Grant(subject, r.claimValue(), scope, patient,
                parseTtl(ttl), null, fhirUser)));
        spec.commandLine().getOut().flush();
        return 0;
    }

    /** A reference to a resource that can be a user (SMART's fhirUser), its id as FHIR defines ids. */
    static boolean validFhirUser(String reference) {
        int slash = reference.indexOf('/');
        return slash > 0 && java.util.Set.of("Practitioner", "PractitionerRole", "Patient", "RelatedPerson", "Person")
                .contains(reference.substring(0, slash)) && fr.hdsvault.api.resources.FhirIds.valid(reference.substring(slash + 1));
    }

    Duration parseTtl(String text) {
        Duration ttl = parseDuration(text);
        if (ttl.isNegative() || ttl.isZero() || ttl.compareTo(TokenIssuer.MAX_LIFETIME) > 0) {
            throw new ParameterException(spec.commandLine(), "--ttl must be positive and at most 1h: the vault refuses longer-lived "
                    + "tokens (vault.security.tokens.max-lifetime)");
        }
        return ttl;
    }

    private Duration parseDuration(String text) {
        try {
            if (text.toUpperCase(Locale.ROOT).startsWith("P")) {
                return Duration.parse(text);
            }
            long amount = Long.parseLong(text.substring(0, text.length() - 1));
            return switch (text.charAt(text.length() - 1)) {
                case 's' -> Duration.ofSeconds(amount);
                case 'm' -> Duration.ofMinutes(amount);
                case 'h' -> Duration.ofHours(amount);
                case 'd' -> Duration.ofDays(amount);
                default -> throw new NumberFormatException();
            };
        } catch (RuntimeException e) {
            throw new ParameterException(spec.commandLine(), "--ttl must look like 30s, 15m, 1h or PT15M");
        }
    }
}
