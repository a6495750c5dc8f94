package fr.hdsvault.api.audit;

import ca.uhn.fhir.interceptor.api.Hook;
import ca.uhn.fhir.interceptor.api.Interceptor;
import ca.uhn.fhir.interceptor.api.Pointcut;
import ca.uhn.fhir.rest.server.servlet.ServletRequestDetails;
import fr.hdsvault.api.resources.VaultRepository;
import org.hl7.fhir.instance.model.api.IBaseResource;
import org.hl7.fhir.r4.model.Bundle;
import org.hl7.fhir.r4.model.OperationOutcome;

/**
 * Tells the audit context which resources, and which patients' data, a FHIR request carried in
 * and out: the resources of a write (and of every bundle entry), the resources of a response
 * (every entry of a search page).
 */
@Interceptor
public final class AuditInterceptor {

    private final VaultRepository repository;
    private final RequestedResources requested;

    AuditInterceptor(VaultRepository repository, RequestedResources requested) {
        this.repository = repository;
        this.requested = requested;
    }

    @Hook(Pointcut.SERVER_INCOMING_REQUEST_PRE_HANDLED)
    public void incoming(ServletRequestDetails request) {
        AuditContext.of(request.getServletRequest()).ifPresent(context -> {
            IBaseResource body = request.getResource();
            if (body instanceof Bundle bundle) {
                // Entries are named by the ids the vault assigns, once written (VaultSystemProvider); before
                // that, only the existing resources a bundle targets by id, so that a refused bundle names them.
                context.bundleType(bundle.getType() == null ? null : bundle.getType().toCode());
                bundle.getEntry().forEach(e -> touchTarget(context, e.getRequest()));
            } else {
                touch(context, body);
            }
        });
    }

    @Hook(Pointcut.SERVER_OUTGOING_RESPONSE)
    public boolean outgoing(ServletRequestDetails request, IBaseResource response) {
        AuditContext.of(request.getServletRequest()).ifPresent(context -> {
            if (response instanceof Bundle bundle) {
                bundle.getEntry().forEach(e -> touch(context, e.getResource()));
            } else {
                touch(context, response);
            }
        });
        return true;
    }

    private void touchTarget(AuditContext context, Bundle.BundleEntryRequestComponent request) {
        if ((request.getMethod() == Bundle.HTTPVerb.PUT || request.getMethod() == Bundle.HTTPVerb.DELETE) && request.hasUrl()) {
            requested.addResource(context, request.getUrl());
        }
    }

    private void touch(AuditContext context, IBaseResource resource) {
        if (resource == null || resource instanceof OperationOutcome || resource instanceof Bundle) {
            return;
        }
        String type = resource.fhirType();
        String id = resource.getIdElement().getIdPart();
        if (id == null && "Patient".equals(type)) {
            return; // a Patient being created: its id, and so its compartment, come with the response
        }
        context.touched(id == null ? null : type + "/" + id, repository.compartmentOf(type, id, resource));
    }
}
