package fr.hdsvault.api.resources;

import ca.uhn.fhir.rest.annotation.Count;
import ca.uhn.fhir.rest.annotation.IdParam;
import ca.uhn.fhir.rest.annotation.Operation;
import ca.uhn.fhir.rest.annotation.Transaction;
import ca.uhn.fhir.rest.api.server.IBundleProvider;
import org.hl7.fhir.r4.model.IdType;
import org.hl7.fhir.r4.model.Patient;
import ca.uhn.fhir.rest.annotation.TransactionParam;
import org.hl7.fhir.r4.model.Bundle;

/** Interactions outside one resource type's provider: transaction and batch bundles, Patient/$everything. */
public final class VaultSystemProvider {

    private final BundleProcessor bundles;
    private final VaultRepository repository;
    private final java.util.concurrent.ExecutorService loaders;

    public VaultSystemProvider(BundleProcessor bundles, VaultRepository repository, java.util.concurrent.ExecutorService loaders) {
        this.bundles = bundles;
        this.repository = repository;
        this.loaders = loaders;
    }

    /** Patient/[id]/$everything: the Patient and every resource of its compartment, paged. */
    @Operation(name = "$everything", idempotent = true, type = Patient.class)
    public IBundleProvider everything(@IdParam IdType patientId, @Count Integer count) {
        return new VaultSearchResults(repository, loaders, repository.compartment(patientId.getIdPart()), count);
    }

    @Transaction
    public Bundle transaction(@TransactionParam Bundle bundle) {
        return bundles.process(bundle);
    }
}
