package fr.hdsvault.api;

import ca.uhn.fhir.context.FhirContext;
import fr.hdsvault.api.fhir.VaultFhirServer;
import fr.hdsvault.api.health.KeysHealthIndicator;
import fr.hdsvault.api.health.StorageHealthIndicator;
import fr.hdsvault.api.home.VaultHome;
import fr.hdsvault.api.security.TokenIssuer;
import fr.hdsvault.crypto.root.Pkcs12RootKeyProvider;
import fr.hdsvault.crypto.root.RootKeyProvider;
import fr.hdsvault.storage.BucketOptions;
import fr.hdsvault.storage.ObjectStore;
import fr.hdsvault.storage.ResidencyPolicy;
import fr.hdsvault.storage.S3ObjectStore;
import fr.hdsvault.storage.S3StoreConfig;
import fr.hdsvault.storage.StoreCapabilities;
import fr.hdsvault.storage.embedded.EmbeddedS3Server;
import java.nio.file.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.web.servlet.ServletRegistrationBean;
import org.springframework.context.annotation.Bean;

/**
 * Wires the libraries into the single-node vault: the data directory, the root key, the
 * embedded S3 store, the token issuer and the FHIR endpoint.
 */
@SpringBootApplication
public class VaultApplication {

    private static final Logger log = LoggerFactory.getLogger(VaultApplication.class);
    public static final String OBJECT_BUCKET = "hds-vault-objects";

    @Bean
    VaultHome vaultHome(@Value("${vault.data-dir}") Path dataDir) {
        return VaultHome.prepare(dataDir);
    }

    @Bean(destroyMethod = "close")
    RootKeyProvider rootKeyProvider(VaultHome home) {
        RootKeyProvider root = Pkcs12RootKeyProvider.openOrCreate(home.keys().resolve("root.p12"), home.rootPassphrase());
        log.info("root key: {}, version {}", root.description(), root.currentVersion());
        return root;
    }

    @Bean(destroyMethod = "close")
    EmbeddedS3Server embeddedS3Server(VaultHome home) {
        return EmbeddedS3Server.start(home.s3());
    }

    @Bean(destroyMethod = "close")
    ObjectStore objectStore(EmbeddedS3Server server, @Value("${vault.storage.region:fr-par}") String region,
                            @Value("${vault.storage.allowed-regions:fr-par,eu-west-3,fr-*}") String allowedRegions) {
        S3ObjectStore store = new S3ObjectStore(S3StoreConfig.declared(server.endpoint(), server.credentials(), region)
                .withResidency(ResidencyPolicy.parse(allowedRegions)));
        store.createBucket(OBJECT_BUCKET, BucketOptions.versioned());
        StoreCapabilities capabilities = store.probe(OBJECT_BUCKET);
        // Said at every start, as the design asks: the embedded store enforces neither, signatures detect tampering.
        log.warn("object store: {}", capabilities.describe());
        return store;
    }

    @Bean
    TokenIssuer tokenIssuer(VaultHome home) {
        return TokenIssuer.forHome(home);
    }

    @Bean
    FhirContext fhirContext() {
        return FhirContext.forR4Cached();
    }

    @Bean
    ServletRegistrationBean<VaultFhirServer> fhirServlet(FhirContext fhir) {
        ServletRegistrationBean<VaultFhirServer> registration = new ServletRegistrationBean<>(new VaultFhirServer(fhir), "/fhir/*");
        registration.setLoadOnStartup(1);
        return registration;
    }

    @Bean
    StorageHealthIndicator storageHealthIndicator(ObjectStore store) {
        return new StorageHealthIndicator(store, OBJECT_BUCKET);
    }

    @Bean
    KeysHealthIndicator keysHealthIndicator(RootKeyProvider root) {
        return new KeysHealthIndicator(root);
    }
}
