package fr.hdsvault.api.resources;

import ca.uhn.fhir.model.api.ResourceMetadataKeyEnum;
import ca.uhn.fhir.model.valueset.BundleEntrySearchModeEnum;
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
    /** A search's: the search mode of its entries, and what its includes add; null for a history or $everything. */
    private final TypeSearch searches;
    private final Includes includes;

    VaultSearchResults(VaultRepository repository, ExecutorService loaders, List<VersionRef> versions, Integer pageSize) {
        this(repository, loaders, versions, pageSize, 0);
    }

    /** A page of a history, from {@code offset} (HAPI links history pages by {@code _offset}). */
    VaultSearchResults(VaultRepository repository, ExecutorService loaders, List<VersionRef> versions, Integer pageSize, int offset) {
        this(repository, loaders, versions, pageSize, offset, null, null);
    }

    /** The results of a type search, with what its includes add to each page. */
    VaultSearchResults(VaultRepository repository, ExecutorService loaders, List<VersionRef> versions, Integer pageSize, int offset,
                       TypeSearch searches, Includes includes) {
        super(kind(repository, loaders, searches), versions, pageSize, offset);
        this.repository = repository;
        this.loaders = loaders;
        this.searches = searches;
        this.includes = includes;
    }

    @Override
    protected List<IBaseResource> load(List<VersionRef> page) {
        List<IBaseResource> loaded = repository.load(page, loaders);
        if (searches == null) {
            return loaded;
        }
        List<IBaseResource> out = new java.util.ArrayList<>(loaded);
        out.forEach(r -> ResourceMetadataKeyEnum.ENTRY_SEARCH_MODE.put(r, BundleEntrySearchModeEnum.MATCH));
        out.addAll(searches.included(includes, loaded));
        return out;
    }

    @Override
    protected String header() {
        return includes == null ? null : includes.encode();
    }

    /**
     * Versions, written "type id version deleted lastUpdated-millis" (ids and types hold no space);
     * a search's includes in the header.
     */
    public static Kind<VersionRef> kind(VaultRepository repository, ExecutorService loaders, TypeSearch searches) {
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
            public CallerBoundResults<VersionRef> rebuild(List<VersionRef> matches, Integer pageSize, String header) {
                return header == null ? new VaultSearchResults(repository, loaders, matches, pageSize)
                        : new VaultSearchResults(repository, loaders, matches, pageSize, 0, searches, Includes.decode(header));
            }
        };
    }
}
