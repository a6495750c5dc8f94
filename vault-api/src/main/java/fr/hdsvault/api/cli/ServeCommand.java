package fr.hdsvault.api.cli;

import fr.hdsvault.api.VaultApplication;
import fr.hdsvault.api.home.VaultHome;
import fr.hdsvault.api.security.TokenIssuer;
import fr.hdsvault.crypto.pki.DevPki;
import fr.hdsvault.crypto.root.OwnerOnlyFiles;
import java.time.Clock;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.springframework.boot.SpringApplication;
import org.springframework.context.ConfigurableApplicationContext;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * Starts the vault: HTTPS only (TLS 1.3) with the host's certificate or a local CA's, the
 * stores and the root key of the configuration (embedded ones, all in the data directory, by
 * default).
 */
@Command(name = "serve", mixinStandardHelpOptions = true, description = "Start the vault (the default command).")
public final class ServeCommand implements Callable<Integer> {

    @Mixin
    DataDirOption dataDir;

    @Mixin
    ConfigOptions config;

    @Option(names = "--port", paramLabel = "N", description = "HTTPS port (default: $VAULT_PORT or 8443; 0 for a free port).")
    Integer port;

    @Option(names = "--bind", paramLabel = "ADDRESS", defaultValue = "127.0.0.1",
            description = "Address to listen on (default: ${DEFAULT-VALUE}; the local CA's certificate names localhost only).")
    String bind;

    @Option(names = "--index-url", paramLabel = "JDBC-URL",
            description = "Index database (default: $VAULT_INDEX_URL, else an H2 database in DIR/index). "
                    + "User and password from VAULT_INDEX_USER and VAULT_INDEX_PASSWORD.")
    String indexUrl;

    /** {@code vault.tls.*}: the server's own certificate chain and private key (PEM files), instead of the local CA's. */
    record TlsFiles(java.nio.file.Path certificate, java.nio.file.Path privateKey) {
    }

    /** The running application, for tests that start the vault in-process. */
    ConfigurableApplicationContext context;

    @Override
    public Integer call() throws Exception {
        context = start(dataDir.resolve(), port(), bind, indexUrl(), Map.of(), config);
        return 0;
    }

    private String indexUrl() {
        if (indexUrl != null) {
            return indexUrl;
        }
        String env = System.getenv("VAULT_INDEX_URL");
        return env == null || env.isBlank() ? null : env.strip();
    }

    private int port() {
        if (port != null) {
            return port;
        }
        String env = System.getenv("VAULT_PORT");
        return env == null || env.isBlank() ? 8443 : Integer.parseInt(env.strip());
    }

    /**
     * Scans the R4 model on the second core while Spring starts on the first: HAPI needs every
     * resource definition to bind the 146 providers, which takes seconds single-threaded.
     * FhirContext is thread-safe and caches what it scanned.
     */
    private static void warmUpFhirModel() {
        Thread warmUp = new Thread(() -> {
            ca.uhn.fhir.context.FhirContext fhir = ca.uhn.fhir.context.FhirContext.forR4Cached();
            for (String type : fhir.getResourceTypes()) {
                fhir.getResourceDefinition(type);
            }
        }, "fhir-model-warm-up");
        warmUp.setDaemon(true);
        warmUp.setPriority(Thread.MIN_PRIORITY);
        warmUp.start();
    }

    /**
     * A first start generates the token issuer's RSA 3072 key (a second or more of CPU): on the
     * second core while Spring starts on the first. The issuer bean waits for it (TokenIssuer.forHome
     * is synchronized); a failure here is met again, and reported, by the bean.
     */
    private static Thread createIssuerKeyMeanwhile(VaultHome home) {
        Thread t = new Thread(() -> {
            try {
                TokenIssuer.forHome(home);
            } catch (RuntimeException e) {
                // the bean retries and fails the start with the reason
            }
        }, "issuer-key");
        t.setDaemon(true);
        t.start();
        return t;
    }

    /** Prepares the data directory and TLS material, then starts the Spring application. */
    public static ConfigurableApplicationContext start(java.nio.file.Path dir, int port, String bind, String indexUrl)
            throws Exception {
        return start(dir, port, bind, indexUrl, Map.of());
    }

    /** @param settings further properties (e.g. {@code vault.security.*}), over the defaults */
    public static ConfigurableApplicationContext start(java.nio.file.Path dir, int port, String bind, String indexUrl,
                                                       Map<String, Object> settings) throws Exception {
        return start(dir, port, bind, indexUrl, settings, null);
    }

    /**
     * @param settings further properties over the defaults (below the environment and the configuration file)
     * @param config   the configuration file and options, or null
     */
    static ConfigurableApplicationContext start(java.nio.file.Path dir, int port, String bind, String indexUrl,
                                                Map<String, Object> settings, ConfigOptions config) throws Exception {
        VaultHome home = VaultHome.prepare(dir);
        Thread issuerKey = createIssuerKeyMeanwhile(home);
        try {
            return run(home, port, bind, indexUrl, settings, config);
        } catch (Exception | Error e) {
            // A start that fails before the issuer bean waits for the key must not leave the thread
            // writing into the data directory the caller may now remove.
            issuerKey.join();
            throw e;
        }
    }

    private static ConfigurableApplicationContext run(VaultHome home, int port, String bind, String indexUrl,
                                                      Map<String, Object> settings, ConfigOptions config) throws Exception {
        Map<String, Object> properties = new HashMap<>();
        properties.put("vault.data-dir", home.root().toString());
        properties.put("server.port", port);
        properties.put("server.address", bind);
        TlsFiles served = config == null ? new TlsFiles(null, null) : config.bind(home.root(), "vault.tls", TlsFiles.class);
        if (served.certificate() != null || served.privateKey() != null) {
            // A host's own certificate (a public CA's): PEM files, the key readable by its owner only.
            if (served.certificate() == null || served.privateKey() == null) {
                throw new IllegalArgumentException("a TLS certificate needs its private key, and a key its certificate");
            }
            OwnerOnlyFiles.requireOwnerOnly(served.privateKey());
            properties.put("server.ssl.certificate", "file:" + served.certificate().toAbsolutePath());
            properties.put("server.ssl.certificate-private-key", "file:" + served.privateKey().toAbsolutePath());
        } else {
            char[] tlsPassword = home.localSecret("tls-keystore");
            DevPki.Material tls = new DevPki(Clock.systemUTC()).ensure(home.tls(), tlsPassword,
                    List.of("localhost"), List.of("127.0.0.1", "::1"));
            properties.put("server.ssl.key-store", tls.pkcs12().toString());
            properties.put("server.ssl.key-store-password", new String(tlsPassword));
            properties.put("server.ssl.key-alias", DevPki.PKCS12_ALIAS);
            properties.put("server.ssl.key-store-type", "PKCS12");
        }
        if (indexUrl == null) {
            properties.put("spring.datasource.url", home.h2Url());
            properties.put("spring.datasource.username", "sa");
        } else {
            properties.put("spring.datasource.url", indexUrl);
            properties.put("spring.datasource.username", System.getenv().getOrDefault("VAULT_INDEX_USER", ""));
            properties.put("spring.datasource.password", System.getenv().getOrDefault("VAULT_INDEX_PASSWORD", ""));
        }
        properties.putAll(settings);
        SpringApplication app = new SpringApplication(VaultApplication.class);
        // From the start of the run: Spring holds back every log message until logging is configured.
        app.addListeners((org.springframework.context.ApplicationListener<
                org.springframework.boot.context.event.ApplicationStartingEvent>) event -> warmUpFhirModel());
        app.setDefaultProperties(properties);
        if (config != null) {
            app.addInitializers(context -> config.applyTo(context.getEnvironment(), home.root()));
        }
        // After the configuration file: however the index URL was given, a PostgreSQL index gets the vault's session settings.
        app.addInitializers(context -> {
            if (context.getEnvironment().getProperty("spring.datasource.url", "").startsWith("jdbc:postgresql:")) {
                context.getEnvironment().getPropertySources().addLast(new org.springframework.core.env.MapPropertySource(
                        "postgres-sessions", Map.copyOf(fr.hdsvault.api.index.PostgresSessions.SPRING_PROPERTIES)));
            }
        });
        return app.run();
    }
}
