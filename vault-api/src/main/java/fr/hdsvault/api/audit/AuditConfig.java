package fr.hdsvault.api.audit;

import ca.uhn.fhir.context.FhirContext;
import fr.hdsvault.api.home.VaultHome;
import fr.hdsvault.api.index.IndexDurability;
import fr.hdsvault.api.resources.VaultRepository;
import fr.hdsvault.crypto.EnvelopeCipher;
import fr.hdsvault.crypto.Keyring;
import fr.hdsvault.crypto.index.BlindIndex;
import fr.hdsvault.storage.BucketOptions;
import fr.hdsvault.storage.ObjectStore;
import fr.hdsvault.storage.embedded.EmbeddedS3Server;
import java.time.Clock;
import java.time.Duration;
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

    public static final String AUDIT_BUCKET = "hds-vault-audit";
    /** The signer's name in checkpoint notes. */
    public static final String KEY_NAME = "hds-vault-audit";
    /** Spring Security's filter chain runs at -100: the audit filter wraps it, to record its refusals too. */
    static final int FILTER_ORDER = -101;

    @Bean(destroyMethod = "close")
    AuditTrail auditTrail(JdbcTemplate jdbc, PlatformTransactionManager transactions, IndexDurability durability,
                          Keyring keyring, ObjectStore store,
                          FhirContext fhir, VaultHome home,
                          @Value("${vault.audit.checkpoint-every:1000}") int checkpointEvery,
                          @Value("${vault.audit.checkpoint-interval:10s}") Duration checkpointInterval,
                          @Value("${vault.audit.retention:365d}") Duration retention,
                          @Value("${vault.audit.checkpoint-lock:3650d}") Duration checkpointLock) {
        // Checkpoints outlive the events they cover: they are what proves a pruned range existed.
        store.createBucket(AUDIT_BUCKET, BucketOptions.locked(checkpointLock));
        BlindIndex index = new BlindIndex(keyring.hmacKey("audit-index:" + fr.hdsvault.api.VaultApplication.TENANT));
        AuditTrail.Settings settings = new AuditTrail.Settings(fr.hdsvault.api.VaultApplication.TENANT,
                "hds-vault/" + home.vaultId() + "/audit", KEY_NAME, AuditKeys.loadOrCreate(home.keys()),
                "audit:" + fr.hdsvault.api.VaultApplication.TENANT, AUDIT_BUCKET, checkpointEvery, checkpointInterval,
                Duration.ofSeconds(5), retention);
        return new AuditTrail(jdbc, new TransactionTemplate(transactions), durability, new EnvelopeCipher(keyring), store, fhir,
                value -> index.token("audit", null, value).anySystem(), settings, Clock.systemUTC());
    }

    /** The live verifier: the checkpoint key's public half, and the audit bucket's copies on the embedded store's disk. */
    @Bean
    AuditVerifier auditVerifier(JdbcTemplate jdbc, VaultHome home) {
        return new AuditVerifier(jdbc, AuditKeys.loadOrCreate(home.keys()).publicKey(), KEY_NAME,
                EmbeddedS3Server.bucketDirectory(home.s3(), AUDIT_BUCKET).resolve("checkpoints"));
    }

    @Bean
    AuditInterceptor auditInterceptor(VaultRepository repository) {
        return new AuditInterceptor(repository);
    }

    /**
     * The load benchmark's comparison switch: a JVM system property, deliberately not a Spring
     * property, so that no configuration file or environment variable can turn auditing off.
     */
    static final String BENCHMARK_AUDIT_OFF = "hds-vault.benchmark.audit-off";

    @Bean
    FilterRegistrationBean<AuditFilter> auditFilter(AuditTrail trail, FhirContext fhir, VaultHome home,
                                                    @Value("${vault.audit.site:single-node}") String site) {
        FilterRegistrationBean<AuditFilter> registration = new FilterRegistrationBean<>(
                new AuditFilter(trail, new AuditEvents(home.vaultId(), site), fhir, Clock.systemUTC()));
        registration.setOrder(FILTER_ORDER);
        if (Boolean.getBoolean(BENCHMARK_AUDIT_OFF)) {
            org.slf4j.LoggerFactory.getLogger(AuditConfig.class).error(
                    "AUDIT TRAIL OFF: -D{}=true is for the load benchmark only; accesses are NOT recorded", BENCHMARK_AUDIT_OFF);
            registration.setEnabled(false);
        }
        return registration;
    }
}
