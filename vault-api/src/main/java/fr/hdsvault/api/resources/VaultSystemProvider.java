package fr.hdsvault.api.resources;

import ca.uhn.fhir.rest.annotation.Count;
import ca.uhn.fhir.rest.annotation.IdParam;
import ca.uhn.fhir.rest.annotation.Operation;
import ca.uhn.fhir.rest.annotation.Transaction;
import ca.uhn.fhir.rest.annotation.TransactionParam;
import ca.uhn.fhir.rest.api.server.IBundleProvider;
import ca.uhn.fhir.rest.server.exceptions.ForbiddenOperationException;
import fr.hdsvault.api.security.AccessPolicy;
import fr.hdsvault.api.security.Permission;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import org.hl7.fhir.r4.model.Bundle;
import org.hl7.fhir.r4.model.IdType;
import org.hl7.fhir.r4.model.Patient;

/** Interactions outside one resource type's provider: transaction and batch bundles, Patient/$everything. */
public final class VaultSystemProvider {

    private final BundleProcessor bundles;
    private final VaultRepository repository;
    private final ExecutorService loaders;
    private final AccessPolicy access;

    public VaultSystemProvider(BundleProcessor bundles, VaultRepository repository, ExecutorService loaders, AccessPolicy access) {
        this.bundles = bundles;
        this.repository = repository;
        this.loaders = loaders;
        this.access = access;
    }

    /**
     * Patient/[id]/$everything: the Patient and every resource of its compartment, paged. Needs
     * read access to that Patient; holds only the types the caller's scopes let it read.
     */
    @Operation(name = "$everything", idempotent = true, type = Patient.class)
    public IBundleProvider everything(@IdParam IdType patientId, @Count Integer count) {
        List<Map.Entry<String, VaultRepository.Match>> all = repository.compartment(patientId.getIdPart(),
                access.visibility("Patient", Permission.READ));
        Map<String, Boolean> readable = new HashMap<>();
        List<Map.Entry<String, VaultRepository.Match>> visible = all.stream()
                .filter(e -> readable.computeIfAbsent(e.getKey(), this::mayRead)).toList();
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

    @Transaction
    public Bundle transaction(@TransactionParam Bundle bundle) {
        return bundles.process(bundle);
    }
}
