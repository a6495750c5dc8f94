package fr.hdsvault.api.resources;

import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.context.RuntimeResourceDefinition;
import ca.uhn.fhir.rest.server.exceptions.InvalidRequestException;
import fr.hdsvault.api.security.AccessPolicy;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The one list of what a search may ask for, per resource type: each parameter the vault
 * evaluates, its kind, and the modifiers it evaluates. The CapabilityStatement, the strict
 * parameter check and the search providers all read it, so that what is announced, what is
 * accepted and what is evaluated cannot drift apart. Anything not listed is refused (400).
 */
public final class SearchParameters {

    /** How a parameter's values are read and matched. */
    public enum Kind {
        /** {@code _id}: logical ids; {@code :not}. */
        ID(Set.of("not")),
        /** {@code _lastUpdated}: an instant compared with a date at its precision; prefixes eq ne gt lt ge le sa eb. */
        LAST_UPDATED(Set.of()),
        /**
         * identifier, code, the token parameters of {@link #TOKENS} and {@code _tag}, {@code _security}: blind
         * tokens of {@code system|code} and {@code code}; {@code :not}, {@code :missing}.
         */
        TOKEN(Set.of("not", "missing")),
        /** {@code _profile}: a blind token of the canonical URL, compared whole; {@code :missing}. */
        URI(Set.of("missing")),
        /**
         * name, family, address...: case- and accent-insensitive prefix matching; blind tokens of the
         * normalised value's first characters (up to {@link StringSearch#PREFIX}), longer queries
         * checked on the decrypted candidates; {@code :exact} (a token of the value as written), {@code :missing}.
         */
        STRING(Set.of("exact", "missing")),
        /**
         * birthdate, date...: dates, date-times and periods at any precision, every prefix; blind tokens
         * of the years and months a value touches select candidates, the decrypted value decides
         * ({@link DateSearch}); {@code :missing}.
         */
        DATE(Set.of("missing")),
        /**
         * patient, subject and the parameters of {@link #REFERENCES}: blind tokens of {@code Type/id};
         * {@code :missing}, a {@code :Type} modifier, {@code :identifier} (the reference's own
         * identifier, a token parameter of its own: {@link #identifierOf}); chains one level deep
         * ({@code patient.identifier=}).
         */
        REFERENCE(Set.of("missing")),
        /** AuditEvent's own parameters (agent, action, outcome, patient, entity, date): no modifier. */
        AUDIT(Set.of());

        private final Set<String> modifiers;

        Kind(Set<String> modifiers) {
            this.modifiers = modifiers;
        }
    }

    /** The parameters of the result, valid on every search (their values are checked by the strict check). */
    public static final Set<String> RESULT_PARAMETERS = Set.of("_count", "_sort", "_total", "_summary", "_elements",
            "_format", "_pretty");

    private static final Map<String, Kind> AUDIT_EVENT = Map.of("patient", Kind.AUDIT, "agent", Kind.AUDIT, "entity", Kind.AUDIT,
            "action", Kind.AUDIT, "outcome", Kind.AUDIT, "date", Kind.AUDIT, "subtype", Kind.AUDIT);

    /**
     * The token parameters US Core 6.1 names SHALL or SHOULD, per type, besides identifier and
     * code. Their elements are the paths of the R4 search parameter definitions HAPI carries
     * ({@link #paths}); every one is an equality on a code, indexed as the code parameter is.
     */
    static final Map<String, List<String>> TOKENS = Map.ofEntries(
            Map.entry("Patient", List.of("gender")),
            Map.entry("Observation", List.of("category", "status")),
            Map.entry("Condition", List.of("category", "clinical-status", "verification-status")),
            Map.entry("Encounter", List.of("class", "type", "status")),
            Map.entry("MedicationRequest", List.of("status", "intent")),
            Map.entry("Procedure", List.of("status")),
            Map.entry("Immunization", List.of("status")),
            Map.entry("DiagnosticReport", List.of("category", "status")),
            Map.entry("AllergyIntolerance", List.of("clinical-status", "verification-status")),
            Map.entry("CarePlan", List.of("category", "status")),
            Map.entry("CareTeam", List.of("status")),
            Map.entry("Goal", List.of("lifecycle-status")),
            Map.entry("DocumentReference", List.of("category", "type", "status")));

    /** The string parameters US Core 6.1 names SHALL or SHOULD, per type. */
    static final Map<String, List<String>> STRINGS = Map.of(
            "Patient", List.of("name", "family", "given"),
            "Practitioner", List.of("name"),
            "Organization", List.of("name", "address"),
            "Location", List.of("name", "address", "address-city", "address-state", "address-postalcode"));

    /** The date parameters US Core 6.1 names SHALL or SHOULD, per type. */
    static final Map<String, List<String>> DATES = Map.ofEntries(
            Map.entry("Patient", List.of("birthdate")),
            Map.entry("Observation", List.of("date")),
            Map.entry("Condition", List.of("onset-date", "recorded-date", "abatement-date")),
            Map.entry("Encounter", List.of("date")),
            Map.entry("MedicationRequest", List.of("authoredon")),
            Map.entry("Procedure", List.of("date")),
            Map.entry("Immunization", List.of("date")),
            Map.entry("DiagnosticReport", List.of("date")),
            Map.entry("CarePlan", List.of("date")),
            Map.entry("Goal", List.of("target-date")),
            Map.entry("DocumentReference", List.of("date", "period")));

    /**
     * The reference parameters, besides patient and subject, that the vault indexes: what US Core's
     * {@code _revinclude=Provenance:target} needs (a search by a reference needs its tokens; an
     * {@code _include} reads the references of the decrypted resources, and needs none).
     */
    static final Map<String, List<String>> REFERENCES = Map.of("Provenance", List.of("target"));

    private static final String IDENTIFIER = ":identifier";

    /** The name under which the identifiers a reference parameter's references carry are indexed, as a token parameter. */
    public static String identifierOf(String referenceParam) {
        return referenceParam + IDENTIFIER;
    }

    /** The common parameters every type has, on its meta. */
    static final Map<String, String> META = Map.of("_tag", "meta.tag", "_security", "meta.security", "_profile", "meta.profile");

    private final FhirContext fhir;

    public SearchParameters(FhirContext fhir) {
        this.fhir = fhir;
    }

    /**
     * The elements a token or URI parameter of {@code type} indexes, as terser paths
     * ({@code Observation.category}); empty when the vault does not index it that way.
     */
    public List<String> paths(String type, String param) {
        RuntimeResourceDefinition def = fhir.getResourceDefinition(type);
        if (META.containsKey(param)) {
            return List.of(type + "." + META.get(param));
        }
        if ((param.equals("identifier") || param.equals("code")) && has(def, param)) {
            return List.of(type + "." + param);
        }
        if (param.endsWith(IDENTIFIER)) {
            String reference = param.substring(0, param.length() - IDENTIFIER.length());
            return kind(type, reference).orElse(null) != Kind.REFERENCE ? List.of()
                    : referencePaths(type, reference).stream().map(r -> r.path() + ".identifier").distinct().toList();
        }
        if (declared(type, param) == null || def.getSearchParam(param) == null) {
            return List.of();
        }
        return elementPaths(def, type, param).stream().map(ReferencePath::path).distinct().toList();
    }

    /** An element holding references, and the one type they must name to count ({@code where(resolve() is Patient)}), or null. */
    public record ReferencePath(String path, String onlyType) {
    }

    /**
     * The elements of any reference parameter of {@code type} that R4 defines (what {@code _include}
     * follows); empty when {@code param} is not one.
     */
    public List<ReferencePath> referencePaths(String type, String param) {
        RuntimeResourceDefinition def = fhir.getResourceDefinition(type);
        var sp = def.getSearchParam(param);
        if (sp == null || sp.getParamType() != ca.uhn.fhir.rest.api.RestSearchParameterTypeEnum.REFERENCE) {
            return List.of();
        }
        return elementPaths(def, type, param);
    }

    /** The types a reference parameter may name (every type when R4 does not restrict it). */
    public java.util.Set<String> referenceTargets(String type, String param) {
        if (param.equals("patient")) {
            return java.util.Set.of("Patient");
        }
        var sp = fhir.getResourceDefinition(type).getSearchParam(param);
        return sp == null || !sp.hasTargets() ? fhir.getResourceTypes() : sp.getTargets();
    }

    /**
     * R4's definitions are FHIRPath, often a union over types ("A.x | B.y") with casts ("A.x.as(dateTime)",
     * "(A.x as date)") or a reference's type ("A.subject.where(resolve() is Patient)"): the element paths of
     * this type are what is kept, the element's type is read from the value.
     */
    private static List<ReferencePath> elementPaths(RuntimeResourceDefinition def, String type, String param) {
        java.util.regex.Pattern resolveIs = java.util.regex.Pattern.compile("^(.*)\\.where\\(resolve\\(\\) is ([A-Za-z]+)\\)$");
        List<ReferencePath> out = new java.util.ArrayList<>();
        for (String part : def.getSearchParam(param).getPath().split("\\|")) {
            String path = part.trim().replaceAll("^\\((.*)\\)$", "$1").replaceAll(" as [a-zA-Z]+$", "")
                    .replaceAll("\\.as\\([a-zA-Z]+\\)$", "");
            String onlyType = null;
            java.util.regex.Matcher m = resolveIs.matcher(path);
            if (m.matches()) {
                path = m.group(1);
                onlyType = m.group(2);
            }
            if (path.matches(java.util.regex.Pattern.quote(type) + "(\\.[a-zA-Z]+)+")) {
                String terser = choices(def, path);
                if (terser != null && out.stream().noneMatch(r -> r.path().equals(terser))) {
                    out.add(new ReferencePath(terser, onlyType));
                }
            }
        }
        return out;
    }

    /** The path as the terser reads it: a choice element is named with "[x]" ("Observation.effective[x]"); null if unknown. */
    private static String choices(RuntimeResourceDefinition def, String path) {
        String[] parts = path.split("\\.");
        StringBuilder out = new StringBuilder(parts[0]);
        ca.uhn.fhir.context.BaseRuntimeElementCompositeDefinition<?> element = def;
        for (int i = 1; i < parts.length; i++) {
            if (element == null) {
                return null;
            }
            ca.uhn.fhir.context.BaseRuntimeChildDefinition child = element.getChildByName(parts[i]);
            String name = parts[i];
            if (child == null) {
                child = element.getChildByName(parts[i] + "[x]");
                name = parts[i] + "[x]";
            }
            if (child == null) {
                return null;
            }
            out.append('.').append(name);
            if (i + 1 < parts.length) {
                var next = child.getChildByName(child.getValidChildNames().iterator().next());
                element = next instanceof ca.uhn.fhir.context.BaseRuntimeElementCompositeDefinition<?> c ? c : null;
            }
        }
        return out.toString();
    }

    /** The kind under which US Core's list puts a parameter of a type, or null. */
    private static Kind declared(String type, String param) {
        if (TOKENS.getOrDefault(type, List.of()).contains(param)) {
            return Kind.TOKEN;
        }
        if (STRINGS.getOrDefault(type, List.of()).contains(param)) {
            return Kind.STRING;
        }
        if (REFERENCES.getOrDefault(type, List.of()).contains(param)) {
            return Kind.REFERENCE;
        }
        return DATES.getOrDefault(type, List.of()).contains(param) ? Kind.DATE : null;
    }

    /**
     * What a parameter's stored tokens were built from: its paths, the extraction's version (bumped
     * when SearchTokens changes meaning) and, for strings and dates, their scheme's. A change of any
     * of them rebuilds the parameter's tokens (index.ParameterIndexer).
     */
    public String definition(String type, String param) {
        String base = String.join(" | ", paths(type, param)) + " @v1";
        return switch (kind(type, param).orElse(Kind.TOKEN)) {
            case STRING -> base + " " + StringSearch.SCHEME;
            case DATE -> base + " " + DateSearch.SCHEME;
            default -> base;
        };
    }

    /** Every token, URI, string, date and listed reference parameter of {@code type} with its paths: what a write of that type indexes. */
    public Map<String, List<String>> indexedPaths(String type) {
        Map<String, List<String>> out = new java.util.LinkedHashMap<>();
        for (String param : java.util.stream.Stream.of(java.util.stream.Stream.of("identifier", "code"), TOKENS.getOrDefault(type,
                List.<String>of()).stream(), STRINGS.getOrDefault(type, List.<String>of()).stream(), DATES.getOrDefault(type,
                List.<String>of()).stream(), REFERENCES.getOrDefault(type, List.<String>of()).stream(), META.keySet().stream().sorted()).flatMap(x -> x).toList()) {
            List<String> paths = paths(type, param);
            if (!paths.isEmpty()) {
                out.put(param, paths);
            }
        }
        for (String reference : java.util.stream.Stream.concat(java.util.stream.Stream.of("patient", "subject"),
                REFERENCES.getOrDefault(type, List.of()).stream()).toList()) {
            List<String> paths = paths(type, identifierOf(reference));
            if (!paths.isEmpty()) {
                out.put(identifierOf(reference), paths);
            }
        }
        return out;
    }

    /** The kind of a parameter on a type, or empty when the vault does not evaluate it there. */
    public Optional<Kind> kind(String type, String param) {
        if (AccessPolicy.AUDIT_EVENT.equals(type)) {
            return Optional.ofNullable(AUDIT_EVENT.get(param));
        }
        if (param.endsWith(IDENTIFIER)) { // a reference's identifiers, indexed as a token parameter
            return paths(type, param).isEmpty() ? Optional.empty() : Optional.of(Kind.TOKEN);
        }
        RuntimeResourceDefinition def = fhir.getResourceDefinition(type);
        return Optional.ofNullable(switch (param) {
            case "_id" -> Kind.ID;
            case "_lastUpdated" -> Kind.LAST_UPDATED;
            case "_profile" -> Kind.URI;
            case "_tag", "_security" -> Kind.TOKEN;
            case "identifier", "code" -> has(def, param) ? Kind.TOKEN : null;
            case "subject" -> has(def, "subject") ? Kind.REFERENCE : null;
            case "patient" -> !type.equals("Patient") && (has(def, "subject") || has(def, "patient") || has(def, "beneficiary"))
                    ? Kind.REFERENCE : null;
            default -> paths(type, param).isEmpty() ? null : declared(type, param);
        });
    }

    /** Every parameter a search of {@code type} evaluates, with its kind: what the CapabilityStatement lists. */
    public Map<String, Kind> all(String type) {
        Map<String, Kind> out = new java.util.LinkedHashMap<>();
        for (String param : java.util.stream.Stream.concat(java.util.stream.Stream.of("_id", "_lastUpdated", "patient", "subject"),
                indexedPaths(type).keySet().stream().filter(p -> !p.contains(":"))).toList()) { // x:identifier is a modifier of x
            kind(type, param).ifPresent(k -> out.put(param, k));
        }
        return out;
    }

    /** Whether a search of {@code type} takes {@code _include} and {@code _revinclude}: every type but AuditEvent. */
    public static boolean includable(String type) {
        return !AccessPolicy.AUDIT_EVENT.equals(type);
    }

    /** The {@code _include} directives {@code type} offers: each of its R4 reference parameters, as {@code Type:param}. */
    public List<String> includes(String type) {
        return fhir.getResourceDefinition(type).getSearchParams().stream()
                .filter(sp -> sp.getParamType() == ca.uhn.fhir.rest.api.RestSearchParameterTypeEnum.REFERENCE)
                .map(sp -> type + ":" + sp.getName()).sorted().toList();
    }

    /**
     * The {@code _revinclude} directives that may find resources referring to {@code type}: the
     * reference parameters the vault indexes (their tokens are what a reverse include searches).
     */
    public List<String> reverseIncludes(String type) {
        List<String> out = new java.util.ArrayList<>();
        for (String source : new java.util.TreeSet<>(fhir.getResourceTypes())) {
            if (AccessPolicy.AUDIT_EVENT.equals(source)) {
                continue;
            }
            for (String param : java.util.stream.Stream.concat(java.util.stream.Stream.of("patient", "subject"),
                    REFERENCES.getOrDefault(source, List.of()).stream()).toList()) {
                if (kind(source, param).orElse(null) == Kind.REFERENCE && referenceTargets(source, param).contains(type)) {
                    out.add(source + ":" + param);
                }
            }
        }
        return out;
    }

    /** The reference parameter and type a chain goes through, and the parameter it asks of that type. */
    public record Chain(String reference, List<String> targetTypes, String inner) {
    }

    /**
     * Reads a chained parameter's name, {@code reference[:Type].inner[:modifier]}: a reference
     * parameter of {@code type} that the vault indexes, and a parameter that each named (or possible)
     * target type evaluates. Throws 400 saying which part is not supported.
     */
    public Chain chain(String type, String name) {
        int dot = name.indexOf('.');
        String left = name.substring(0, dot);
        String inner = name.substring(dot + 1);
        String reference = left.contains(":") ? left.substring(0, left.indexOf(':')) : left;
        String typeModifier = left.contains(":") ? left.substring(left.indexOf(':') + 1) : null;
        if (inner.contains(".")) {
            throw new InvalidRequestException("Chains of more than one level are not supported (" + safe(name) + ")");
        }
        if (kind(type, reference).orElse(null) != Kind.REFERENCE) {
            throw new InvalidRequestException("Chained parameter " + safe(name) + " is not supported: " + type + " has no reference parameter "
                    + safe(reference) + " that the vault indexes");
        }
        Set<String> possible = referenceTargets(type, reference);
        if (typeModifier != null && !possible.contains(typeModifier)) {
            throw new InvalidRequestException("Chained parameter " + safe(name) + ": " + reference + " does not refer to "
                    + safe(typeModifier));
        }
        String innerParam = inner.contains(":") ? inner.substring(0, inner.indexOf(':')) : inner;
        String innerModifier = inner.contains(":") ? inner.substring(inner.indexOf(':') + 1) : null;
        List<String> targets = (typeModifier != null ? Set.of(typeModifier) : possible).stream().sorted()
                .filter(t -> !t.equals("AuditEvent") && kind(t, innerParam).isPresent()
                        && (innerModifier == null || evaluates(t, innerParam, innerModifier)))
                .toList();
        if (targets.isEmpty()) {
            throw new InvalidRequestException("Chained parameter " + safe(name) + " is not supported: no type " + reference + " refers to has a "
                    + "search parameter " + safe(inner) + " that the vault evaluates");
        }
        if (targets.size() > 1 && typeModifier == null) {
            throw new InvalidRequestException("Chained parameter " + safe(name) + ": " + reference + " may refer to " + String.join(", ",
                    targets) + "; name one (" + reference + ":" + targets.get(0) + "." + inner + ")");
        }
        return new Chain(reference, targets, inner);
    }

    /**
     * The modifiers evaluated for a parameter of {@code type}, without their colon, as the
     * CapabilityStatement documents them ({@code [type]}: a reference's type, {@code subject:Patient=}).
     */
    public List<String> modifiers(String type, String param) {
        Kind kind = kind(type, param).orElse(null);
        if (kind == null) {
            return List.of();
        }
        List<String> out = new java.util.ArrayList<>(new java.util.TreeSet<>(kind.modifiers));
        if (evaluates(type, param, "identifier")) {
            out.add("identifier");
        }
        if (kind == Kind.REFERENCE) {
            out.add(param.equals("patient") ? "Patient" : "[type]");
        }
        return out;
    }

    /** Whether {@code modifier} (without the colon) is evaluated for this parameter. */
    public boolean evaluates(String type, String param, String modifier) {
        Optional<Kind> kind = kind(type, param);
        if (kind.isEmpty()) {
            return false;
        }
        if (kind.get().modifiers.contains(modifier)) {
            return true;
        }
        if (modifier.equals("identifier")) {
            return kind.get() == Kind.REFERENCE && kind(type, identifierOf(param)).isPresent();
        }
        // A reference parameter's type modifier (subject:Patient=123); patient refers to Patients only.
        return kind.get() == Kind.REFERENCE && fhir.getResourceTypes().contains(modifier)
                && (!param.equals("patient") || modifier.equals("Patient"));
    }

    private static boolean has(RuntimeResourceDefinition def, String child) {
        return def.getChildByName(child) != null;
    }

    /** A parameter or modifier name for a message: the name when it is one, never an arbitrary value. */
    private static String safe(String name) {
        return name.matches("[A-Za-z_][A-Za-z0-9_.-]{0,63}") ? name : "(invalid name)";
    }
}
