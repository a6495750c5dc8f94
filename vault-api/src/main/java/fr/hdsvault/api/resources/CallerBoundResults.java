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
 * ran it: {@link CallerBoundPaging} serves its pages back to the same grants only.
 */
public abstract class CallerBoundResults<T> implements IBundleProvider {

    private final List<T> matches;
    private final Integer pageSize;
    private final String owner = AccessPolicy.currentCaller().grantKey();
    private final Instant published = Instant.now();

    protected CallerBoundResults(List<T> matches, Integer pageSize) {
        this.matches = List.copyOf(matches);
        this.pageSize = pageSize;
    }

    /** Loads (fetches, decrypts) these matches, in order. */
    protected abstract List<IBaseResource> load(List<T> page);

    final String owner() {
        return owner;
    }

    @Override
    public final List<IBaseResource> getResources(int fromIndex, int toIndex) {
        return load(matches.subList(Math.min(fromIndex, matches.size()), Math.min(toIndex, matches.size())));
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
