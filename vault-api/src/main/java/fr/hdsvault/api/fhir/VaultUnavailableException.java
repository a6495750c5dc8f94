package fr.hdsvault.api.fhir;

import ca.uhn.fhir.rest.server.exceptions.BaseServerResponseException;

/** 503: a service the vault depends on is out (its message written by the vault, {@link Incidents#unavailable}); retry later. */
public class VaultUnavailableException extends BaseServerResponseException {

    /** Seconds a client should wait before retrying. */
    public static final String RETRY_AFTER_SECONDS = "5";

    public VaultUnavailableException(String message) {
        super(503, message);
        addResponseHeader("Retry-After", RETRY_AFTER_SECONDS);
    }
}
