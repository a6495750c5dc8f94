package fr.hdsvault.api.resources;

import ca.uhn.fhir.rest.api.server.IBundleProvider;
import fr.hdsvault.api.security.AccessPolicy;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import org.hl7.fhir.instance.model.api.IBaseResource;
import org.hl7.fhir.instance.model.api.IPrimitiveType;
import org.hl7.fhir.r4.model.InstantType;

/**
 * A result list fixed when the search ran, loaded page by page, and bound to the caller that
 * ran it: {@link DatabasePaging} keeps it between pages, for any node, and serves its pages
 * back to the same grants only.
 */
public abstract class CallerBoundResults<T> implements IBundleProvider {

    /** How a kind of result list is written between pages, one match a line, and rebuilt by any node. */
    public interface Kind<T> {
        String name();

        String encode(T match);

        T decode(String line);

        /** @param header what {@link #header()} wrote, or null */
        CallerBoundResults<T> rebuild(List<T> matches, Integer pageSize, String header);
    }

    private final Kind<T> kind;
    private final List<T> matches;
    private final Integer pageSize;
    private final int offset;
    private final String owner = AccessPolicy.currentCaller().grantKey();
    private final Instant published = Instant.now();

    protected CallerBoundResults(Kind<T> kind, List<T> matches, Integer pageSize) {
        this(kind, matches, pageSize, 0);
    }

    /**
     * @param offset where the requested page starts: HAPI pages histories by {@code _offset} and
     *               reads each page from index 0 of the provider it is given
     */
    protected CallerBoundResults(Kind<T> kind, List<T> matches, Integer pageSize, int offset) {
        this.kind = kind;
        this.matches = List.copyOf(matches);
        this.pageSize = pageSize;
        this.offset = Math.max(0, offset);
    }

    /** What the list needs besides its matches to serve its pages (one line, no line break), or null. */
    protected String header() {
        return null;
    }

    /** Loads (fetches, decrypts) these matches, in order; a page may add resources after them (a search's includes). */
    protected abstract List<IBaseResource> load(List<T> page);

    final String owner() {
        return owner;
    }

    final Kind<T> kind() {
        return kind;
    }

    final List<T> matches() {
        return matches;
    }

    @Override
    public final List<IBaseResource> getResources(int fromIndex, int toIndex) {
        long from = Math.min((long) offset + fromIndex, matches.size());
        long to = Math.min((long) offset + toIndex, matches.size());
        return load(matches.subList((int) from, (int) Math.max(from, to)));
    }

    @Override
    public final IPrimitiveType<Date> getPublished() {
        return new InstantType(Date.from(published));
    }

    @Override
    public final String getUuid() {
        return null;
    }

    @Override
    public final Integer preferredPageSize() {
        return pageSize;
    }

    @Override
    public final Integer size() {
        return matches.size();
    }
}
