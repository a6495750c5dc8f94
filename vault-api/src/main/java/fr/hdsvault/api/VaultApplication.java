package fr.hdsvault.api;

import ca.uhn.fhir.context.FhirContext;
import fr.hdsvault.api.audit.AuditEventProvider;
import fr.hdsvault.api.audit.AuditInterceptor;
import fr.hdsvault.api.audit.AuditLog;
import fr.hdsvault.api.fhir.BundleEntries;
import fr.hdsvault.api.fhir.ExceptionOutcomes;
import fr.hdsvault.api.fhir.StrictParameters;
import fr.hdsvault.api.fhir.StrictXml;
import fr.hdsvault.api.resources.ResourceSearch;
import fr.hdsvault.api.resources.SearchClauses;
import fr.hdsvault.api.index.ParameterIndexer;
import fr.hdsvault.api.resources.SearchParameters;
import fr.hdsvault.api.resources.TypeSearch;
import fr.hdsvault.api.fhir.HonestCapabilityStatement;
import fr.hdsvault.api.resources.DatabasePaging;
import fr.hdsvault.api.resources.VaultSearchResults;
import fr.hdsvault.api.security.AccessPolicy;
import fr.hdsvault.api.fhir.RequestSizeFilter;
import fr.hdsvault.api.fhir.StoredJsonReads;
import fr.hdsvault.api.fhir.VaultFhirServer;
import fr.hdsvault.api.web.TrustedProxies;
import org.springframework.boot.web.servlet.FilterRegistrationBean;
import fr.hdsvault.api.health.KeysHealthIndicator;
import fr.hdsvault.api.health.StorageHealthIndicator;
import fr.hdsvault.api.home.VaultHome;
import fr.hdsvault.api.home.VaultIdentity;
import fr.hdsvault.api.metrics.FhirRequestMetrics;
import fr.hdsvault.api.security.TokenIssuer;
import fr.hdsvault.crypto.root.RootKeyProvider;
import fr.hdsvault.storage.BucketOptions;
import fr.hdsvault.api.keys.RootKeyProperties;
import fr.hdsvault.api.keys.KeyChanges;
import fr.hdsvault.api.keys.RootKeys;
import fr.hdsvault.api.storage.StoresProperties;
import fr.hdsvault.api.storage.VaultStores;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import fr.hdsvault.api.index.IndexDurability;
import fr.hdsvault.api.index.IndexMaintenance;
import fr.hdsvault.api.index.JdbcKekRegistry;
import fr.hdsvault.api.resources.RecordObjects;
import fr.hdsvault.api.resources.VaultRepository;
import fr.hdsvault.api.resources.BundleProcessor;
import fr.hdsvault.api.resources.SearchTokens;
import fr.hdsvault.crypto.index.BlindIndex;
import fr.hdsvault.api.resources.VaultResourceProvider;
import fr.hdsvault.api.resources.VaultSystemProvider;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import fr.hdsvault.crypto.EnvelopeCipher;
import fr.hdsvault.crypto.KekRegistry;
import fr.hdsvault.crypto.Keyring;
import java.nio.file.Path;
import org.hl7.fhir.instance.model.api.IBaseResource;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.transaction.PlatformTransactionManager;
import org.springframework.transaction.support.TransactionTemplate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.annotation.Qualifier;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.util.unit.DataSize;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.web.servlet.ServletRegistrationBean;
import org.springframework.context.annotation.Bean;

/**
 * Wires the libraries into the vault: the data directory, the root key (PKCS#12 or an HSM)
 * and the key registry, the S3 stores (external, or embedded by default), the index database,
 * the token issuer and the FHIR endpoint with one provider per R4 resource type.
 */
@SpringBootApplication
@EnableConfigurationProperties({StoresProperties.class, RootKeyProperties.class})
public class VaultApplication {

    private static final Logger log = LoggerFactory.getLogger(VaultApplication.class);
    /** Single-node vaults serve one tenant; multi-tenancy arrives with its own issue. */
    public static final String TENANT = "default";

    @Bean
    VaultHome vaultHome(@Value("${vault.data-dir}") Path dataDir) {
        return VaultHome.prepare(dataDir);
    }

    @Bean(destroyMethod = "close")
    RootKeyProvider rootKeyProvider(VaultHome home, RootKeyProperties settings) {
        RootKeyProvider root = RootKeys.open(settings, home, System.getenv());
        log.info("root key: {}, version {}", root.description(), root.currentVersion());
        return root;
    }

    /** The S3 stores (records, audit, backup), external or embedded; they own the clients and embedded servers. */
    @Bean(destroyMethod = "close")
    VaultStores vaultStores(StoresProperties settings, VaultHome home) {
        return VaultStores.of(settings, home);
    }

    /**
     * The records' bucket, created if needed, its region checked and what it enforces said at
     * every start, as the design asks (the embedded store enforces neither versioning nor
     * Object Lock; signatures detect tampering).
     */
    @Bean
    VaultStores.StoreBucket objectBucket(VaultStores stores) {
        stores.prepare(StoresProperties.Role.PRIMARY, BucketOptions.versioned());
        return stores.bucket(StoresProperties.Role.PRIMARY);
    }

    /** One identity for every node on the index database (VaultIdentity). */
    @Bean
    VaultIdentity vaultIdentity(JdbcTemplate jdbc, VaultHome home) {
        return VaultIdentity.establish(jdbc, home, Clock.systemUTC());
    }

    @Bean
    TokenIssuer tokenIssuer(VaultHome home, VaultIdentity identity) {
        return TokenIssuer.of(home, identity.vaultId());
    }

    /**
     * Strict parsing: an unknown element, an invalid value or a malformed reference in a body is a
     * 400, not a warning that quotes the element in the log while the rest is stored.
     */
    @Bean
    FhirContext fhirContext() {
        FhirContext fhir = FhirContext.forR4Cached();
        fhir.setParserErrorHandler(new ca.uhn.fhir.parser.StrictErrorHandler());
        return fhir;
    }

    /** What makes an acknowledged write durable in the index database (H2: a forced sync per group of events). */
    @Bean
    IndexDurability indexDurability(javax.sql.DataSource dataSource, VaultHome home) {
        IndexDurability durability = IndexDurability.of(dataSource); // connected: H2 has created its files by now
        home.restrictIndexFiles();
        return durability;
    }

    /** PostgreSQL's index tables analyzed, and vacuumed where autovacuum is off, by the vault itself. */
    @Bean(destroyMethod = "close")
    IndexMaintenance indexMaintenance(javax.sql.DataSource dataSource) {
        return IndexMaintenance.start(dataSource);
    }

    @Bean
    KekRegistry kekRegistry(JdbcTemplate jdbc) {
        return new JdbcKekRegistry(jdbc);
    }

    @Bean
    Keyring keyring(RootKeyProvider root, KekRegistry registry) {
        return new Keyring(root, registry);
    }

    /** A KEK destroyed by another node leaves this node's cache within seconds. */
    @Bean(destroyMethod = "close")
    KeyChanges keyChanges(JdbcTemplate jdbc, Keyring keyring) {
        return KeyChanges.watch(jdbc, keyring);
    }

    @Bean
    VaultRepository vaultRepository(FhirContext fhir, JdbcTemplate jdbc, PlatformTransactionManager transactions,
                                    Keyring keyring, @Qualifier("objectBucket") VaultStores.StoreBucket objectBucket,
                                    @Value("${vault.cache.record-objects:64MB}") DataSize objectCache) {
        SearchTokens tokens = new SearchTokens(fhir, new BlindIndex(keyring.hmacKey("blind-index:" + TENANT)));
        return new VaultRepository(fhir, jdbc, new TransactionTemplate(transactions), new EnvelopeCipher(keyring),
                new RecordObjects(objectBucket.store(), objectBucket.bucket(), objectCache.toBytes()), TENANT, Clock.systemUTC(),
                tokens);
    }

    /**
     * Threads that seal and store a bundle's entries, or fetch and open a result page's objects,
     * in parallel: each waits on the object store (PUTs on fsync), not on the CPU.
     */
    @Bean(destroyMethod = "shutdown")
    ExecutorService objectWorkers() {
        return Executors.newFixedThreadPool(16, r -> {
            Thread t = new Thread(r, "object-worker");
            t.setDaemon(true);
            return t;
        });
    }

    /** FHIR search semantics over the blind index, for searches and bulk export filters alike. */
    @Bean
    SearchClauses searchClauses(FhirContext fhir, VaultRepository repository, ParameterIndexer indexer) {
        return new SearchClauses(fhir, repository.searchTokens(), indexer);
    }

    /** Builds, in the background, the index of a search parameter this version adds or changes. */
    @Bean(destroyMethod = "close")
    ParameterIndexer parameterIndexer(JdbcTemplate jdbc, PlatformTransactionManager transactions, FhirContext fhir,
                                      VaultRepository repository, @Value("${vault.search.reindex-page:256}") int page,
                                      @Value("${vault.search.reindex-rate:0}") int rate) {
        return new ParameterIndexer(jdbc, new TransactionTemplate(transactions), fhir, repository, TENANT, Clock.systemUTC(), page, rate)
                .start();
    }

    @org.springframework.context.event.EventListener(org.springframework.boot.context.event.ApplicationReadyEvent.class)
    void buildSearchIndexes(org.springframework.boot.context.event.ApplicationReadyEvent ready) {
        ready.getApplicationContext().getBean(ParameterIndexer.class).build();
    }

    @Bean
    ResourceSearch resourceSearch(JdbcTemplate jdbc) {
        return new ResourceSearch(jdbc, TENANT);
    }

    @Bean
    VaultFhirServer fhirServer(FhirContext fhir) {
        return new VaultFhirServer(fhir);
    }

    /** Plain reads served from the stored JSON, after authentication (Spring Security: -100), before HAPI. */
    @Bean
    FilterRegistrationBean<StoredJsonReads> storedJsonReads(FhirContext fhir, VaultRepository repository, AccessPolicy access,
                                                            TrustedProxies proxies, VaultFhirServer server) {
        FilterRegistrationBean<StoredJsonReads> registration = new FilterRegistrationBean<>(
                new StoredJsonReads(fhir.getResourceTypes(), repository, access, proxies, server));
        registration.addUrlPatterns("/fhir/*");
        registration.setOrder(0);
        return registration;
    }

    @Bean
    ServletRegistrationBean<VaultFhirServer> fhirServlet(VaultFhirServer server, FhirContext fhir, VaultRepository repository,
                                                         ResourceSearch search,
                                                         ExecutorService objectWorkers, AccessPolicy access, AuditInterceptor audit,
                                                         AuditLog auditLog, TrustedProxies proxies, JdbcTemplate jdbc, Keyring keyring,
                                                         SearchClauses clauses,
                                                         @Value("${vault.fhir.max-page-size:1000}") int maxPageSize,
                                                         @Value("${vault.fhir.search-lifetime:1h}") java.time.Duration searchLifetime) {
        // Links name the public base URL, never what a request's Host or X-Forwarded-* headers claim.
        server.setServerAddressStrategy((context, request) -> proxies.publicBase(request) + "/fhir");
        TypeSearch searches = new TypeSearch(fhir, repository, search, objectWorkers, access, clauses);
        // Search results are kept between pages in the database, for any node, for the caller that ran the search only.
        DatabasePaging paging = new DatabasePaging(jdbc, new EnvelopeCipher(keyring), TENANT, searchLifetime, Clock.systemUTC())
                .register(VaultSearchResults.kind(repository, objectWorkers, searches)).register(AuditEventProvider.kind(auditLog));
        paging.setDefaultPageSize(Math.min(20, maxPageSize));
        paging.setMaximumPageSize(maxPageSize);
        server.setPagingProvider(paging);
        List<Object> providers = new ArrayList<>();
        for (String type : fhir.getResourceTypes()) {
            if (!AccessPolicy.AUDIT_EVENT.equals(type)) { // the audit trail serves AuditEvent itself
                providers.add(new VaultResourceProvider(r4Class(type), type, repository, search, objectWorkers, access, searches));
            }
        }
        providers.add(new AuditEventProvider(auditLog, access));
        providers.add(new VaultSystemProvider(new BundleProcessor(fhir, repository, search, objectWorkers, access), repository,
                search, objectWorkers, access));
        server.registerProviders(providers);
        SearchParameters parameters = new SearchParameters(fhir);
        server.registerInterceptor(new FhirRequestMetrics.Routing(fhir));
        server.registerInterceptor(new ExceptionOutcomes());
        server.registerInterceptor(new StrictParameters(parameters, maxPageSize));
        server.registerInterceptor(new StrictXml());
        server.registerInterceptor(new HonestCapabilityStatement(parameters, maxPageSize));
        server.registerInterceptor(audit); // before BundleEntries: it reads every entry's resource, deletions included
        server.registerInterceptor(new BundleEntries());
        ServletRegistrationBean<VaultFhirServer> registration = new ServletRegistrationBean<>(server, "/fhir/*");
        registration.setLoadOnStartup(1);
        return registration;
    }

    /**
     * The model class of an R4 type by name. Asking FhirContext for every definition at start-up
     * scans the whole R4 model (about 4 s here); HAPI scans each type lazily on first use instead.
     */
    @SuppressWarnings("unchecked")
    static Class<? extends IBaseResource> r4Class(String type) {
        for (String name : new String[] {type, type + "Resource"}) { // List is ListResource in Java
            try {
                return (Class<? extends IBaseResource>) Class.forName("org.hl7.fhir.r4.model." + name);
            } catch (ClassNotFoundException e) {
                // try the next spelling
            }
        }
        throw new IllegalStateException("no R4 model class for resource type " + type);
    }

    @Bean
    FilterRegistrationBean<RequestSizeFilter> requestSizeFilter(FhirContext fhir,
                                                                @Value("${vault.max-request-bytes:33554432}") long maxBytes) {
        FilterRegistrationBean<RequestSizeFilter> registration = new FilterRegistrationBean<>(new RequestSizeFilter(fhir, maxBytes));
        registration.setOrder(-102); // inside the audit filter, so that a refused body is recorded
        return registration;
    }

    @Bean
    StorageHealthIndicator storageHealthIndicator(VaultStores stores) {
        return new StorageHealthIndicator(stores);
    }

    @Bean
    KeysHealthIndicator keysHealthIndicator(RootKeyProvider root) {
        return new KeysHealthIndicator(root);
    }
}
