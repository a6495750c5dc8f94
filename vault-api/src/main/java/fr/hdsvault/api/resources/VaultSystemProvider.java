package fr.hdsvault.api.resources;

import ca.uhn.fhir.rest.annotation.Transaction;
import ca.uhn.fhir.rest.annotation.TransactionParam;
import org.hl7.fhir.r4.model.Bundle;

/** System-level interactions at the base URL: transaction and batch bundles. */
public final class VaultSystemProvider {

    private final BundleProcessor bundles;

    public VaultSystemProvider(BundleProcessor bundles) {
        this.bundles = bundles;
    }

    @Transaction
    public Bundle transaction(@TransactionParam Bundle bundle) {
        return bundles.process(bundle);
    }
}
