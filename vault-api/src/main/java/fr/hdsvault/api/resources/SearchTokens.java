package fr.hdsvault.api.resources;

import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.context.RuntimeResourceDefinition;
import ca.uhn.fhir.rest.server.exceptions.InvalidRequestException;
import fr.hdsvault.crypto.index.BlindIndex;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import org.hl7.fhir.instance.model.api.IBase;
import org.hl7.fhir.instance.model.api.IBaseResource;
import org.hl7.fhir.r4.model.CodeableConcept;
import org.hl7.fhir.r4.model.Coding;
import org.hl7.fhir.r4.model.Enumeration;
import org.hl7.fhir.r4.model.Identifier;
import org.hl7.fhir.r4.model.PrimitiveType;
import org.hl7.fhir.r4.model.Reference;

/**
 * The search parameters the vault indexes, as blind tokens (docs/formats.md, "Blind index
 * tokens"): {@code identifier}, {@code code} and the other token parameters
 * {@link SearchParameters#indexedPaths} lists (tokens: "system|value" and "value" alone),
 * {@code subject} and the other reference parameters it lists (reference as "Type/id") and
 * {@code patient} (the patient compartment).
 * The database receives HMACs only.
 */
public final class SearchTokens {

    /** One row of the search_token table. */
    public record Token(String param, String value) {
    }

    private final FhirContext fhir;
    private final BlindIndex index;
    private final SearchParameters parameters;

    public SearchTokens(FhirContext fhir, BlindIndex index) {
        this.fhir = fhir;
        this.index = index;
        this.parameters = new SearchParameters(fhir);
    }

    public Set<Token> of(String type, IBaseResource resource, String compartment) {
        Set<Token> tokens = new LinkedHashSet<>();
        RuntimeResourceDefinition def = fhir.getResourceDefinition(type);
        parameters.indexedPaths(type).forEach((param, paths) -> addValues(tokens, param, resource, paths));
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

    /** The tokens of one token or URI parameter of a resource: those of every value at its paths. */
    public Set<Token> of(IBaseResource resource, String param, List<String> paths) {
        Set<Token> tokens = new LinkedHashSet<>();
        addValues(tokens, param, resource, paths);
        return tokens;
    }

    private void addValues(Set<Token> tokens, String param, IBaseResource resource, List<String> paths) {
        SearchParameters.Kind kind = parameters.kind(fhir.getResourceType(resource), param).orElse(SearchParameters.Kind.TOKEN);
        if (kind == SearchParameters.Kind.STRING) {
            StringSearch.strings(fhir, resource, paths).forEach(s -> StringSearch.tokens(index, param, s, t -> tokens.add(new Token(param,
                    t))));
            return;
        }
        if (kind == SearchParameters.Kind.DATE) {
            DateSearch.spans(fhir, resource, paths).forEach(span -> DateSearch.buckets(span).forEach(b -> tokens.add(new Token(param,
                    index.dateBucket(param, b)))));
            return;
        }
        if (kind == SearchParameters.Kind.REFERENCE) {
            for (String path : paths) {
                for (Reference ref : fhir.newTerser().getValues(resource, path, Reference.class)) {
                    String typed = typedReference(ref);
                    if (typed != null) {
                        tokens.add(new Token(param, index.reference(param, typed)));
                    }
                }
            }
            return;
        }
        for (String path : paths) {
            for (IBase value : fhir.newTerser().getValues(resource, path)) {
                if (value instanceof CodeableConcept cc) {
                    cc.getCoding().stream().filter(Coding::hasCode).forEach(c -> add(tokens, param, index.token(param, c.getSystem(),
                            c.getCode())));
                } else if (value instanceof Coding c && c.hasCode()) {
                    add(tokens, param, index.token(param, c.getSystem(), c.getCode()));
                } else if (value instanceof Identifier id && id.hasValue()) {
                    add(tokens, param, index.token(param, id.getSystem(), id.getValue()));
                } else if (value instanceof Enumeration<?> e && e.hasValue()) {
                    add(tokens, param, index.token(param, e.getSystem(), e.getValueAsString()));
                } else if (value instanceof PrimitiveType<?> p && p.hasValue()) { // code, uri, canonical, boolean
                    add(tokens, param, index.token(param, null, p.getValueAsString()));
                }
            }
        }
    }

    /** Query token for a string value ({@link StringSearch}). */
    StringSearch.Query stringQuery(String param, String value, boolean exact) {
        if (value == null || value.isBlank()) {
            throw new InvalidRequestException("Search parameter " + param + ": a value is required");
        }
        return StringSearch.query(index, param, value, exact);
    }

    /** The token of a whole string as written ({@code :exact}), the same for every type that has the parameter. */
    public String exactStringToken(String param, String value) {
        return index.stringExact(param, value);
    }

    /** Query tokens for date buckets ({@link DateSearch}). */
    List<String> dateQuery(String param, java.util.Collection<String> buckets) {
        return buckets.stream().map(b -> index.dateBucket(param, b)).toList();
    }

    /** Query token for a URI value, compared whole. */
    public String uriQuery(String param, String value) {
        if (value == null || value.isBlank()) {
            throw new InvalidRequestException("Search parameter " + param + ": a value is required");
        }
        return index.token(param, null, value).anySystem();
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
