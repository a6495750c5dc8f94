package fr.hdsvault.api.resources;

import ca.uhn.fhir.rest.annotation.Create;
import ca.uhn.fhir.rest.annotation.Delete;
import ca.uhn.fhir.rest.annotation.History;
import ca.uhn.fhir.rest.annotation.IdParam;
import ca.uhn.fhir.rest.annotation.Read;
import ca.uhn.fhir.rest.annotation.ResourceParam;
import ca.uhn.fhir.rest.annotation.Update;
import ca.uhn.fhir.rest.api.MethodOutcome;
import ca.uhn.fhir.rest.server.IResourceProvider;
import ca.uhn.fhir.rest.annotation.ConditionalUrlParam;
import ca.uhn.fhir.rest.annotation.Count;
import ca.uhn.fhir.rest.annotation.Since;
import ca.uhn.fhir.rest.server.exceptions.PreconditionFailedException;
import java.util.Date;
import ca.uhn.fhir.rest.annotation.OptionalParam;
import ca.uhn.fhir.rest.annotation.Search;
import ca.uhn.fhir.rest.annotation.Sort;
import ca.uhn.fhir.rest.api.SortOrderEnum;
import ca.uhn.fhir.rest.api.SortSpec;
import ca.uhn.fhir.rest.api.server.IBundleProvider;
import ca.uhn.fhir.rest.param.DateRangeParam;
import ca.uhn.fhir.rest.param.ReferenceAndListParam;
import ca.uhn.fhir.rest.param.ReferenceOrListParam;
import ca.uhn.fhir.rest.param.ReferenceParam;
import ca.uhn.fhir.rest.param.TokenAndListParam;
import ca.uhn.fhir.rest.param.TokenOrListParam;
import ca.uhn.fhir.rest.param.TokenParam;
import ca.uhn.fhir.rest.server.exceptions.InvalidRequestException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import fr.hdsvault.api.security.AccessPolicy;
import fr.hdsvault.api.security.Permission;
import fr.hdsvault.api.security.Visibility;
import org.hl7.fhir.instance.model.api.IBaseResource;
import org.hl7.fhir.instance.model.api.IIdType;

/**
 * The REST interactions of one resource type, bound by HAPI. One instance per R4 type, all
 * backed by the same {@link VaultRepository}.
 */
public final class VaultResourceProvider implements IResourceProvider {

    private final Class<? extends IBaseResource> type;
    private final String typeName;
    private final VaultRepository repository;
    private final java.util.concurrent.ExecutorService loaders;
    private final AccessPolicy access;

    public VaultResourceProvider(Class<? extends IBaseResource> type, String typeName, VaultRepository repository,
                                 java.util.concurrent.ExecutorService loaders, AccessPolicy access) {
        this.type = type;
        this.typeName = typeName;
        this.repository = repository;
        this.loaders = loaders;
        this.access = access;
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
            List<VaultRepository.Match> existing = repository.search(typeName, conditionalCriteria(ifNoneExist),
                    access.visibility(typeName, Permission.SEARCH));
            if (existing.size() > 1) {
                throw new PreconditionFailedException("If-None-Exist matches " + existing.size() + " resources");
            }
            if (existing.size() == 1) {
                VaultRepository.Match m = existing.get(0);
                MethodOutcome found = new MethodOutcome(new org.hl7.fhir.r4.model.IdType(typeName, m.id(), String.valueOf(m.version())));
                found.setCreated(false);
                found.setResource(repository.vread(typeName, m.id(), m.version(), Visibility.ALL));
                return found;
            }
        }
        return outcome(repository.create(typeName, resource, visibility));
    }

    /** The criteria of an If-None-Exist header: identifier and _id only. */
    private VaultRepository.Criteria conditionalCriteria(String conditionalUrl) {
        String query = conditionalUrl.contains("?") ? conditionalUrl.substring(conditionalUrl.indexOf('?') + 1) : conditionalUrl;
        List<List<String>> ids = new ArrayList<>();
        List<VaultRepository.TokenClause> clauses = new ArrayList<>();
        for (String pair : query.split("&")) {
            int eq = pair.indexOf('=');
            String name = eq < 0 ? pair : pair.substring(0, eq);
            String value = eq < 0 ? "" : java.net.URLDecoder.decode(pair.substring(eq + 1), java.nio.charset.StandardCharsets.UTF_8);
            switch (name) {
                case "_id" -> ids.add(List.of(value.split(",")));
                case "identifier" -> {
                    int bar = value.indexOf('|');
                    String system = bar < 0 ? null : value.substring(0, bar);
                    String code = bar < 0 ? value : value.substring(bar + 1);
                    clauses.add(new VaultRepository.TokenClause("identifier", List.of(tokens().tokenQuery("identifier", system, code))));
                }
                default -> throw new InvalidRequestException("If-None-Exist supports identifier and _id, not " + name);
            }
        }
        if (ids.isEmpty() && clauses.isEmpty()) {
            throw new InvalidRequestException("If-None-Exist needs criteria, e.g. identifier=system|value");
        }
        return new VaultRepository.Criteria(ids, null, null, clauses, false);
    }

    /** The version in the id, when present, comes from an If-Match header. */
    @Update
    public MethodOutcome update(@IdParam IIdType id, @ResourceParam IBaseResource resource) {
        Long expected = id.hasVersionIdPart() ? versionOf(id) : null;
        return outcome(repository.update(typeName, id.getIdPart(), resource, expected, access.visibility(typeName, Permission.UPDATE)));
    }

    @Delete
    public MethodOutcome delete(@IdParam IIdType id) {
        repository.delete(typeName, id.getIdPart(), access.visibility(typeName, Permission.DELETE));
        return new MethodOutcome();
    }

    /**
     * Search on every type: {@code _id}, {@code _lastUpdated}, {@code patient}, {@code subject},
     * {@code identifier}, {@code code}, {@code _sort=[-]_lastUpdated}, {@code _count}. Any other
     * parameter is refused with 400 (HAPI matches no method), never ignored.
     */
    @Search(allowUnknownParams = false)
    public IBundleProvider search(
            @OptionalParam(name = "_id") TokenAndListParam ids,
            @OptionalParam(name = "_lastUpdated") DateRangeParam lastUpdated,
            @OptionalParam(name = "patient") ReferenceAndListParam patient,
            @OptionalParam(name = "subject") ReferenceAndListParam subject,
            @OptionalParam(name = "identifier") TokenAndListParam identifier,
            @OptionalParam(name = "code") TokenAndListParam code,
            @Sort SortSpec sort,
            @Count Integer count) {
        Visibility visibility = access.visibility(typeName, Permission.SEARCH);
        requireSupported("identifier", identifier);
        requireSupported("code", code);
        requireSupported("patient", patient);
        requireSupported("subject", subject);
        List<List<String>> idClauses = new ArrayList<>();
        if (ids != null) {
            for (TokenOrListParam or : ids.getValuesAsQueryTokens()) {
                idClauses.add(or.getValuesAsQueryTokens().stream().map(TokenParam::getValue).toList());
            }
        }
        List<VaultRepository.TokenClause> clauses = new ArrayList<>();
        addTokens(clauses, "identifier", identifier);
        addTokens(clauses, "code", code);
        addReferences(clauses, "patient", patient, "Patient");
        addReferences(clauses, "subject", subject, null);
        Instant from = lastUpdated == null || lastUpdated.getLowerBoundAsInstant() == null ? null
                : lastUpdated.getLowerBoundAsInstant().toInstant();
        Instant to = lastUpdated == null || lastUpdated.getUpperBoundAsInstant() == null ? null
                : lastUpdated.getUpperBoundAsInstant().toInstant();
        List<VaultRepository.Match> matches = repository.search(typeName,
                new VaultRepository.Criteria(idClauses, from, to, clauses, newestFirst(sort)), visibility);
        return new VaultSearchResults(repository, loaders, typeName, matches, count);
    }

    /** A parameter on a type without its element is refused, as the CapabilityStatement says. */
    private void requireSupported(String param, Object value) {
        if (value != null && !tokens().supports(typeName, param)) {
            throw new InvalidRequestException("Search parameter " + param + " is not supported for " + typeName);
        }
    }

    private void addTokens(List<VaultRepository.TokenClause> clauses, String param, TokenAndListParam and) {
        if (and == null) {
            return;
        }
        for (TokenOrListParam or : and.getValuesAsQueryTokens()) {
            List<String> tokens = new ArrayList<>();
            for (TokenParam t : or.getValuesAsQueryTokens()) {
                if (t.getModifier() != null) {
                    throw new InvalidRequestException("Search parameter " + param + ": modifier :" + t.getModifier().getValue()
                            + " is not supported");
                }
                tokens.add(tokens().tokenQuery(param, t.getSystem(), t.getValue()));
            }
            clauses.add(new VaultRepository.TokenClause(param, tokens));
        }
    }

    private void addReferences(List<VaultRepository.TokenClause> clauses, String param, ReferenceAndListParam and,
                               String impliedType) {
        if (and == null) {
            return;
        }
        for (ReferenceOrListParam or : and.getValuesAsQueryTokens()) {
            List<String> tokens = new ArrayList<>();
            for (ReferenceParam ref : or.getValuesAsQueryTokens()) {
                if (ref.getChain() != null) {
                    throw new InvalidRequestException("Search parameter " + param + ": chained searches are not supported");
                }
                String type = ref.getResourceType() != null ? ref.getResourceType() : impliedType;
                if (type == null) {
                    throw new InvalidRequestException("Search parameter " + param + ": give the reference as Type/id");
                }
                if (impliedType != null && !impliedType.equals(type)) {
                    throw new InvalidRequestException("Search parameter " + param + " refers to a " + impliedType);
                }
                tokens.add(tokens().referenceQuery(param, type, ref.getIdPart()));
            }
            clauses.add(new VaultRepository.TokenClause(param, tokens));
        }
    }

    private static boolean newestFirst(SortSpec sort) {
        return newestFirst(sort, "_lastUpdated");
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

    @History
    public List<IBaseResource> history(@IdParam IIdType id) {
        return repository.history(typeName, id.getIdPart(), access.visibility(typeName, Permission.READ));
    }

    /** Type history: every version of every resource of the type, newest first, paged. */
    @History
    public IBundleProvider typeHistory(@Since Date since, @Count Integer count) {
        return new VaultSearchResults(repository, loaders, typeName,
                repository.typeHistory(typeName, since == null ? null : since.toInstant(), access.visibility(typeName, Permission.SEARCH)),
                count);
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
            throw new ca.uhn.fhir.rest.server.exceptions.InvalidRequestException("Invalid version id: " + id.getVersionIdPart());
        }
    }
}
