package fr.hdsvault.api.resources;

import fr.hdsvault.api.fhir.VaultServerException;

/**
 * A stored version that failed an integrity check (object missing, SHA-256 mismatch, envelope
 * tag or commitment wrong): it is never served. A read answers 500 with this message; a search
 * or $everything names it in an OperationOutcome entry and serves the healthy entries.
 */
public final class DamagedRecordException extends VaultServerException {

    private final String reference;

    DamagedRecordException(String type, String id, long version) {
        super("The record " + type + "/" + id + " (version " + version
                + ") failed its integrity check and was not returned; the incident is logged");
        this.reference = type + "/" + id + "/_history/" + version;
    }

    /** Type/id/_history/version of the damaged version. */
    public String reference() {
        return reference;
    }
}
