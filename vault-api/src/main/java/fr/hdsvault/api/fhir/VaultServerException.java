package fr.hdsvault.api.fhir;

import ca.uhn.fhir.rest.server.exceptions.InternalErrorException;

/** A server-side failure (500) whose message the vault wrote for the client, such as a record failing its integrity check. */
public class VaultServerException extends InternalErrorException {

    public VaultServerException(String message) {
        super(message);
    }
}
