package fr.hdsvault.api.resources;

import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.rest.api.SortSpec;
import fr.hdsvault.api.security.AccessPolicy;
import fr.hdsvault.api.security.Permission;
import fr.hdsvault.api.security.Visibility;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import org.hl7.fhir.instance.model.api.IBaseResource;

/**
 * A search of one type, as a caller asked it: its clauses over the blind index, a chain's inner
 * search among what the caller may see of the chained type, the check of the decrypted candidates
 * the index cannot decide, and the order. The one place where a search's steps are put together,
 * for the type searches, their chains and their includes ({@link Includes}).
 */
public final class TypeSearch {

    private final FhirContext fhir;
    private final SearchParameters parameters;
    private final VaultRepository repository;
    private final ResourceSearch search;
    private final ExecutorService loaders;
    private final AccessPolicy access;
    private final SearchClauses clauses;

    public TypeSearch(FhirContext fhir, VaultRepository repository, ResourceSearch search, ExecutorService loaders, AccessPolicy access,
                      SearchClauses clauses) {
        this.fhir = fhir;
        this.parameters = new SearchParameters(fhir);
        this.repository = repository;
        this.search = search;
        this.loaders = loaders;
        this.access = access;
        this.clauses = clauses;
    }

    /**
     * The matches of a search of {@code type} by {@code parameters} (names with their modifiers, as
     * the request has them; result parameters are not criteria), in the order {@code sort} asks.
     */
    public List<VersionRef> matches(String type, Map<String, ? extends List<String>> parameters, SortSpec sort, Visibility visibility) {
        List<SearchCriteria.Clause> found = clauses.clauses("Search", type, parameters, this::chained);
        DecryptedRefinement.DateOrder byDate = clauses.dateOrder(type, sort);
        SearchCriteria criteria = new SearchCriteria(found, byDate == null && VaultResourceProvider.newestFirst(sort, "_lastUpdated"));
        if (!criteria.checks().isEmpty() || byDate != null) {
            return DecryptedRefinement.refine(repository, loaders, search.candidates(type, criteria, visibility), criteria.checks(),
                    byDate);
        }
        return search.search(type, criteria, visibility);
    }

    /** The {@code _include} and {@code _revinclude} directives of a search of {@code type} (400 for one the vault cannot follow). */
    public Includes includes(String type, Map<String, ? extends List<String>> request) {
        return Includes.parse(fhir, parameters, type, request);
    }

    /** The resources {@code includes} add to a page of matches, with the caller's grants. */
    List<IBaseResource> included(Includes includes, List<IBaseResource> page) {
        return includes.isEmpty() ? List.of() : includes.resolve(fhir, parameters, this, page);
    }

    /** A chain's inner search: run as a search of the chained type by this caller, so it finds only what the caller may see. */
    private List<String> chained(String targetType, String param, String value) {
        Visibility visibility = access.visibility(targetType, Permission.SEARCH);
        return matches(targetType, Map.of(param, List.of(value)), null, visibility).stream().map(VersionRef::id).toList();
    }

    /** The search's criteria: what is not an include nor a result parameter. */
    static <V> Map<String, V> criteria(Map<String, V> request) {
        Map<String, V> out = new java.util.LinkedHashMap<>(request);
        out.keySet().removeIf(Includes::isInclude);
        return out;
    }

    VaultRepository repository() {
        return repository;
    }

    ResourceSearch index() {
        return search;
    }

    ExecutorService loaders() {
        return loaders;
    }

    AccessPolicy access() {
        return access;
    }
}
