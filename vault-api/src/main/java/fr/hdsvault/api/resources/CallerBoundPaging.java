package fr.hdsvault.api.resources;

import ca.uhn.fhir.rest.api.server.IBundleProvider;
import ca.uhn.fhir.rest.api.server.RequestDetails;
import ca.uhn.fhir.rest.server.FifoMemoryPagingProvider;
import fr.hdsvault.api.security.AccessPolicy;

/**
 * Search results kept between pages (so that paging links stay consistent under concurrent
 * writes), served back only to the caller that ran the search: a paging link replayed with
 * another user's token answers 410 as if the search had expired, and reveals nothing.
 */
public final class CallerBoundPaging extends FifoMemoryPagingProvider {

    public CallerBoundPaging(int size) {
        super(size);
    }

    @Override
    public synchronized IBundleProvider retrieveResultList(RequestDetails request, String id) {
        IBundleProvider results = super.retrieveResultList(request, id);
        if (results instanceof CallerBoundResults<?> own && own.owner().equals(AccessPolicy.currentCaller().grantKey())) {
            return results;
        }
        return null;
    }
}
