package fr.hdsvault.api.resources;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import org.hl7.fhir.instance.model.api.IBaseResource;

/**
 * The result of one search: the matching ids and versions, fixed when the search ran, loaded
 * and decrypted page by page. HAPI's paging provider keeps it between pages, so next and
 * previous links show the same set under concurrent writes.
 */
final class VaultSearchResults extends CallerBoundResults<Map.Entry<String, VaultRepository.Match>> {

    private final VaultRepository repository;
    private final ExecutorService loaders;

    VaultSearchResults(VaultRepository repository, ExecutorService loaders, String type, List<VaultRepository.Match> matches,
                       Integer pageSize) {
        this(repository, loaders, matches.stream().map(m -> Map.entry(type, m)).toList(), pageSize);
    }

    /** Results of several types, as (type, match) pairs: $everything. */
    VaultSearchResults(VaultRepository repository, ExecutorService loaders,
                       List<Map.Entry<String, VaultRepository.Match>> matches, Integer pageSize) {
        super(matches, pageSize);
        this.repository = repository;
        this.loaders = loaders;
    }

    @Override
    protected List<IBaseResource> load(List<Map.Entry<String, VaultRepository.Match>> page) {
        return repository.load(page, loaders);
    }
}
