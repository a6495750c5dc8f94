package fr.hdsvault.api.resources;

import java.util.List;
import java.util.concurrent.ExecutorService;
import org.hl7.fhir.instance.model.api.IBaseResource;

/**
 * The result of one search, history or $everything: the versions it lists, fixed when it ran,
 * loaded and decrypted page by page. HAPI's paging provider keeps it between pages, so next and
 * previous links show the same set under concurrent writes.
 */
public final class VaultSearchResults extends CallerBoundResults<VersionRef> {

    private final VaultRepository repository;
    private final ExecutorService loaders;

    VaultSearchResults(VaultRepository repository, ExecutorService loaders, List<VersionRef> versions, Integer pageSize) {
        this(repository, loaders, versions, pageSize, 0);
    }

    /** A page of a history, from {@code offset} (HAPI links history pages by {@code _offset}). */
    VaultSearchResults(VaultRepository repository, ExecutorService loaders, List<VersionRef> versions, Integer pageSize, int offset) {
        super(kind(repository, loaders), versions, pageSize, offset);
        this.repository = repository;
        this.loaders = loaders;
    }

    @Override
    protected List<IBaseResource> load(List<VersionRef> page) {
        return repository.load(page, loaders);
    }

    /** Versions, written "type id version deleted lastUpdated-millis" (ids and types hold no space). */
    public static Kind<VersionRef> kind(VaultRepository repository, ExecutorService loaders) {
        return new Kind<>() {
            @Override
            public String name() {
                return "versions";
            }

            @Override
            public String encode(VersionRef v) {
                return v.type() + " " + v.id() + " " + v.version() + " " + (v.deleted() ? 1 : 0) + " "
                        + (v.lastUpdated() == null ? "-" : String.valueOf(v.lastUpdated().toEpochMilli()));
            }

            @Override
            public VersionRef decode(String line) {
                String[] f = line.split(" ");
                return new VersionRef(f[0], f[1], Long.parseLong(f[2]), "1".equals(f[3]),
                        "-".equals(f[4]) ? null : java.time.Instant.ofEpochMilli(Long.parseLong(f[4])));
            }

            @Override
            public CallerBoundResults<VersionRef> rebuild(List<VersionRef> matches, Integer pageSize) {
                return new VaultSearchResults(repository, loaders, matches, pageSize);
            }
        };
    }
}
