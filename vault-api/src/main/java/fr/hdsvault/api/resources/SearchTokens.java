package fr.hdsvault.api.resources;

import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.context.RuntimeResourceDefinition;
import ca.uhn.fhir.rest.server.exceptions.InvalidRequestException;
import fr.hdsvault.crypto.index.BlindIndex;
import java.util.LinkedHashSet;
import java.util.Set;
import org.hl7.fhir.instance.model.api.IBaseResource;
import org.hl7.fhir.r4.model.CodeableConcept;
import org.hl7.fhir.r4.model.Coding;
import org.hl7.fhir.r4.model.Identifier;
import org.hl7.fhir.r4.model.Reference;

/**
 * The search parameters the vault indexes, as blind tokens (docs/formats.md, "Blind index
 * tokens"): {@code identifier} and {@code code} (tokens: "system|value" and "value" alone),
 * {@code subject} (reference as "Type/id") and {@code patient} (the patient compartment).
 * The database receives HMACs only.
 */
public final class SearchTokens {

    /** One row of the search_token table. */
    public record Token(String param, String value) {
    }

    private final FhirContext fhir;
    private final BlindIndex index;

    public SearchTokens(FhirContext fhir, BlindIndex index) {
        this.fhir = fhir;
        this.index = index;
    }

    public Set<Token> of(String type, IBaseResource resource, String compartment) {
        Set<Token> tokens = new LinkedHashSet<>();
        RuntimeResourceDefinition def = fhir.getResourceDefinition(type);
        if (has(def, "identifier")) {
            for (Identifier id : fhir.newTerser().getValues(resource, type + ".identifier", Identifier.class)) {
                if (id.hasValue()) {
                    add(tokens, "identifier", index.token("identifier", id.getSystem(), id.getValue()));
                }
            }
        }
        if (has(def, "code")) {
            for (CodeableConcept cc : fhir.newTerser().getValues(resource, type + ".code", CodeableConcept.class)) {
                for (Coding c : cc.getCoding()) {
                    if (c.hasCode()) {
                        add(tokens, "code", index.token("code", c.getSystem(), c.getCode()));
                    }
                }
            }
        }
        if (has(def, "subject")) {
            for (Reference ref : fhir.newTerser().getValues(resource, type + ".subject", Reference.class)) {
                String typed = typedReference(ref);
                if (typed != null) {
                    tokens.add(new Token("subject", index.reference("subject", typed)));
                }
            }
        }
        if (compartment != null && compartment.startsWith("Patient/")) {
            tokens.add(new Token("patient", index.reference("patient", compartment)));
        }
        return tokens;
    }

    /** Query tokens for one token-search value: "system|code" or "code". */
    public String tokenQuery(String param, String system, String value) {
        if (value == null || value.isBlank()) {
            throw new InvalidRequestException("Search parameter " + param + ": a value is required (\"system|code\" or \"code\")");
        }
        BlindIndex.TokenPair pair = index.token(param, system, value);
        return system == null || system.isBlank() ? pair.anySystem() : pair.withSystem();
    }

    /** Query token for a reference value, "Type/id" (or an id alone for patient). */
    public String referenceQuery(String param, String resourceType, String id) {
        return index.reference(param, resourceType + "/" + id);
    }

    private static void add(Set<Token> tokens, String param, BlindIndex.TokenPair pair) {
        if (pair.withSystem() != null) {
            tokens.add(new Token(param, pair.withSystem()));
        }
        tokens.add(new Token(param, pair.anySystem()));
    }

    private static boolean has(RuntimeResourceDefinition def, String child) {
        return def.getChildByName(child) != null;
    }

    private static String typedReference(Reference ref) {
        if (ref.getReferenceElement() == null || !ref.getReferenceElement().hasIdPart()
                || !ref.getReferenceElement().hasResourceType()) {
            return null;
        }
        return ref.getReferenceElement().getResourceType() + "/" + ref.getReferenceElement().getIdPart();
    }

}
