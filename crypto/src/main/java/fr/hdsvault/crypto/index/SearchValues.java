package fr.hdsvault.crypto.index;

import java.text.Normalizer;
import java.util.Locale;

/**
 * Normalisation of search values before blinding (docs/formats.md, "Blind index"). Two
 * values a FHIR search must treat as equal normalise to the same string, and nothing else
 * does:
 * <ul>
 *   <li>codes and identifier values: Unicode NFC, surrounding white space removed; case kept,
 *       since FHIR token matching is case-sensitive;</li>
 *   <li>systems (URIs): NFC, trimmed, scheme and host lower-cased, one trailing slash removed;</li>
 *   <li>references: "Type/id", whatever the base URL, with any "/_history/n" removed;</li>
 *   <li>strings (names, addresses): as FHIR's string search compares them, case- and
 *       accent-insensitive: NFKD, combining marks removed, lower case, runs of white space as
 *       one space, trimmed.</li>
 * </ul>
 */
public final class SearchValues {

    private SearchValues() {
    }

    public static String code(String code) {
        if (code == null) {
            throw new IllegalArgumentException("a token value is required");
        }
        return Normalizer.normalize(code.strip(), Normalizer.Form.NFC);
    }

    public static String system(String system) {
        String s = Normalizer.normalize(system.strip(), Normalizer.Form.NFC);
        int schemeEnd = s.indexOf("://");
        if (schemeEnd > 0) {
            int hostEnd = s.indexOf('/', schemeEnd + 3);
            hostEnd = hostEnd < 0 ? s.length() : hostEnd;
            s = s.substring(0, hostEnd).toLowerCase(Locale.ROOT) + s.substring(hostEnd);
        }
        return s.endsWith("/") && s.length() > 1 ? s.substring(0, s.length() - 1) : s;
    }

    public static String reference(String reference) {
        String r = reference.strip();
        int history = r.indexOf("/_history/");
        if (history >= 0) {
            r = r.substring(0, history);
        }
        String[] parts = r.split("/");
        if (parts.length < 2 || parts[parts.length - 1].isEmpty() || parts[parts.length - 2].isEmpty()) {
            throw new IllegalArgumentException("a reference must end with Type/id");
        }
        return parts[parts.length - 2] + "/" + parts[parts.length - 1];
    }

    private static final java.util.regex.Pattern MARKS = java.util.regex.Pattern.compile("\\p{M}+");
    private static final java.util.regex.Pattern SPACES = java.util.regex.Pattern.compile("\\s+");

    public static String string(String value) {
        String decomposed = Normalizer.normalize(value, Normalizer.Form.NFKD);
        return SPACES.matcher(MARKS.matcher(decomposed).replaceAll("")).replaceAll(" ").strip().toLowerCase(Locale.ROOT);
    }
}
