package fr.hdsvault.api.resources;

import ca.uhn.fhir.rest.server.exceptions.InvalidRequestException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The search criteria of a conditional URL ({@code If-None-Exist}, a conditional reference
 * {@code Patient?identifier=...} in a transaction): {@code identifier} and {@code _id}, the two a
 * conditional match can rely on. Anything else, or a malformed query, is a 400 naming the problem.
 */
final class ConditionalCriteria {

    private ConditionalCriteria() {
    }

    /** @param url {@code [Type?]query}; {@code where} names the header or element, for messages */
    static SearchCriteria parse(String where, String url, SearchTokens tokens) {
        String query = url.contains("?") ? url.substring(url.indexOf('?') + 1) : url;
        List<SearchCriteria.Clause> clauses = new ArrayList<>();
        for (String pair : query.split("&")) {
            int eq = pair.indexOf('=');
            String name = eq < 0 ? pair : pair.substring(0, eq);
            String value = decode(where, eq < 0 ? "" : pair.substring(eq + 1));
            switch (name) {
                case "_id" -> clauses.add(new SearchCriteria.Ids(List.of(value.split(",")), false));
                case "identifier" -> {
                    int bar = value.indexOf('|');
                    String system = bar < 0 ? null : value.substring(0, bar);
                    String code = bar < 0 ? value : value.substring(bar + 1);
                    clauses.add(new SearchCriteria.Tokens("identifier", List.of(tokens.tokenQuery("identifier", system, code)), false));
                }
                default -> throw new InvalidRequestException(where + " supports the criteria identifier and _id only");
            }
        }
        if (clauses.isEmpty()) {
            throw new InvalidRequestException(where + " needs criteria, e.g. identifier=system|value");
        }
        return new SearchCriteria(clauses, false);
    }

    private static String decode(String where, String value) {
        try {
            return URLDecoder.decode(value, StandardCharsets.UTF_8);
        } catch (IllegalArgumentException e) {
            throw new InvalidRequestException(where + ": the criteria are not a valid URL query (a malformed %-escape)");
        }
    }
}
