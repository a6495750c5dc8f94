package fr.hdsvault.api;

/**
 * Entry point of vault.jar. The FHIR server (issue "vault-api: FHIR R4 over HTTPS") is not
 * built yet; until then the jar says so and exits with status 2 rather than pretend to serve.
 */
public final class VaultMain {

    private VaultMain() {
    }

    public static void main(String[] args) {
        System.err.println("hds-vault: the FHIR server is not part of this build yet (see the open issue"
                + " \"vault-api: FHIR R4 over HTTPS\"); the crypto library is available.");
        System.exit(2);
    }
}
