package fr.hdsvault.api.fhir;

import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.rest.api.EncodingEnum;
import ca.uhn.fhir.rest.server.RestfulServer;

/**
 * The FHIR R4 endpoint at {@code /fhir}: HAPI's plain RestfulServer. It parses, validates the
 * shape of requests and writes OperationOutcomes; the vault's providers do the storing.
 */
public class VaultFhirServer extends RestfulServer {

    public VaultFhirServer(FhirContext fhirContext) {
        super(fhirContext);
        setDefaultResponseEncoding(EncodingEnum.JSON);
        setServerName("hds-vault");
        setImplementationDescription("hds-vault: encrypted, audited FHIR R4 store");
    }

    /** The request's id as HAPI names it in its answer (X-Request-ID): the client's, when well-formed, else a new one. */
    public String requestIdOf(jakarta.servlet.http.HttpServletRequest request) {
        return getOrCreateRequestId(request);
    }
}
