package fr.hdsvault.api.resources;

import ca.uhn.fhir.model.valueset.BundleTypeEnum;
import ca.uhn.fhir.rest.annotation.Count;
import ca.uhn.fhir.rest.annotation.IdParam;
import ca.uhn.fhir.rest.annotation.Operation;
import ca.uhn.fhir.rest.annotation.Transaction;
import ca.uhn.fhir.rest.annotation.TransactionParam;
import ca.uhn.fhir.rest.api.server.IBundleProvider;
import ca.uhn.fhir.rest.api.server.RequestDetails;
import ca.uhn.fhir.rest.server.exceptions.ForbiddenOperationException;
import ca.uhn.fhir.rest.server.servlet.ServletRequestDetails;
import fr.hdsvault.api.audit.AuditContext;
import fr.hdsvault.api.security.AccessPolicy;
import fr.hdsvault.api.security.Permission;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import org.hl7.fhir.r4.model.Bundle;
import org.hl7.fhir.r4.model.IdType;
import org.hl7.fhir.r4.model.Patient;

/**
 * Interactions outside one resource type's provider: transaction and batch bundles,
 * Patient/$everything (a searchset, as R4 defines its output).
 */
public final class VaultSystemProvider {

    private final BundleProcessor bundles;
    private final VaultRepository repository;
    private final ResourceSearch search;
    private final ExecutorService loaders;
    private final AccessPolicy access;

    public VaultSystemProvider(BundleProcessor bundles, VaultRepository repository, ResourceSearch search, ExecutorService loaders,
                               AccessPolicy access) {
        this.bundles = bundles;
        this.repository = repository;
        this.search = search;
        this.loaders = loaders;
        this.access = access;
    }

    /**
     * Patient/[id]/$everything: the Patient and every resource of its compartment, paged. Needs
     * read access to that Patient; holds only the types the caller's scopes let it read.
     */
    @Operation(name = "$everything", idempotent = true, type = Patient.class, bundleType = BundleTypeEnum.SEARCHSET)
    public IBundleProvider everything(@IdParam IdType patientId, @Count Integer count) {
        List<VersionRef> all = search.compartment(patientId.getIdPart(), access.visibility("Patient", Permission.READ));
        Map<String, Boolean> readable = new HashMap<>();
        List<VersionRef> visible = all.stream().filter(v -> readable.computeIfAbsent(v.type(), this::mayRead)).toList();
        return new VaultSearchResults(repository, loaders, visible, count);
    }

    private boolean mayRead(String type) {
        try {
            access.visibility(type, Permission.READ);
            return true;
        } catch (ForbiddenOperationException e) {
            return false;
        }
    }

    /** The audit trail names what a bundle wrote by the ids assigned, one event per patient (not the bundle's urn:uuid). */
    @Transaction
    public Bundle transaction(@TransactionParam Bundle bundle, RequestDetails request) {
        BundleProcessor.Processed processed = bundles.process(bundle);
        if (request instanceof ServletRequestDetails servlet) {
            AuditContext.of(servlet.getServletRequest()).ifPresent(audit -> processed.written()
                    .forEach(w -> audit.touched(w.type() + "/" + w.id(), w.compartment())));
        }
        return processed.response();
    }
}
