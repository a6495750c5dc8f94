package fr.hdsvault.api.resources;

import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.rest.api.QualifiedParamList;
import ca.uhn.fhir.rest.param.DateAndListParam;
import ca.uhn.fhir.rest.param.DateOrListParam;
import ca.uhn.fhir.rest.param.DateParam;
import ca.uhn.fhir.rest.param.StringAndListParam;
import ca.uhn.fhir.rest.param.StringOrListParam;
import ca.uhn.fhir.rest.param.StringParam;
import ca.uhn.fhir.rest.param.ReferenceAndListParam;
import ca.uhn.fhir.rest.param.ReferenceOrListParam;
import ca.uhn.fhir.rest.param.ReferenceParam;
import ca.uhn.fhir.rest.param.TokenAndListParam;
import ca.uhn.fhir.rest.param.TokenOrListParam;
import ca.uhn.fhir.rest.param.TokenParam;
import ca.uhn.fhir.rest.param.TokenParamModifier;
import ca.uhn.fhir.rest.param.UriAndListParam;
import ca.uhn.fhir.rest.param.UriOrListParam;
import ca.uhn.fhir.rest.param.UriParam;
import ca.uhn.fhir.rest.server.exceptions.InvalidRequestException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Turns search parameters, as HAPI parsed them, into the index's {@link SearchCriteria} clauses:
 * the one translation of FHIR's search semantics (commas are alternatives, repeated parameters
 * all apply, {@code :not}, {@code :missing}, reference types) that a type search and a Bulk Data
 * {@code _typeFilter} share. Which parameters and modifiers exist is {@link SearchParameters}'s
 * to say; what it does not list is refused (400) with the parameter's name, never its value.
 */
public final class SearchClauses {

    /** Whether a parameter's index is complete; one being built answers 400 rather than a partial result. */
    public interface Readiness {
        Readiness ALWAYS = (type, param) -> { };

        /** Throws InvalidRequestException, saying how far indexing has come, while {@code param} of {@code type} is built. */
        void requireReady(String type, String param);
    }

    /**
     * Runs the inner search of a chain ({@code patient.identifier=X}): the ids of the resources of
     * {@code targetType} matching {@code param=value} that the caller may see.
     */
    public interface Chains {
        List<String> ids(String targetType, String param, String value);
    }

    /** The most resources a chain's inner search may name: a broader chain is refused, not truncated. */
    public static final int MAX_CHAINED = 1000;

    private final FhirContext fhir;
    private final SearchParameters parameters;
    private final SearchTokens tokens;
    private final Readiness readiness;

    public SearchClauses(FhirContext fhir, SearchTokens tokens, Readiness readiness) {
        this.fhir = fhir;
        this.parameters = new SearchParameters(fhir);
        this.tokens = tokens;
        this.readiness = readiness;
    }

    /**
     * The criteria of a search query ({@code code=...&patient=...}, URL-encoded as in a URL) on
     * {@code type}; {@code where} names the query in messages (e.g. "_typeFilter").
     */
    public SearchCriteria parse(String where, String type, String query) {
        Map<String, List<String>> values = new LinkedHashMap<>();
        for (String pair : query.split("&")) {
            if (pair.isEmpty()) {
                continue;
            }
            int eq = pair.indexOf('=');
            values.computeIfAbsent(decode(where, eq < 0 ? pair : pair.substring(0, eq)), n -> new ArrayList<>())
                    .add(decode(where, eq < 0 ? "" : pair.substring(eq + 1)));
        }
        List<SearchCriteria.Clause> clauses = clauses(where, type, values);
        if (clauses.isEmpty()) {
            throw new InvalidRequestException(where + " needs criteria, e.g. " + type + "?code=system|code");
        }
        return new SearchCriteria(clauses, false);
    }

    /**
     * The clauses of a type search's parameters, by name with their modifier ({@code code:not}) as
     * the request has them; the result parameters ({@code _count}, {@code _sort}...) are not clauses.
     */
    public List<SearchCriteria.Clause> clauses(String where, String type, Map<String, ? extends List<String>> parametersByName) {
        return clauses(where, type, parametersByName, null);
    }

    /** As above; with {@code chains}, a chained parameter one level deep is evaluated, else refused. */
    public List<SearchCriteria.Clause> clauses(String where, String type, Map<String, ? extends List<String>> parametersByName,
                                               Chains chains) {
        Map<String, List<QualifiedParamList>> byParameter = new LinkedHashMap<>();
        List<SearchCriteria.Clause> chained = new ArrayList<>();
        parametersByName.forEach((name, values) -> {
            if (name.contains(".") && !SearchParameters.RESULT_PARAMETERS.contains(name)) {
                if (chains == null) {
                    throw new InvalidRequestException(where + ": chained parameters are not supported here (" + safe(name) + ")");
                }
                values.forEach(value -> chained.add(chain(type, name, value, chains)));
                return;
            }
            int colon = name.indexOf(':');
            String parameter = colon < 0 ? name : name.substring(0, colon);
            String modifier = colon < 0 ? null : name.substring(colon + 1);
            if (SearchParameters.RESULT_PARAMETERS.contains(parameter)) {
                return;
            }
            if ("identifier".equals(modifier) && parameters.evaluates(type, parameter, modifier)) {
                // patient:identifier=system|value: a token search of the identifiers the references carry.
                parameter = SearchParameters.identifierOf(parameter);
                modifier = null;
            }
            if (parameters.kind(type, parameter).isEmpty()) {
                throw new InvalidRequestException(where + ": " + type + " has no search parameter " + safe(parameter)
                        + " that the vault evaluates");
            }
            if (modifier != null && !parameters.evaluates(type, parameter, modifier)) {
                throw new InvalidRequestException(where + ": the modifier :" + safe(modifier) + " of " + parameter
                        + " is not supported");
            }
            readiness.requireReady(type, parameter);
            for (String value : values) {
                if (value.isEmpty()) {
                    throw new InvalidRequestException(where + ": " + parameter + " has no value");
                }
                byParameter.computeIfAbsent(parameter, p -> new ArrayList<>())
                        .add(QualifiedParamList.splitQueryStringByCommasIgnoreEscape(modifier == null ? null : ":" + modifier, value));
            }
        });
        List<SearchCriteria.Clause> clauses = new ArrayList<>();
        byParameter.forEach((parameter, values) -> {
            switch (parameters.kind(type, parameter).orElseThrow()) {
                case ID -> addIds(clauses, bind(new TokenAndListParam(), parameter, values));
                case LAST_UPDATED -> addLastUpdated(clauses, bind(new DateAndListParam(), parameter, values));
                case TOKEN -> addTokens(clauses, parameter, bind(new TokenAndListParam(), parameter, values));
                case URI -> addUris(clauses, parameter, bind(new UriAndListParam(), parameter, values));
                case STRING -> addStrings(clauses, type, parameter, bind(new StringAndListParam(), parameter, values));
                case DATE -> addDates(clauses, type, parameter, bind(new DateAndListParam(), parameter, values));
                case REFERENCE -> addReferences(clauses, parameter, bind(new ReferenceAndListParam(), parameter, values),
                        parameter.equals("patient") ? "Patient" : null);
                case AUDIT -> throw new InvalidRequestException(where + ": AuditEvent is not searched here");
            }
        });
        clauses.addAll(chained);
        return clauses;
    }

    /** One chained parameter as a reference clause: the references to what its inner search finds (none: nothing matches). */
    private SearchCriteria.Clause chain(String type, String name, String value, Chains chains) {
        SearchParameters.Chain chain = parameters.chain(type, name);
        if (value.isEmpty()) {
            throw new InvalidRequestException("Search parameter " + safe(name) + " has no value");
        }
        List<String> blind = new ArrayList<>();
        for (String target : chain.targetTypes()) {
            List<String> ids = chains.ids(target, chain.inner(), value);
            if (ids.size() > MAX_CHAINED) {
                throw new InvalidRequestException("Chained parameter " + safe(name) + " matches more than " + MAX_CHAINED + " " + target
                        + " resources: narrow it");
            }
            ids.forEach(id -> blind.add(tokens.referenceQuery(chain.reference(), target, id)));
        }
        return new SearchCriteria.Tokens(chain.reference(), blind, false);
    }

    /** A {@code _sort} on one of the type's date parameters ({@code _sort=-date}), or null for any other sort. */
    DecryptedRefinement.DateOrder dateOrder(String type, ca.uhn.fhir.rest.api.SortSpec sort) {
        if (sort == null || sort.getChain() != null || parameters.kind(type, sort.getParamName()).orElse(null) != SearchParameters.Kind.DATE) {
            return null;
        }
        return new DecryptedRefinement.DateOrder(fhir, parameters.paths(type, sort.getParamName()),
                sort.getOrder() == ca.uhn.fhir.rest.api.SortOrderEnum.DESC);
    }

    void addUris(List<SearchCriteria.Clause> clauses, String param, UriAndListParam and) {
        for (UriOrListParam or : and.getValuesAsQueryTokens()) {
            List<UriParam> values = or.getValuesAsQueryTokens();
            if (values.size() == 1 && values.get(0).getMissing() != null) {
                clauses.add(new SearchCriteria.Missing(param, values.get(0).getMissing()));
                continue;
            }
            clauses.add(new SearchCriteria.Tokens(param, values.stream().map(u -> tokens.uriQuery(param, u.getValue())).toList(), false));
        }
    }

    void addStrings(List<SearchCriteria.Clause> clauses, String type, String param, StringAndListParam and) {
        for (StringOrListParam or : and.getValuesAsQueryTokens()) {
            List<StringParam> values = or.getValuesAsQueryTokens();
            if (values.size() == 1 && values.get(0).getMissing() != null) {
                clauses.add(new SearchCriteria.Missing(param, values.get(0).getMissing()));
                continue;
            }
            boolean exact = values.stream().anyMatch(StringParam::isExact);
            List<StringSearch.Query> queries = values.stream().map(v -> tokens.stringQuery(param, v.getValue(), exact)).toList();
            SearchCriteria.Tokens candidates = new SearchCriteria.Tokens(param, queries.stream().map(StringSearch.Query::token)
                    .distinct().toList(), false);
            if (queries.stream().allMatch(StringSearch.Query::decisive)) {
                clauses.add(candidates);
            } else {
                clauses.add(new SearchCriteria.Checked(param, candidates, null, StringSearch.check(fhir, parameters.paths(type, param),
                        values.stream().map(StringParam::getValue).toList(), exact)));
            }
        }
    }

    void addDates(List<SearchCriteria.Clause> clauses, String type, String param, DateAndListParam and) {
        Instant now = Instant.now();
        for (DateOrListParam or : and.getValuesAsQueryTokens()) {
            List<DateParam> values = or.getValuesAsQueryTokens();
            if (values.size() == 1 && values.get(0).getMissing() != null) {
                clauses.add(new SearchCriteria.Missing(param, values.get(0).getMissing()));
                continue;
            }
            List<DateSearch.Query> queries = values.stream().map(v -> DateSearch.Query.of(v, now)).toList();
            java.util.Set<String> buckets = new java.util.LinkedHashSet<>();
            boolean anywhere = false;
            for (DateSearch.Query q : queries) {
                java.util.Set<String> each = q.buckets();
                anywhere |= each == null;
                if (each != null) {
                    buckets.addAll(each);
                }
            }
            java.util.Set<String> within = new java.util.LinkedHashSet<>();
            queries.forEach(q -> within.addAll(q.decisive()));
            SearchCriteria.Tokens candidates = anywhere ? null : new SearchCriteria.Tokens(param, tokens.dateQuery(param, buckets), false);
            SearchCriteria.Tokens decisive = within.isEmpty() ? null : new SearchCriteria.Tokens(param, tokens.dateQuery(param, within),
                    false);
            clauses.add(new SearchCriteria.Checked(param, candidates, decisive, DateSearch.check(fhir, parameters.paths(type, param),
                    queries)));
        }
    }

    private <T extends ca.uhn.fhir.model.api.IQueryParameterAnd<?>> T bind(T and, String parameter, List<QualifiedParamList> values) {
        and.setValuesAsQueryTokens(fhir, parameter, values);
        return and;
    }

    static void addIds(List<SearchCriteria.Clause> clauses, TokenAndListParam and) {
        if (and == null) {
            return;
        }
        for (TokenOrListParam or : and.getValuesAsQueryTokens()) {
            List<String> values = or.getValuesAsQueryTokens().stream().map(TokenParam::getValue).toList();
            boolean negated = or.getValuesAsQueryTokens().stream().anyMatch(t -> t.getModifier() == TokenParamModifier.NOT);
            clauses.add(new SearchCriteria.Ids(values, negated));
        }
    }

    static void addLastUpdated(List<SearchCriteria.Clause> clauses, DateAndListParam and) {
        if (and == null) {
            return;
        }
        for (DateOrListParam or : and.getValuesAsQueryTokens()) {
            clauses.add(new SearchCriteria.Updated(or.getValuesAsQueryTokens().stream().map(DateRanges::of).toList()));
        }
    }

    void addTokens(List<SearchCriteria.Clause> clauses, String param, TokenAndListParam and) {
        if (and == null) {
            return;
        }
        for (TokenOrListParam or : and.getValuesAsQueryTokens()) {
            List<TokenParam> values = or.getValuesAsQueryTokens();
            if (values.size() == 1 && values.get(0).getMissing() != null) {
                clauses.add(new SearchCriteria.Missing(param, values.get(0).getMissing()));
                continue;
            }
            List<String> blind = new ArrayList<>();
            boolean negated = false;
            for (TokenParam t : values) {
                negated |= t.getModifier() == TokenParamModifier.NOT;
                blind.add(tokens.tokenQuery(param, t.getSystem(), t.getValue()));
            }
            clauses.add(new SearchCriteria.Tokens(param, blind, negated));
        }
    }

    void addReferences(List<SearchCriteria.Clause> clauses, String param, ReferenceAndListParam and, String impliedType) {
        if (and == null) {
            return;
        }
        for (ReferenceOrListParam or : and.getValuesAsQueryTokens()) {
            List<ReferenceParam> values = or.getValuesAsQueryTokens();
            if (values.size() == 1 && values.get(0).getMissing() != null) {
                clauses.add(new SearchCriteria.Missing(param, values.get(0).getMissing()));
                continue;
            }
            List<String> blind = new ArrayList<>();
            for (ReferenceParam ref : values) {
                String referenced = ref.getResourceType() != null ? ref.getResourceType() : impliedType;
                if (referenced == null) {
                    throw new InvalidRequestException("Search parameter " + param + ": give the reference as Type/id (or " + param
                            + ":Type=id)");
                }
                if (impliedType != null && !impliedType.equals(referenced)) {
                    throw new InvalidRequestException("Search parameter " + param + " refers to a " + impliedType);
                }
                FhirIds.require(ref.getIdPart());
                blind.add(tokens.referenceQuery(param, referenced, ref.getIdPart()));
            }
            clauses.add(new SearchCriteria.Tokens(param, blind, false));
        }
    }

    private static String decode(String where, String value) {
        try {
            return URLDecoder.decode(value, StandardCharsets.UTF_8);
        } catch (IllegalArgumentException e) {
            throw new InvalidRequestException(where + ": not a valid URL query (a malformed %-escape)");
        }
    }

    /** A parameter or modifier name for a message: the name when it is one, never an arbitrary value. */
    private static String safe(String name) {
        return name.matches("[A-Za-z_][A-Za-z0-9_.-]{0,63}") ? name : "(invalid name)";
    }
}
