package fr.hdsvault.api.resources;

import java.util.List;
import java.util.concurrent.ExecutorService;
import org.hl7.fhir.instance.model.api.IBaseResource;

/**
 * The result of one search, history or $everything: the versions it lists, fixed when it ran,
 * loaded and decrypted page by page. HAPI's paging provider keeps it between pages, so next and
 * previous links show the same set under concurrent writes.
 */
final class VaultSearchResults extends CallerBoundResults<VersionRef> {

    private final VaultRepository repository;
    private final ExecutorService loaders;

    VaultSearchResults(VaultRepository repository, ExecutorService loaders, List<VersionRef> versions, Integer pageSize) {
        this(repository, loaders, versions, pageSize, 0);
    }

    /** A page of a history, from {@code offset} (HAPI links history pages by {@code _offset}). */
    VaultSearchResults(VaultRepository repository, ExecutorService loaders, List<VersionRef> versions, Integer pageSize, int offset) {
        super(versions, pageSize, offset);
        this.repository = repository;
        this.loaders = loaders;
    }

    @Override
    protected List<IBaseResource> load(List<VersionRef> page) {
        return repository.load(page, loaders);
    }
}
