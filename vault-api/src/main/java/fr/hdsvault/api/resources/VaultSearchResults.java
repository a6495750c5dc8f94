package fr.hdsvault.api.resources;

import ca.uhn.fhir.rest.api.server.IBundleProvider;
import fr.hdsvault.api.security.AccessPolicy;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import org.hl7.fhir.instance.model.api.IBaseResource;
import org.hl7.fhir.instance.model.api.IPrimitiveType;
import org.hl7.fhir.r4.model.InstantType;

/**
 * The result of one search: the matching ids and versions, fixed when the search ran, loaded
 * and decrypted page by page. HAPI's paging provider keeps it between pages, so next and
 * previous links show the same set under concurrent writes.
 */
final class VaultSearchResults implements IBundleProvider, CallerOwned {

    private final VaultRepository repository;
    private final ExecutorService loaders;
    private final List<Map.Entry<String, VaultRepository.Match>> matches;
    private final Instant published;
    private final Integer pageSize;
    /** Whose search this is: its pages are served back to the same grants only. */
    private final String owner;

    VaultSearchResults(VaultRepository repository, ExecutorService loaders, String type, List<VaultRepository.Match> matches,
                       Integer pageSize) {
        this(repository, loaders, matches.stream().map(m -> Map.entry(type, m)).toList(), pageSize);
    }

    /** Results of several types, as (type, match) pairs: $everything. */
    VaultSearchResults(VaultRepository repository, ExecutorService loaders,
                       List<Map.Entry<String, VaultRepository.Match>> matches, Integer pageSize) {
        this.repository = repository;
        this.loaders = loaders;
        this.matches = List.copyOf(matches);
        this.published = Instant.now();
        this.pageSize = pageSize;
        this.owner = AccessPolicy.currentCaller().grantKey();
    }

    @Override
    public String owner() {
        return owner;
    }

    @Override
    public IPrimitiveType<Date> getPublished() {
        return new InstantType(Date.from(published));
    }

    @Override
    public List<IBaseResource> getResources(int fromIndex, int toIndex) {
        return repository.load(matches.subList(Math.min(fromIndex, matches.size()), Math.min(toIndex, matches.size())), loaders);
    }

    @Override
    public String getUuid() {
        return null;
    }

    @Override
    public Integer preferredPageSize() {
        return pageSize;
    }

    @Override
    public Integer size() {
        return matches.size();
    }
}
