package fr.hdsvault.api.resources;

import ca.uhn.fhir.rest.server.exceptions.InvalidRequestException;
import java.util.regex.Pattern;

/** FHIR logical ids: 1 to 64 letters, digits, '-' and '.'; the one definition the vault checks ids against. */
public final class FhirIds {

    private static final Pattern ID = Pattern.compile("[A-Za-z0-9\\-.]{1,64}");

    private FhirIds() {
    }

    public static boolean valid(String id) {
        return id != null && ID.matcher(id).matches();
    }

    /** @throws InvalidRequestException (400) naming the rule, never the value */
    public static void require(String id) {
        if (!valid(id)) {
            throw new InvalidRequestException("Invalid resource id: a FHIR id is 1 to 64 letters, digits, '-' or '.'");
        }
    }
}
