package fr.hdsvault.api.resources;

import ca.uhn.fhir.rest.annotation.At;
import ca.uhn.fhir.rest.annotation.ConditionalUrlParam;
import ca.uhn.fhir.rest.annotation.Count;
import ca.uhn.fhir.rest.annotation.Create;
import ca.uhn.fhir.rest.annotation.Delete;
import ca.uhn.fhir.rest.annotation.History;
import ca.uhn.fhir.rest.annotation.Offset;
import ca.uhn.fhir.rest.annotation.IdParam;
import ca.uhn.fhir.rest.annotation.Read;
import ca.uhn.fhir.rest.annotation.ResourceParam;
import ca.uhn.fhir.rest.annotation.Search;
import ca.uhn.fhir.rest.annotation.Since;
import ca.uhn.fhir.rest.annotation.Sort;
import ca.uhn.fhir.rest.annotation.Update;
import ca.uhn.fhir.rest.api.MethodOutcome;
import ca.uhn.fhir.rest.api.SortOrderEnum;
import ca.uhn.fhir.rest.api.SortSpec;
import ca.uhn.fhir.rest.api.server.IBundleProvider;
import ca.uhn.fhir.rest.api.server.RequestDetails;
import ca.uhn.fhir.rest.param.DateParam;
import ca.uhn.fhir.rest.param.DateRangeParam;
import ca.uhn.fhir.rest.server.IResourceProvider;
import ca.uhn.fhir.rest.server.exceptions.InvalidRequestException;
import ca.uhn.fhir.rest.server.exceptions.MethodNotAllowedException;
import ca.uhn.fhir.rest.server.exceptions.PreconditionFailedException;
import fr.hdsvault.api.security.AccessPolicy;
import fr.hdsvault.api.security.Permission;
import fr.hdsvault.api.security.Visibility;
import java.util.Date;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import org.hl7.fhir.instance.model.api.IBaseResource;
import org.hl7.fhir.instance.model.api.IIdType;
import org.hl7.fhir.r4.model.IdType;

/**
 * The REST interactions of one resource type, bound by HAPI. One instance per R4 type, all
 * backed by the same {@link VaultRepository} and {@link ResourceSearch}. Which parameters,
 * modifiers and prefixes a search takes is decided once, in {@link SearchParameters}, and
 * checked before HAPI binds the method (fhir.StrictParameters); what reaches this class is
 * evaluated as FHIR defines it.
 */
public final class VaultResourceProvider implements IResourceProvider {

    private final Class<? extends IBaseResource> type;
    private final String typeName;
    private final VaultRepository repository;
    private final ResourceSearch search;
    private final ExecutorService loaders;
    private final AccessPolicy access;
    private final TypeSearch searches;

    public VaultResourceProvider(Class<? extends IBaseResource> type, String typeName, VaultRepository repository,
                                 ResourceSearch search, ExecutorService loaders, AccessPolicy access, TypeSearch searches) {
        this.type = type;
        this.typeName = typeName;
        this.repository = repository;
        this.search = search;
        this.loaders = loaders;
        this.access = access;
        this.searches = searches;
    }

    @Override
    public Class<? extends IBaseResource> getResourceType() {
        return type;
    }

    @Read(version = true)
    public IBaseResource read(@IdParam IIdType id) {
        Visibility visibility = access.visibility(typeName, Permission.READ);
        return id.hasVersionIdPart() ? repository.vread(typeName, id.getIdPart(), versionOf(id), visibility)
                : repository.read(typeName, id.getIdPart(), visibility);
    }

    /**
     * Create; with If-None-Exist (identifier or _id criteria) it creates only when nothing
     * matches, answers the existing resource when one does, and 412 when several do.
     */
    @Create
    public MethodOutcome create(@ResourceParam IBaseResource resource, @ConditionalUrlParam String ifNoneExist) {
        Visibility visibility = access.visibility(typeName, Permission.CREATE);
        if (ifNoneExist != null) {
            // Matches are searched among what the caller may see: another patient's record neither blocks nor leaks.
            List<VersionRef> existing = search.search(typeName, ConditionalCriteria.parse("If-None-Exist", ifNoneExist, tokens()),
                    access.visibility(typeName, Permission.SEARCH));
            if (existing.size() > 1) {
                throw new PreconditionFailedException("If-None-Exist matches " + existing.size() + " resources");
            }
            if (existing.size() == 1) {
                VersionRef m = existing.get(0);
                MethodOutcome found = new MethodOutcome(new IdType(typeName, m.id(), String.valueOf(m.version())));
                found.setCreated(false);
                found.setResource(repository.vread(typeName, m.id(), m.version(), Visibility.ALL));
                return found;
            }
        }
        return outcome(repository.create(typeName, resource, visibility));
    }

    /** The version in the id, when present, comes from an If-Match header. */
    @Update
    public MethodOutcome update(@IdParam IIdType id, @ResourceParam IBaseResource resource, @ConditionalUrlParam String conditional) {
        requireId(id, "update", "PUT");
        Long expected = id.hasVersionIdPart() ? versionOf(id) : null;
        return outcome(repository.update(typeName, id.getIdPart(), resource, expected, access.visibility(typeName, Permission.UPDATE)));
    }

    @Delete
    public MethodOutcome delete(@IdParam IIdType id, @ConditionalUrlParam String conditional) {
        requireId(id, "delete", "DELETE");
        repository.delete(typeName, id.getIdPart(), access.visibility(typeName, Permission.DELETE));
        return new MethodOutcome();
    }

    /** Conditional update and delete (by search criteria, or on the whole type) are not offered: 405, nothing changes. */
    private void requireId(IIdType id, String interaction, String method) {
        if (id == null || !id.hasIdPart()) {
            throw new MethodNotAllowedException("Conditional " + interaction + " is not supported: " + method + " one resource by id ("
                    + method + " [base]/" + typeName + "/[id])");
        }
    }

    /**
     * Search: the parameters {@link SearchParameters} lists for the type ({@code _id},
     * {@code _lastUpdated}, token, URI, string, date and reference parameters, chains one level
     * deep), with their modifiers and prefixes; {@code _sort} by {@code _lastUpdated} or a date
     * parameter, {@code _count}, {@code _include} and {@code _revinclude} ({@link Includes}).
     * Commas are alternatives, repeated parameters all apply. Which names reach here was checked
     * by fhir.StrictParameters.
     */
    @Search(allowUnknownParams = true)
    public IBundleProvider search(RequestDetails request, @Sort SortSpec sort, @Count Integer count) {
        Visibility visibility = access.visibility(typeName, Permission.SEARCH);
        Map<String, List<String>> parameters = new java.util.LinkedHashMap<>();
        request.getParameters().forEach((name, values) -> parameters.put(name, List.of(values)));
        Includes includes = searches.includes(typeName, parameters);
        List<VersionRef> matches = searches.matches(typeName, TypeSearch.criteria(parameters), sort, visibility);
        return new VaultSearchResults(repository, loaders, matches, count, 0, searches, includes);
    }

    /**
     * The one sort the vault offers, by time: false for oldest first (also without _sort), true
     * for newest first; any other sort parameter is refused (400).
     */
    public static boolean newestFirst(SortSpec sort, String... timeParameters) {
        if (sort == null) {
            return false;
        }
        if (!List.of(timeParameters).contains(sort.getParamName()) || sort.getChain() != null) {
            throw new InvalidRequestException("Only _sort=" + timeParameters[0] + " and _sort=-" + timeParameters[0]
                    + " are supported");
        }
        return sort.getOrder() == SortOrderEnum.DESC;
    }

    private SearchTokens tokens() {
        return repository.searchTokens();
    }

    /** Instance history: every version the caller may see, deletions included, newest first, paged. */
    @History
    public IBundleProvider history(@IdParam IIdType id, @Since Date since, @At DateRangeParam at, @Count Integer count,
                                   @Offset Integer offset) {
        return new VaultSearchResults(repository, loaders, search.history(typeName, id.getIdPart(), window(since, at),
                access.visibility(typeName, Permission.READ)), count, offset == null ? 0 : offset);
    }

    /** Type history: every version of every resource of the type, deletions included, newest first, paged. */
    @History
    public IBundleProvider typeHistory(@Since Date since, @At DateRangeParam at, @Count Integer count, @Offset Integer offset) {
        return new VaultSearchResults(repository, loaders, search.history(typeName, null, window(since, at),
                access.visibility(typeName, Permission.SEARCH)), count, offset == null ? 0 : offset);
    }

    /** {@code _since} (an instant) and {@code _at} (a date at its precision: the versions current at some time during it). */
    static ResourceSearch.Window window(Date since, DateRangeParam at) {
        SearchCriteria.Range during = null;
        if (at != null) {
            DateParam value = at.getLowerBound() != null ? at.getLowerBound() : at.getUpperBound();
            if (value == null || value.getPrefix() != null && value.getPrefix() != ca.uhn.fhir.rest.param.ParamPrefixEnum.EQUAL) {
                throw new InvalidRequestException("_at takes one date or dateTime, without a prefix");
            }
            during = DateRanges.of(value);
        }
        return new ResourceSearch.Window(since == null ? null : since.toInstant(), during == null ? null : during.from(),
                during == null ? null : during.to());
    }

    private static MethodOutcome outcome(VaultRepository.Written written) {
        MethodOutcome outcome = new MethodOutcome(written.resource().getIdElement());
        outcome.setCreated(written.created());
        outcome.setResource(written.resource());
        return outcome;
    }

    private static long versionOf(IIdType id) {
        try {
            return Long.parseLong(id.getVersionIdPart());
        } catch (NumberFormatException e) {
            throw new InvalidRequestException("Invalid version id: a version is a whole number");
        }
    }
}
