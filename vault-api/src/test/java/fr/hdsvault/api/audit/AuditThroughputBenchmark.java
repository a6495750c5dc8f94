package fr.hdsvault.api.audit;

import ca.uhn.fhir.context.FhirContext;
import fr.hdsvault.api.index.JdbcKekRegistry;
import fr.hdsvault.api.security.Caller;
import fr.hdsvault.api.security.Role;
import fr.hdsvault.api.security.SmartScope;
import fr.hdsvault.crypto.EnvelopeCipher;
import fr.hdsvault.crypto.Keyring;
import fr.hdsvault.crypto.index.BlindIndex;
import fr.hdsvault.crypto.root.Pkcs12RootKeyProvider;
import fr.hdsvault.crypto.sign.Ed25519;
import fr.hdsvault.storage.BucketOptions;
import fr.hdsvault.storage.S3ObjectStore;
import fr.hdsvault.storage.S3StoreConfig;
import fr.hdsvault.storage.embedded.EmbeddedS3Server;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import org.flywaydb.core.Flyway;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.jdbc.datasource.DataSourceTransactionManager;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * The audit trail's own throughput, in process (not a test; run by hand, see docs/performance.md):
 * the real trail on an H2 file database and the embedded object store, N threads each recording
 * one BALP event per call and waiting for it to be durable, as a request does. Prints events/s
 * and the p50/p99 wait per event for 1, 8 and 32 threads.
 */
public final class AuditThroughputBenchmark {

    /**
     * Runs the measurement twice in one JVM: with the index forced to disk before each answer
     * (as the vault does), then without (the benchmark-only switch), so that what durability
     * costs is measured in the same run.
     */
    public static void main(String[] args) throws Exception {
        if (System.getProperty(CLUSTER_SCHEMA) != null) { // one node of several: the production path only
            run(args);
            return;
        }
        for (boolean sync : new boolean[] {true, false}) {
            System.setProperty(fr.hdsvault.api.index.IndexDurability.BENCHMARK_SYNC_OFF, String.valueOf(!sync));
            System.out.println("## index sync " + (sync ? "on" : "off"));
            run(args);
        }
        System.clearProperty(fr.hdsvault.api.index.IndexDurability.BENCHMARK_SYNC_OFF);
    }

    /**
     * Several nodes: each process a node writing to one log, with {@code -Dbench.schema=NAME}
     * (a schema they share, kept afterwards), {@code -Dbench.root=FILE} (the root key they share),
     * {@code -Dbench.threads=32} and {@code -Dbench.start-at=EPOCH_MILLIS} (all start together);
     * docs/performance.md, "Audit throughput, three nodes".
     */
    static final String CLUSTER_SCHEMA = "bench.schema";

    private static void run(String[] args) throws Exception {
        double seconds = args.length > 0 ? Double.parseDouble(args[0]) : 10;
        Path dir = Files.createTempDirectory("hds-audit-bench");
        com.zaxxer.hikari.HikariDataSource db = new com.zaxxer.hikari.HikariDataSource(); // pooled, as in the vault
        String schema = null;
        String shared = System.getProperty(CLUSTER_SCHEMA);
        if (args.length > 1) { // a PostgreSQL URL: a fresh schema, dropped afterwards (or the nodes' shared one, kept)
            schema = shared != null ? shared : "audit_bench_" + Long.toHexString(System.nanoTime());
            db.setJdbcUrl(args[1] + (args[1].contains("?") ? "&" : "?") + "currentSchema=" + schema);
            db.setUsername(System.getenv().getOrDefault("VAULT_INDEX_USER", "postgres"));
            db.setPassword(System.getenv().getOrDefault("VAULT_INDEX_PASSWORD", ""));
            db.setConnectionInitSql("create schema if not exists " + schema);
        } else {
            db.setJdbcUrl("jdbc:h2:file:" + dir.resolve("index"));
            db.setUsername("sa");
        }
        Flyway.configure().dataSource(db).load().migrate();
        JdbcTemplate jdbc = new JdbcTemplate(db);
        try (EmbeddedS3Server s3 = EmbeddedS3Server.start(dir.resolve("s3"));
             S3ObjectStore store = new S3ObjectStore(S3StoreConfig.declared(s3.endpoint(), s3.credentials(), "fr-par"));
             Pkcs12RootKeyProvider root = Pkcs12RootKeyProvider.openOrCreate(Path.of(System.getProperty("bench.root",
                     dir.resolve("root.p12").toString())), "benchmark-passphrase".toCharArray())) {
            store.createBucket("audit", BucketOptions.plain());
            Keyring keyring = new Keyring(root, new JdbcKekRegistry(jdbc));
            BlindIndex index = new BlindIndex(keyring.hmacKey("audit-index:bench"));
            fr.hdsvault.api.index.IndexDurability durability = fr.hdsvault.api.index.IndexDurability.of(db);
            TransactionTemplate tx = new TransactionTemplate(new DataSourceTransactionManager(db));
            AuditLog auditLog = new AuditLog(jdbc, new EnvelopeCipher(keyring), FhirContext.forR4Cached(),
                    v -> index.token("audit", null, v).anySystem(), "bench");
            AuditCheckpoints checkpoints = new AuditCheckpoints(jdbc, tx, durability, store, new AuditCheckpoints.Signer(
                    "hds-vault/bench/audit", AuditConfig.KEY_NAME, Ed25519.SigningKey.generate(), "audit"), Clock.systemUTC());
            AuditTrail trail = new AuditTrail(jdbc, tx, durability, new EnvelopeCipher(keyring), FhirContext.forR4Cached(), auditLog,
                    checkpoints, new AuditRetention(jdbc, tx), new AuditTrail.Settings("audit:bench", 1000, Duration.ofSeconds(10),
                            Duration.ofSeconds(30), Duration.ofDays(365)), Clock.systemUTC());
            AuditEvents events = new AuditEvents("bench", "bench-site");
            Caller caller = new Caller("dr-bench", Role.PRACTITIONER, SmartScope.parseAll("user/*.cruds"), null, null, "app", "jwt", null);
            System.out.printf("# audit trail throughput: %s + embedded store, %d cores, %.0f s per round%n",
                    schema == null ? "H2 file" : "PostgreSQL", Runtime.getRuntime().availableProcessors(), seconds);
            System.out.println("| threads | events/s | p50 wait ms | p99 wait ms |");
            System.out.println("|---|---|---|---|");
            long startAt = Long.getLong("bench.start-at", 0);
            Thread.sleep(Math.max(0, startAt - System.currentTimeMillis()));
            int[] rounds = Arrays.stream(System.getProperty("bench.threads", "1,8,32,1,8,32").split(",")).mapToInt(Integer::parseInt)
                    .toArray();
            for (int threads : rounds) {
                long[][] waits = new long[threads][];
                int[] counts = new int[threads];
                AtomicBoolean stop = new AtomicBoolean();
                Thread[] workers = new Thread[threads];
                for (int t = 0; t < threads; t++) {
                    final int id = t;
                    waits[t] = new long[2_000_000];
                    workers[t] = new Thread(() -> {
                        int n = 0;
                        while (!stop.get()) {
                            AuditContext context = new AuditContext();
                            context.caller(caller);
                            context.touched("Observation/obs-" + id + "-" + n, "Patient/p-" + (n % 500));
                            List<AuditEvents.Entry> entries = events.of(new AuditEvents.Request("GET",
                                    "/fhir/Observation/obs-" + id + "-" + n, null, new fr.hdsvault.api.web.ClientAddress("127.0.0.1", "127.0.0.1"), 200,
                                    null), context, Instant.now());
                            long s = System.nanoTime();
                            trail.record(entries);
                            waits[id][n++] = System.nanoTime() - s;
                        }
                        counts[id] = n;
                    });
                }
                long start = System.nanoTime();
                for (Thread w : workers) {
                    w.start();
                }
                Thread.sleep((long) (seconds * 1000));
                stop.set(true);
                for (Thread w : workers) {
                    w.join();
                }
                double elapsed = (System.nanoTime() - start) / 1e9;
                int total = Arrays.stream(counts).sum();
                long[] all = new long[total];
                int k = 0;
                for (int t = 0; t < threads; t++) {
                    System.arraycopy(waits[t], 0, all, k, counts[t]);
                    k += counts[t];
                }
                Arrays.sort(all);
                System.out.printf("| %d | %.0f | %.2f | %.2f |%n", threads, total / elapsed, all[total / 2] / 1e6, all[(int) (total * 0.99)] / 1e6);
            }
            System.out.printf("events recorded: %d; checkpoints: %d%n", trail.size(),
                    jdbc.queryForObject("select count(*) from audit_checkpoint", Long.class));
            trail.close();
            if (schema != null && shared == null) {
                jdbc.execute("drop schema " + schema + " cascade");
            }
        } finally {
            db.close();
            try (var files = Files.walk(dir)) {
                files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }
}
