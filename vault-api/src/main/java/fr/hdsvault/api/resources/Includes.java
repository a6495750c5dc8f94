package fr.hdsvault.api.resources;

import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.model.api.ResourceMetadataKeyEnum;
import ca.uhn.fhir.model.valueset.BundleEntrySearchModeEnum;
import ca.uhn.fhir.rest.server.exceptions.ForbiddenOperationException;
import ca.uhn.fhir.rest.server.exceptions.InvalidRequestException;
import fr.hdsvault.api.security.Permission;
import fr.hdsvault.api.security.Visibility;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.hl7.fhir.instance.model.api.IBaseResource;
import org.hl7.fhir.instance.model.api.IIdType;
import org.hl7.fhir.r4.model.OperationOutcome;
import org.hl7.fhir.r4.model.Reference;

/**
 * A search's {@code _include} and {@code _revinclude} directives, {@code :iterate} included,
 * and the resources they add to each page. An include follows the references of the decrypted
 * page ({@code MedicationRequest:medication}), a reverse include searches the blind index for
 * the resources that refer to the page ({@code Provenance:target}); either is a search the
 * caller makes, with the caller's grants: a resource the caller may not see is not included,
 * and a type its token does not grant is named in a warning, never read.
 *
 * @param directives each as written, {@code [rev:][iterate:]Source:param[:Target]}
 */
public record Includes(List<Directive> directives) {

    /** The most resources the includes may add to one page; past it, a warning says the list is cut. */
    static final int MAX_INCLUDED = 1000;
    static final Includes NONE = new Includes(List.of());

    public Includes {
        directives = List.copyOf(directives);
    }

    /** One {@code _include} ({@code reverse} false) or {@code _revinclude}, as {@code Source:param[:Target]}. */
    public record Directive(boolean reverse, boolean iterate, String source, String param, String target) {
        String encode() {
            return (reverse ? "rev:" : "") + (iterate ? "iterate:" : "") + source + ":" + param + (target == null ? "" : ":" + target);
        }

        static Directive decode(String text) {
            boolean reverse = text.startsWith("rev:");
            String rest = reverse ? text.substring(4) : text;
            boolean iterate = rest.startsWith("iterate:");
            String[] parts = (iterate ? rest.substring(8) : rest).split(":");
            return new Directive(reverse, iterate, parts[0], parts[1], parts.length > 2 ? parts[2] : null);
        }
    }

    public boolean isEmpty() {
        return directives.isEmpty();
    }

    /** The parameter names that carry includes. */
    public static boolean isInclude(String name) {
        return name.equals("_include") || name.equals("_revinclude") || name.equals("_include:iterate")
                || name.equals("_revinclude:iterate") || name.equals("_include:recurse") || name.equals("_revinclude:recurse");
    }

    /**
     * The directives of a search of {@code type}; 400, naming the directive, for one the vault
     * cannot follow: a wildcard, a parameter that is not a reference of its source type, a target
     * the parameter cannot name, a reverse include over a reference the vault does not index, a
     * non-iterating include whose source is not the searched type.
     */
    public static Includes parse(FhirContext fhir, SearchParameters parameters, String type, Map<String, ? extends List<String>> request) {
        List<Directive> out = new ArrayList<>();
        request.forEach((name, values) -> {
            if (!isInclude(name)) {
                return;
            }
            boolean reverse = name.startsWith("_revinclude");
            boolean iterate = name.contains(":");
            for (String value : values) {
                for (String one : value.split(",")) {
                    out.add(directive(fhir, parameters, type, name, reverse, iterate, one.strip()));
                }
            }
        });
        return new Includes(out);
    }

    private static Directive directive(FhirContext fhir, SearchParameters parameters, String type, String name, boolean reverse,
                                       boolean iterate, String value) {
        String[] parts = value.split(":");
        if (value.equals("*") || parts.length < 2 || parts.length > 3 || parts[1].equals("*")) {
            throw new InvalidRequestException(name + " takes Source:parameter or Source:parameter:Target; wildcards are not supported");
        }
        String source = parts[0];
        String param = parts[1];
        String target = parts.length == 3 ? parts[2] : null;
        if (!fhir.getResourceTypes().contains(source) || target != null && !fhir.getResourceTypes().contains(target)) {
            throw new InvalidRequestException(name + ": " + safe(value) + " does not name a resource type");
        }
        if (source.equals("AuditEvent") || "AuditEvent".equals(target)) {
            throw new InvalidRequestException(name + ": AuditEvents are read from the audit trail, not included in searches");
        }
        if (!reverse && !iterate && !source.equals(type)) {
            throw new InvalidRequestException(name + "=" + safe(value) + " is not supported: the source of an _include is the searched type, " + type
                    + " (or use _include:iterate)");
        }
        if (parameters.referencePaths(source, param).isEmpty()) {
            throw new InvalidRequestException(name + "=" + safe(value) + " is not supported: " + source + " has no reference parameter "
                    + safe(param));
        }
        if (target != null && !parameters.referenceTargets(source, param).contains(target)) {
            throw new InvalidRequestException(name + ": " + source + "." + param + " does not refer to " + target);
        }
        if (reverse && parameters.kind(source, param).orElse(null) != SearchParameters.Kind.REFERENCE) {
            throw new InvalidRequestException(name + "=" + safe(value) + " is not supported: the vault does not index " + source + "." + param
                    + " (the CapabilityStatement lists each type's searchRevInclude)");
        }
        return new Directive(reverse, iterate, source, param, target);
    }

    String encode() {
        return String.join(" ", directives.stream().map(Directive::encode).toList());
    }

    static Includes decode(String text) {
        if (text == null || text.isBlank()) {
            return NONE;
        }
        return new Includes(java.util.Arrays.stream(text.split(" ")).map(Directive::decode).toList());
    }

    /**
     * The resources the directives add to a page of matches: non-iterating ones from the page,
     * iterating ones again from what was added until nothing new comes, each resource once, none
     * already on the page; marked as included. Damaged records are left out.
     */
    List<IBaseResource> resolve(FhirContext fhir, SearchParameters parameters, TypeSearch searches, List<IBaseResource> page) {
        Set<String> seen = new LinkedHashSet<>();
        page.forEach(r -> seen.add(key(fhir, r)));
        List<IBaseResource> added = new ArrayList<>();
        Set<String> refused = new TreeSet<>();
        List<IBaseResource> frontier = page.stream().filter(r -> !(r instanceof OperationOutcome)).toList(); // damaged: no content
        boolean first = true;
        while (!frontier.isEmpty() && added.size() < MAX_INCLUDED) {
            Map<String, Set<String>> wanted = new LinkedHashMap<>(); // type -> ids, for the forward includes
            List<VersionRef> found = new ArrayList<>();
            for (Directive d : directives) {
                if (!first && !d.iterate()) {
                    continue;
                }
                if (d.reverse()) {
                    found.addAll(referring(fhir, searches, d, frontier, refused));
                } else {
                    referenced(fhir, parameters, d, frontier).forEach(ref -> {
                        if (!seen.contains(ref.getResourceType() + "/" + ref.getIdPart())) {
                            wanted.computeIfAbsent(ref.getResourceType(), t -> new LinkedHashSet<>()).add(ref.getIdPart());
                        }
                    });
                }
            }
            wanted.forEach((type, ids) -> {
                Visibility visibility = visibility(searches, type, refused);
                if (visibility != null) {
                    List<String> valid = ids.stream().filter(FhirIds::valid).toList();
                    found.addAll(searches.index().search(type, new SearchCriteria(List.of(new SearchCriteria.Ids(valid, false)), false),
                            visibility));
                }
            });
            List<VersionRef> fresh = new ArrayList<>();
            for (VersionRef v : found) {
                if (seen.add(v.type() + "/" + v.id()) && added.size() + fresh.size() < MAX_INCLUDED) {
                    fresh.add(v);
                }
            }
            List<IBaseResource> loaded = new ArrayList<>();
            for (IBaseResource r : searches.repository().load(fresh, searches.loaders())) {
                if (!(r instanceof OperationOutcome)) {
                    ResourceMetadataKeyEnum.ENTRY_SEARCH_MODE.put(r, BundleEntrySearchModeEnum.INCLUDE);
                    loaded.add(r);
                }
            }
            added.addAll(loaded);
            frontier = loaded;
            first = false;
        }
        List<String> warnings = new ArrayList<>();
        if (!refused.isEmpty()) {
            warnings.add("Resources of " + String.join(", ", refused) + " were not included: the token does not grant searching them");
        }
        if (added.size() >= MAX_INCLUDED) {
            warnings.add("Includes were cut at " + MAX_INCLUDED + " resources for this page: ask for smaller pages (_count)");
        }
        if (!warnings.isEmpty()) {
            OperationOutcome outcome = new OperationOutcome();
            outcome.setId("includes-" + java.util.UUID.randomUUID());
            warnings.forEach(w -> outcome.addIssue().setSeverity(OperationOutcome.IssueSeverity.WARNING)
                    .setCode(OperationOutcome.IssueType.INCOMPLETE).setDiagnostics(w));
            ResourceMetadataKeyEnum.ENTRY_SEARCH_MODE.put(outcome, BundleEntrySearchModeEnum.OUTCOME);
            added.add(outcome);
        }
        return added;
    }

    /** The references a forward include follows from these resources: local "Type/id" ones, of the named target type. */
    private static List<IIdType> referenced(FhirContext fhir, SearchParameters parameters, Directive d, List<IBaseResource> from) {
        List<IIdType> out = new ArrayList<>();
        List<SearchParameters.ReferencePath> paths = parameters.referencePaths(d.source(), d.param());
        for (IBaseResource r : from) {
            if (!fhir.getResourceType(r).equals(d.source())) {
                continue;
            }
            for (SearchParameters.ReferencePath path : paths) {
                for (Reference ref : fhir.newTerser().getValues(r, path.path(), Reference.class)) {
                    IIdType id = ref.getReferenceElement();
                    if (id == null || !id.hasIdPart() || !id.hasResourceType() || id.hasBaseUrl() || id.isLocal()
                            || path.onlyType() != null && !path.onlyType().equals(id.getResourceType())
                            || d.target() != null && !d.target().equals(id.getResourceType())
                            || !fhir.getResourceTypes().contains(id.getResourceType()) || id.getResourceType().equals("AuditEvent")) {
                        continue;
                    }
                    out.add(id);
                }
            }
        }
        return out;
    }

    /** What a reverse include finds: the resources of its source type whose indexed reference names one of these resources. */
    private static List<VersionRef> referring(FhirContext fhir, TypeSearch searches, Directive d, List<IBaseResource> to,
                                              Set<String> refused) {
        List<String> blind = new ArrayList<>();
        SearchTokens tokens = searches.repository().searchTokens();
        for (IBaseResource r : to) {
            String type = fhir.getResourceType(r);
            if (d.target() == null || d.target().equals(type)) {
                blind.add(tokens.referenceQuery(d.param(), type, r.getIdElement().getIdPart()));
            }
        }
        Visibility visibility = blind.isEmpty() ? null : visibility(searches, d.source(), refused);
        if (visibility == null) {
            return List.of();
        }
        return searches.index().search(d.source(), new SearchCriteria(List.of(new SearchCriteria.Tokens(d.param(), blind, false)), false),
                visibility);
    }

    /** The caller's visibility for searching {@code type}, or null (and the type noted) when its grants do not cover it. */
    private static Visibility visibility(TypeSearch searches, String type, Set<String> refused) {
        try {
            return searches.access().visibility(type, Permission.SEARCH);
        } catch (ForbiddenOperationException e) {
            refused.add(type);
            return null;
        }
    }

    private static String key(FhirContext fhir, IBaseResource r) {
        return fhir.getResourceType(r) + "/" + r.getIdElement().getIdPart();
    }

    private static String safe(String value) {
        return value.matches("[A-Za-z0-9_:\\-]{1,128}") ? value : "(not a directive)";
    }
}
