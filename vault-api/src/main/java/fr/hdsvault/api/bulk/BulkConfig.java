package fr.hdsvault.api.bulk;

import ca.uhn.fhir.context.FhirContext;
import fr.hdsvault.api.VaultApplication;
import fr.hdsvault.api.audit.AuditEvents;
import fr.hdsvault.api.audit.AuditTrail;
import fr.hdsvault.api.home.VaultHome;
import fr.hdsvault.api.home.VaultIdentity;
import fr.hdsvault.api.resources.ResourceSearch;
import fr.hdsvault.api.resources.SearchClauses;
import fr.hdsvault.api.resources.VaultRepository;
import fr.hdsvault.api.security.AccessPolicy;
import fr.hdsvault.api.storage.VaultStores;
import fr.hdsvault.api.web.TrustedProxies;
import fr.hdsvault.crypto.EnvelopeCipher;
import fr.hdsvault.crypto.Keyring;
import java.time.Clock;
import java.util.concurrent.ExecutorService;
import org.springframework.beans.factory.annotation.Qualifier;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.boot.web.servlet.FilterRegistrationBean;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.transaction.PlatformTransactionManager;
import org.springframework.transaction.support.TransactionTemplate;

/** FHIR Bulk Data export: jobs in the shared database, files sealed in the records' bucket, a runner on every node. */
@Configuration
@EnableConfigurationProperties(BulkProperties.class)
public class BulkConfig {

    @Bean
    ExportJobs exportJobs(JdbcTemplate jdbc, PlatformTransactionManager transactions) {
        return new ExportJobs(jdbc, new TransactionTemplate(transactions), Clock.systemUTC());
    }

    @Bean
    ExportFiles exportFiles(@Qualifier("objectBucket") VaultStores.StoreBucket records, Keyring keyring, VaultHome home) {
        return new ExportFiles(records.store(), records.bucket(), new EnvelopeCipher(keyring), keyring, VaultApplication.TENANT,
                home.root().resolve("tmp"));
    }

    @Bean(initMethod = "start", destroyMethod = "close")
    ExportRunner exportRunner(ExportJobs jobs, ExportFiles files, ResourceSearch search, VaultRepository repository,
                              SearchClauses clauses, ExecutorService objectWorkers, FhirContext fhir, AuditTrail trail,
                              AuditEvents events, BulkProperties settings, VaultIdentity identity) {
        return new ExportRunner(jobs, files, search, repository, clauses, objectWorkers, fhir, trail, events, settings,
                identity.nodeId(), Clock.systemUTC());
    }

    @Bean
    NdjsonImport ndjsonImport(FhirContext fhir, VaultRepository repository, ExecutorService objectWorkers, AuditTrail trail,
                              AuditEvents events, JdbcTemplate jdbc) {
        return new NdjsonImport(fhir, repository, objectWorkers, trail, events, jdbc, Clock.systemUTC());
    }

    /** After authentication (Spring Security: -100), before the plain reads and HAPI. */
    @Bean
    FilterRegistrationBean<BulkDataFilter> bulkDataFilter(FhirContext fhir, SearchClauses clauses, ExportJobs jobs, ExportFiles files,
                                                          ExportRunner runner, VaultRepository repository, AccessPolicy access,
                                                          TrustedProxies proxies, AuditTrail trail, AuditEvents events,
                                                          BulkProperties settings) {
        FilterRegistrationBean<BulkDataFilter> registration = new FilterRegistrationBean<>(new BulkDataFilter(fhir,
                new ExportKickoff(fhir, clauses, Clock.systemUTC()), jobs, files, runner, repository, access, proxies, trail, events,
                settings, Clock.systemUTC()));
        registration.addUrlPatterns("/fhir/*");
        registration.setOrder(-1);
        return registration;
    }
}
