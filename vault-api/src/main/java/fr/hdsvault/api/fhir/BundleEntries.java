package fr.hdsvault.api.fhir;

import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.interceptor.api.Hook;
import ca.uhn.fhir.interceptor.api.Interceptor;
import ca.uhn.fhir.interceptor.api.Pointcut;
import fr.hdsvault.api.resources.VersionRef;
import java.util.Date;
import org.hl7.fhir.instance.model.api.IAnyResource;
import org.hl7.fhir.instance.model.api.IBaseResource;
import org.hl7.fhir.r4.model.Bundle;
import org.hl7.fhir.r4.model.IdType;
import org.hl7.fhir.r4.model.OperationOutcome;
import org.hl7.fhir.r4.model.Resource;

/**
 * Bundles as R4 defines them, whatever HAPI's bundle factory leaves out: in a searchset every
 * entry has {@code search.mode} ({@code match}, or {@code outcome} for the OperationOutcome
 * naming a record that failed its integrity check); in a history every entry has its
 * {@code request} (POST for a version 1, PUT after, DELETE for a deletion, which has no resource)
 * and its {@code response} (status, etag, lastModified). The providers mark the special entries
 * with {@link #deletion} and {@link #damaged}; this interceptor writes the entries out.
 */
@Interceptor
public final class BundleEntries {

    private static final String KIND = BundleEntries.class.getName();
    private static final String DELETED = "deleted";
    private static final String OUTCOME = "outcome";

    /** A history entry for a deletion: the id and version, no content. */
    public static IBaseResource deletion(FhirContext fhir, VersionRef v) {
        IAnyResource r = (IAnyResource) fhir.getResourceDefinition(v.type()).newInstance();
        r.setId(new IdType(v.type(), v.id(), String.valueOf(v.version())));
        r.getMeta().setVersionId(String.valueOf(v.version()));
        r.getMeta().setLastUpdated(v.lastUpdated() == null ? null : Date.from(v.lastUpdated()));
        r.setUserData(KIND, DELETED);
        return r;
    }

    /** An entry saying that a record of the result failed its integrity check and was not served. */
    public static IBaseResource damaged(String reference) {
        OperationOutcome outcome = new OperationOutcome();
        outcome.addIssue().setSeverity(OperationOutcome.IssueSeverity.ERROR).setCode(OperationOutcome.IssueType.EXCEPTION)
                .setDiagnostics("The record " + reference + " failed its integrity check and was not returned; the incident is logged");
        outcome.setUserData(KIND, OUTCOME);
        return outcome;
    }

    @Hook(Pointcut.SERVER_OUTGOING_RESPONSE)
    public boolean conform(IBaseResource response) {
        if (response instanceof Bundle bundle && bundle.getType() != null) {
            switch (bundle.getType()) {
                case SEARCHSET -> bundle.getEntry().forEach(BundleEntries::searchEntry);
                case HISTORY -> bundle.getEntry().forEach(BundleEntries::historyEntry);
                default -> {
                    // transaction and batch responses are built whole by the vault
                }
            }
        }
        return true;
    }

    private static void searchEntry(Bundle.BundleEntryComponent entry) {
        Resource r = entry.getResource();
        if (r != null && OUTCOME.equals(r.getUserData(KIND))) {
            entry.setFullUrl(null);
            entry.getSearch().setMode(Bundle.SearchEntryMode.OUTCOME);
        } else if (!entry.getSearch().hasMode()) {
            entry.getSearch().setMode(Bundle.SearchEntryMode.MATCH);
        }
    }

    private static void historyEntry(Bundle.BundleEntryComponent entry) {
        Resource r = entry.getResource();
        if (r == null) {
            return;
        }
        IdType id = r.getIdElement();
        String version = r.getMeta().getVersionId() != null ? r.getMeta().getVersionId() : id.getVersionIdPart();
        String type = r.fhirType();
        Bundle.BundleEntryResponseComponent response = new Bundle.BundleEntryResponseComponent()
                .setEtag("W/\"" + version + "\"").setLastModified(r.getMeta().getLastUpdated());
        if (DELETED.equals(r.getUserData(KIND))) {
            entry.getRequest().setMethod(Bundle.HTTPVerb.DELETE).setUrl(type + "/" + id.getIdPart());
            response.setStatus("204 No Content");
            entry.setResource(null);
        } else if ("1".equals(version)) {
            entry.getRequest().setMethod(Bundle.HTTPVerb.POST).setUrl(type);
            response.setStatus("201 Created");
        } else {
            entry.getRequest().setMethod(Bundle.HTTPVerb.PUT).setUrl(type + "/" + id.getIdPart());
            response.setStatus("200 OK");
        }
        entry.setResponse(response);
    }
}
