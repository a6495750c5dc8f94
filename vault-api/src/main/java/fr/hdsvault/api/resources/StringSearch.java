package fr.hdsvault.api.resources;

import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.rest.server.exceptions.InvalidRequestException;
import fr.hdsvault.crypto.index.BlindIndex;
import fr.hdsvault.crypto.index.SearchValues;
import java.text.Normalizer;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import java.util.function.Predicate;
import org.hl7.fhir.instance.model.api.IBase;
import org.hl7.fhir.instance.model.api.IBaseResource;
import org.hl7.fhir.r4.model.Address;
import org.hl7.fhir.r4.model.HumanName;
import org.hl7.fhir.r4.model.PrimitiveType;

/**
 * String search (name, family, address...) over blind tokens, as FHIR defines it: a value matches
 * when one of the strings at the parameter's paths starts with it, ignoring case and accents
 * ({@link SearchValues#string}); {@code :exact} compares the whole string as written.
 *
 * <p>The index holds, per string, tokens of its normalised first 1 to {@link #PREFIX} characters
 * and one of the string as written; never a longer prefix nor the whole normalised string, so that
 * what the database reveals stops at equal beginnings (docs/search-leakage.md). A query up to
 * {@code PREFIX} characters is answered by its token alone; a longer one takes the candidates of
 * its first {@code PREFIX} characters and is decided on the decrypted resource.
 */
public final class StringSearch {

    /** The longest prefix indexed. */
    public static final int PREFIX = 4;
    /** Changes when the tokens change meaning; part of the parameter's definition, so a change reindexes. */
    static final String SCHEME = "string-prefix" + PREFIX + "-v1";
    /** Longer values are refused: no name or address part is this long, and the check would be for nothing. */
    static final int MAX_QUERY = 256;

    private StringSearch() {
    }

    /** The strings a value holds: a HumanName's or an Address's parts, or a string's value. */
    static List<String> strings(IBase value) {
        List<String> out = new ArrayList<>();
        if (value instanceof HumanName name) {
            add(out, name.getFamily());
            name.getGiven().forEach(g -> add(out, g.getValue()));
            name.getPrefix().forEach(p -> add(out, p.getValue()));
            name.getSuffix().forEach(p -> add(out, p.getValue()));
            add(out, name.getText());
        } else if (value instanceof Address address) {
            address.getLine().forEach(l -> add(out, l.getValue()));
            add(out, address.getCity());
            add(out, address.getDistrict());
            add(out, address.getState());
            add(out, address.getPostalCode());
            add(out, address.getCountry());
            add(out, address.getText());
        } else if (value instanceof PrimitiveType<?> p && p.hasValue()) {
            add(out, p.getValueAsString());
        }
        return out;
    }

    /** The strings of a resource at a parameter's paths. */
    static List<String> strings(FhirContext fhir, IBaseResource resource, List<String> paths) {
        List<String> out = new ArrayList<>();
        for (String path : paths) {
            fhir.newTerser().getValues(resource, path).forEach(v -> out.addAll(strings(v)));
        }
        return out;
    }

    /** The tokens one stored string gives its parameter. */
    static void tokens(BlindIndex index, String param, String value, Consumer<String> out) {
        String normalised = SearchValues.string(value);
        int length = normalised.codePointCount(0, normalised.length());
        for (int n = 1; n <= Math.min(PREFIX, length); n++) {
            out.accept(index.stringPrefix(param, normalised.substring(0, normalised.offsetByCodePoints(0, n))));
        }
        out.accept(index.stringExact(param, value));
    }

    /** One value of a query: its token, and whether the token alone decides (else the resource is checked). */
    record Query(String token, boolean decisive) {
    }

    static Query query(BlindIndex index, String param, String value, boolean exact) {
        if (value.length() > MAX_QUERY) {
            throw new InvalidRequestException("Search parameter " + param + ": a value is at most " + MAX_QUERY + " characters");
        }
        if (exact) {
            return new Query(index.stringExact(param, value), true);
        }
        String normalised = SearchValues.string(value);
        if (normalised.isEmpty()) {
            throw new InvalidRequestException("Search parameter " + param + ": a value is required");
        }
        int length = normalised.codePointCount(0, normalised.length());
        if (length <= PREFIX) {
            return new Query(index.stringPrefix(param, normalised), true);
        }
        return new Query(index.stringPrefix(param, normalised.substring(0, normalised.offsetByCodePoints(0, PREFIX))), false);
    }

    /** Whether a resource holds, at {@code paths}, a string that one of {@code values} matches. */
    static Predicate<IBaseResource> check(FhirContext fhir, List<String> paths, List<String> values, boolean exact) {
        List<String> wanted = values.stream().map(v -> exact ? nfc(v) : SearchValues.string(v)).toList();
        return resource -> strings(fhir, resource, paths).stream().map(s -> exact ? nfc(s) : SearchValues.string(s))
                .anyMatch(s -> wanted.stream().anyMatch(w -> exact ? s.equals(w) : s.startsWith(w)));
    }

    private static String nfc(String s) {
        return Normalizer.normalize(s, Normalizer.Form.NFC);
    }

    private static void add(List<String> out, String value) {
        if (value != null && !value.isBlank()) {
            out.add(value);
        }
    }
}
