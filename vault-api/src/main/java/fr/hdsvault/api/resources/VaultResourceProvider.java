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
import ca.uhn.fhir.rest.annotation.Count;
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

    public VaultResourceProvider(Class<? extends IBaseResource> type, String typeName, VaultRepository repository) {
        this.type = type;
        this.typeName = typeName;
        this.repository = repository;
    }

    @Override
    public Class<? extends IBaseResource> getResourceType() {
        return type;
    }

    @Read(version = true)
    public IBaseResource read(@IdParam IIdType id) {
        return id.hasVersionIdPart() ? repository.vread(typeName, id.getIdPart(), versionOf(id))
                : repository.read(typeName, id.getIdPart());
    }

    @Create
    public MethodOutcome create(@ResourceParam IBaseResource resource) {
        VaultRepository.Written written = repository.create(typeName, resource);
        return outcome(written);
    }

    /** The version in the id, when present, comes from an If-Match header. */
    @Update
    public MethodOutcome update(@IdParam IIdType id, @ResourceParam IBaseResource resource) {
        Long expected = id.hasVersionIdPart() ? versionOf(id) : null;
        return outcome(repository.update(typeName, id.getIdPart(), resource, expected));
    }

    @Delete
    public MethodOutcome delete(@IdParam IIdType id) {
        repository.delete(typeName, id.getIdPart());
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
                new VaultRepository.Criteria(idClauses, from, to, clauses, newestFirst(sort)));
        return new VaultSearchResults(repository, typeName, matches, count);
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
        if (sort == null) {
            return false;
        }
        if (!"_lastUpdated".equals(sort.getParamName()) || sort.getChain() != null) {
            throw new InvalidRequestException("Only _sort=_lastUpdated and _sort=-_lastUpdated are supported");
        }
        return sort.getOrder() == SortOrderEnum.DESC;
    }

    private SearchTokens tokens() {
        return repository.searchTokens();
    }

    @History
    public List<IBaseResource> history(@IdParam IIdType id) {
        return repository.history(typeName, id.getIdPart());
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
