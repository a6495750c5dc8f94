package fr.hdsvault.api.fhir;

import ca.uhn.fhir.interceptor.api.Hook;
import ca.uhn.fhir.interceptor.api.Interceptor;
import ca.uhn.fhir.interceptor.api.Pointcut;
import ca.uhn.fhir.rest.api.Constants;
import ca.uhn.fhir.rest.api.RequestTypeEnum;
import ca.uhn.fhir.rest.api.server.RequestDetails;
import ca.uhn.fhir.rest.server.exceptions.InvalidRequestException;
import fr.hdsvault.api.resources.Includes;
import fr.hdsvault.api.resources.SearchParameters;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * Every URL parameter of a FHIR request is either evaluated or refused: HAPI's plain server
 * silently ignores parameters starting with {@code _} that no method binds ({@code _tag},
 * {@code _has}, {@code _filter}...), which would hand a client unfiltered clinical data. This
 * check runs before HAPI picks a method and refuses, with 400 and the parameter's name:
 * <ul>
 *   <li>a parameter the interaction does not take (per {@link SearchParameters} for searches);</li>
 *   <li>a modifier the parameter does not evaluate, a chain the vault cannot follow, {@code _has};</li>
 *   <li>a date prefix the vault does not evaluate ({@code ap}), a {@code :missing} that is not
 *       true or false, an invalid {@code _count}, {@code _total} or {@code _summary}.</li>
 * </ul>
 * With {@code Prefer: handling=lenient}, unknown parameters are dropped instead, as FHIR allows,
 * before the search runs, so that the self link shows only what was applied. Values are never
 * quoted in the messages.
 */
@Interceptor
public final class StrictParameters {

    private static final Set<String> COMMON = Set.of("_format", "_pretty", "_summary", "_elements");
    /** A page of a stored search: HAPI copies the search's _include values into its links; the stored list holds them. */
    private static final Set<String> PAGING = Set.of(Constants.PARAM_PAGINGACTION, Constants.PARAM_PAGINGOFFSET, "_count",
            Constants.PARAM_BUNDLETYPE, "_include", "_include:iterate", "_include:recurse");
    /** History pages: HAPI links a history's next pages by {@code _offset}, not by stored result pages. */
    private static final Set<String> HISTORY = Set.of("_since", "_at", "_count", Constants.PARAM_OFFSET);
    private static final Set<String> EVERYTHING = Set.of("_count");
    private static final Set<String> SUMMARY = Set.of("true", "false", "text", "data", "count");
    private static final Set<String> TOTAL = Set.of("none", "estimate", "accurate");
    private static final Set<String> DATE_PREFIXES = Set.of("eq", "ne", "gt", "lt", "ge", "le", "sa", "eb");
    /** Parameters whose values may carry a prefix. */
    private static boolean dated(SearchParameters.Kind kind, String name) {
        return kind == SearchParameters.Kind.LAST_UPDATED || kind == SearchParameters.Kind.DATE
                || kind == SearchParameters.Kind.AUDIT && name.equals("date");
    }

    private final SearchParameters parameters;
    private final int maxPageSize;

    public StrictParameters(SearchParameters parameters, int maxPageSize) {
        this.parameters = parameters;
        this.maxPageSize = maxPageSize;
    }

    @Hook(Pointcut.SERVER_INCOMING_REQUEST_POST_PROCESSED)
    public boolean check(RequestDetails request) {
        boolean lenient = lenient(request.getHeaders(Constants.HEADER_PREFER));
        List<String> dropped = new ArrayList<>();
        Allowed allowed = allowed(request);
        for (String name : List.copyOf(request.getParameters().keySet())) {
            Refusal refusal = refusal(request, allowed, name);
            if (refusal == null) {
                continue;
            }
            if (lenient && refusal.unknown()) {
                dropped.add(name);
            } else {
                throw new InvalidRequestException(refusal.message());
            }
        }
        dropped.forEach(request::removeParameter);
        String[] count = request.getParameters().get("_count");
        if (count != null && count.length > 0 && Integer.parseInt(count[0]) > maxPageSize) {
            // The cap is applied, and shows in the self link: the page holds at most this many.
            request.removeParameter("_count");
            request.addParameter("_count", new String[] {String.valueOf(maxPageSize)});
        }
        return true;
    }

    /** Why a parameter is refused; {@code unknown}: the interaction does not take it at all (lenient handling drops it). */
    private record Refusal(String message, boolean unknown) {
        static Refusal unknown(String message) {
            return new Refusal(message, true);
        }

        static Refusal invalid(String message) {
            return message == null ? null : new Refusal(message, false);
        }
    }

    /** Why the parameter is refused, or null when it is evaluated. */
    private Refusal refusal(RequestDetails request, Allowed allowed, String name) {
        String[] values = request.getParameters().get(name);
        if (values == null) {
            return null;
        }
        String base = name.contains(":") ? name.substring(0, name.indexOf(':')) : name;
        String modifier = name.contains(":") ? name.substring(name.indexOf(':') + 1) : null;
        String valueProblem = resultParameterProblem(base, values);
        if (valueProblem != null) {
            return Refusal.invalid(valueProblem);
        }
        if (allowed.any()) {
            return null;
        }
        if (!allowed.typeSearch()) {
            return allowed.names().contains(name) ? null
                    : Refusal.unknown("Parameter " + quoted(name) + " is not supported for this interaction");
        }
        // A search of one type.
        String type = request.getResourceName();
        if (SearchParameters.RESULT_PARAMETERS.contains(name)) {
            return null;
        }
        if (Includes.isInclude(name)) {
            return SearchParameters.includable(type) ? null
                    : Refusal.unknown("Parameter " + quoted(name) + " is not supported for " + type + " searches");
        }
        if (name.contains(".")) { // a chain: patient.identifier, subject:Patient.name
            try {
                parameters.chain(type, name);
                return null;
            } catch (InvalidRequestException e) {
                return Refusal.unknown(e.getMessage());
            }
        }
        if (base.equals("_has")) {
            return Refusal.unknown("Search parameter _has is not supported (reverse chaining)");
        }
        var kind = parameters.kind(type, base);
        if (kind.isEmpty()) {
            return Refusal.unknown("Search parameter " + quoted(base) + " is not supported for " + type
                    + " (the CapabilityStatement lists what each type supports)");
        }
        if (modifier != null && !parameters.evaluates(type, base, modifier)) {
            return Refusal.invalid("Modifier :" + quoted(modifier) + " is not supported for search parameter " + base);
        }
        if ("missing".equals(modifier)) {
            for (String v : values) {
                if (!v.equals("true") && !v.equals("false")) {
                    return Refusal.invalid("Search parameter " + name + " takes true or false");
                }
            }
        }
        if (dated(kind.get(), base) && !"missing".equals(modifier)) {
            for (String v : values) {
                for (String one : v.split(",")) {
                    if (one.length() >= 2 && Character.isLetter(one.charAt(0)) && Character.isLetter(one.charAt(1))
                            && !DATE_PREFIXES.contains(one.substring(0, 2))
                            && !(kind.get() == SearchParameters.Kind.DATE && one.startsWith("ap"))) {
                        return Refusal.invalid("Search parameter " + base + ": the prefix " + (one.startsWith("ap")
                                ? "ap (approximately) is not supported on " + base : "is not one of eq, ne, gt, lt, ge, le, sa, eb"
                                + (kind.get() == SearchParameters.Kind.DATE ? ", ap" : "")));
                    }
                }
            }
        }
        return null;
    }

    /** What an interaction takes: a type search (the registry decides), any parameter, or a fixed set. */
    private record Allowed(boolean typeSearch, boolean any, Set<String> names) {
        static final Allowed TYPE_SEARCH = new Allowed(true, false, Set.of());
        /** A conditional update or delete: its criteria are the provider's to refuse (405). */
        static final Allowed ANY = new Allowed(false, true, Set.of());

        static Allowed only(Set<String> a, Set<String> b) {
            Set<String> all = new java.util.HashSet<>(a);
            all.addAll(b);
            return new Allowed(false, false, all);
        }
    }

    private static Allowed allowed(RequestDetails request) {
        String operation = request.getOperation();
        if (request.getParameters().containsKey(Constants.PARAM_PAGINGACTION)) {
            return Allowed.only(COMMON, PAGING);
        }
        if ("_history".equals(operation) && (request.getId() == null || !request.getId().hasVersionIdPart())) {
            return Allowed.only(COMMON, HISTORY);
        }
        if ("$everything".equals(operation)) {
            return Allowed.only(COMMON, EVERYTHING);
        }
        boolean ofType = request.getResourceName() != null && request.getId() == null;
        if (ofType && (operation == null && request.getRequestType() == RequestTypeEnum.GET
                || "_search".equals(operation) && request.getRequestType() == RequestTypeEnum.POST)) {
            return Allowed.TYPE_SEARCH;
        }
        if (ofType && operation == null
                && (request.getRequestType() == RequestTypeEnum.PUT || request.getRequestType() == RequestTypeEnum.DELETE)) {
            return Allowed.ANY;
        }
        return Allowed.only(COMMON, Set.of());
    }

    private String resultParameterProblem(String name, String[] values) {
        for (String v : values) {
            switch (name) {
                case "_count" -> {
                    int count;
                    try {
                        count = Integer.parseInt(v);
                    } catch (NumberFormatException e) {
                        return "_count takes a whole number from 0 to " + maxPageSize;
                    }
                    if (count < 0) {
                        return "_count takes a whole number from 0 to " + maxPageSize;
                    }
                }
                case Constants.PARAM_OFFSET -> {
                    if (!v.matches("\\d{1,9}")) {
                        return "_offset takes a whole number from 0";
                    }
                }
                case "_summary" -> {
                    if (!SUMMARY.contains(v)) {
                        return "_summary takes true, false, text, data or count";
                    }
                }
                case "_total" -> {
                    if (!TOTAL.contains(v)) {
                        return "_total takes none, estimate or accurate";
                    }
                }
                default -> {
                    // checked elsewhere
                }
            }
        }
        return null;
    }

    static boolean lenient(List<String> prefer) {
        if (prefer == null) {
            return false;
        }
        for (String header : prefer) {
            for (String part : header.split("[,;]")) {
                if (part.strip().toLowerCase(Locale.ROOT).replace(" ", "").equals("handling=lenient")) {
                    return true;
                }
            }
        }
        return false;
    }

    /** Parameter names are client input: quoted only when they are plain names, never as given otherwise. */
    private static String quoted(String name) {
        return name.matches("[A-Za-z_][A-Za-z0-9_\\-.]{0,63}") ? name : "(not a parameter name)";
    }
}
