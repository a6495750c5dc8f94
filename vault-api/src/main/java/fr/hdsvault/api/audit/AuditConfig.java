package fr.hdsvault.api.audit;

import ca.uhn.fhir.context.FhirContext;
import fr.hdsvault.api.VaultApplication;
import fr.hdsvault.api.home.VaultHome;
import fr.hdsvault.api.home.VaultIdentity;
import fr.hdsvault.api.index.IndexDurability;
import fr.hdsvault.api.resources.VaultRepository;
import fr.hdsvault.crypto.EnvelopeCipher;
import fr.hdsvault.crypto.Keyring;
import fr.hdsvault.crypto.sign.Ed25519;
import fr.hdsvault.crypto.index.BlindIndex;
import fr.hdsvault.storage.BucketOptions;
import fr.hdsvault.api.storage.StoresProperties;
import fr.hdsvault.api.storage.VaultStores;
import java.time.Clock;
import java.time.Duration;
import org.springframework.beans.factory.annotation.Qualifier;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.boot.web.servlet.FilterRegistrationBean;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.transaction.PlatformTransactionManager;
import org.springframework.transaction.support.TransactionTemplate;

/** Wires the audit trail: its store, keys and checkpoint policy, the capture filter and the FHIR interceptor. */
@Configuration
public class AuditConfig {

    /** The signer's name in checkpoint notes. */
    public static final String KEY_NAME = "hds-vault-audit";
    /**
     * Spring Security's filter chain runs at -100; the refusal limiter (-101), the request size
     * limit (-102) and the request hygiene checks (-103) before it: the audit filter wraps them
     * all, to record their refusals too.
     */
    public static final int FILTER_ORDER = -104;

    /** The checkpoint signing key: its seed sealed in the key registry (AuditKeys). */
    @Bean
    Ed25519.SigningKey auditSigningKey(Keyring keyring, VaultHome home) {
        return AuditKeys.signingKey(keyring, home.keys());
    }

    @Bean
    AuditLog auditLog(JdbcTemplate jdbc, Keyring keyring, FhirContext fhir) {
        BlindIndex index = new BlindIndex(keyring.hmacKey("audit-index:" + VaultApplication.TENANT));
        return new AuditLog(jdbc, new EnvelopeCipher(keyring), fhir, value -> index.token("audit", null, value).anySystem(),
                VaultApplication.TENANT);
    }

    /** The checkpoints' bucket, under Object Lock where the server enforces it (required of an external store). */
    @Bean
    VaultStores.StoreBucket auditBucket(VaultStores stores, @Value("${vault.audit.checkpoint-lock:3650d}") Duration checkpointLock) {
        // Checkpoints outlive the events they cover: they are what proves a pruned range existed.
        stores.prepare(StoresProperties.Role.AUDIT, BucketOptions.locked(checkpointLock));
        return stores.bucket(StoresProperties.Role.AUDIT);
    }

    @Bean
    AuditCheckpoints auditCheckpoints(JdbcTemplate jdbc, PlatformTransactionManager transactions, IndexDurability durability,
                                      @Qualifier("auditBucket") VaultStores.StoreBucket auditBucket,
                                      Ed25519.SigningKey auditSigningKey, VaultIdentity identity) {
        return new AuditCheckpoints(jdbc, new TransactionTemplate(transactions), durability, auditBucket.store(),
                new AuditCheckpoints.Signer("hds-vault/" + identity.vaultId() + "/audit", KEY_NAME, auditSigningKey, auditBucket.bucket()),
                Clock.systemUTC());
    }

    @Bean
    AuditRetention auditRetention(JdbcTemplate jdbc, PlatformTransactionManager transactions) {
        return new AuditRetention(jdbc, new TransactionTemplate(transactions));
    }

    @Bean(destroyMethod = "close")
    AuditTrail auditTrail(JdbcTemplate jdbc, PlatformTransactionManager transactions, IndexDurability durability,
                          Keyring keyring, FhirContext fhir, AuditLog auditLog, AuditCheckpoints checkpoints,
                          AuditRetention retention,
                          @Value("${vault.audit.checkpoint-every:1000}") int checkpointEvery,
                          @Value("${vault.audit.checkpoint-interval:10s}") Duration checkpointInterval,
                          @Value("${vault.audit.retention:365d}") Duration retentionPeriod) {
        AuditTrail.Settings settings = new AuditTrail.Settings("audit:" + VaultApplication.TENANT, checkpointEvery,
                checkpointInterval, Duration.ofSeconds(5), retentionPeriod);
        AuditJournal journal = durability.h2StoreFile().map(file -> AuditJournal.beside(file, AuditJournal.DEFAULT_LENGTH)).orElse(null);
        return new AuditTrail(jdbc, new TransactionTemplate(transactions), durability, journal, new EnvelopeCipher(keyring), fhir,
                auditLog, checkpoints, retention, settings, Clock.systemUTC());
    }

    /** The live verifier: the checkpoint key's public half, the database, and the audit bucket through the S3 API. */
    @Bean
    AuditVerifier auditVerifier(JdbcTemplate jdbc, Ed25519.SigningKey auditSigningKey,
                                @Qualifier("auditBucket") VaultStores.StoreBucket auditBucket) {
        return new AuditVerifier(jdbc, auditSigningKey.publicKey(), KEY_NAME, auditBucket.store(), auditBucket.bucket());
    }

    @Bean
    AuditInterceptor auditInterceptor(VaultRepository repository, FhirContext fhir) {
        return new AuditInterceptor(repository, requestedResources(fhir, repository));
    }

    private static RequestedResources requestedResources(FhirContext fhir, VaultRepository repository) {
        return new RequestedResources(fhir.getResourceTypes(), repository::storedCompartment);
    }

    /**
     * The load benchmark's comparison switch: a JVM system property, deliberately not a Spring
     * property, so that no configuration file or environment variable can turn auditing off.
     */
    static final String BENCHMARK_AUDIT_OFF = "hds-vault.benchmark.audit-off";

    @Bean(destroyMethod = "close")
    RefusalAggregator refusalAggregator(AuditTrail trail, @Value("${vault.audit.refusal-window:60s}") Duration window) {
        return new RefusalAggregator(trail, window, Clock.systemUTC());
    }

    /** Who records the events and at which site: the one AuditEvents every recorder of the vault uses. */
    @Bean
    AuditEvents auditEvents(VaultIdentity identity, @Value("${vault.audit.site:single-node}") String site) {
        return new AuditEvents(identity.observer(), site);
    }

    @Bean
    FilterRegistrationBean<AuditFilter> auditFilter(AuditTrail trail, RefusalAggregator refusals, FhirContext fhir,
                                                    AuditEvents events, VaultRepository repository) {
        RequestedResources requested = requestedResources(fhir, repository);
        FilterRegistrationBean<AuditFilter> registration = new FilterRegistrationBean<>(
                new AuditFilter(trail, events, refusals, requested, fhir, Clock.systemUTC()));
        registration.setOrder(FILTER_ORDER);
        if (Boolean.getBoolean(BENCHMARK_AUDIT_OFF)) {
            org.slf4j.LoggerFactory.getLogger(AuditConfig.class).error(
                    "AUDIT TRAIL OFF: -D{}=true is for the load benchmark only; accesses are NOT recorded", BENCHMARK_AUDIT_OFF);
            registration.setEnabled(false);
        }
        return registration;
    }
}
