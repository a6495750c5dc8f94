package fr.hdsvault.benchmarks;

import java.net.ServerSocket;
import java.net.http.HttpClient;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * The vault on its two index databases side by side, in one run, with the bare storage path:
 * the embedded default (H2) and PostgreSQL (a fresh schema of the local server). Each vault
 * starts on a fresh data directory, ingests the 31 Synthea bundles twice (1 client, then 4:
 * about 18,800 resources), then reads by id (1 and 8 clients) and searches
 * {@code Observation?patient=} (1 client, every patient in turn).
 *
 * <p>Run: {@code ./mvnw -q -DskipTests package && java -cp benchmarks/target/benchmarks.jar
 * fr.hdsvault.benchmarks.IndexLoadBenchmark [seconds-per-read-phase] [postgresql-url]} (default
 * {@code jdbc:postgresql://127.0.0.1:5432/test}, user {@code postgres}).
 */
public final class IndexLoadBenchmark {

    record Figures(String index, double startup, double ingest1, double ingest4, int resources, StorageLoadBenchmark.Result read1,
                   StorageLoadBenchmark.Result read8, StorageLoadBenchmark.Result search1, long rssKiB, List<byte[]> objects) {
    }

    public static void main(String[] args) throws Exception {
        double seconds = args.length > 0 ? Double.parseDouble(args[0]) : 10;
        String postgres = args.length > 1 ? args[1] : "jdbc:postgresql://127.0.0.1:5432/test";
        List<byte[]> bundles = VaultLoadBenchmark.syntheaBundles();
        int perRound = bundles.stream().mapToInt(b -> VaultLoadBenchmark.count(new String(b, StandardCharsets.UTF_8), "\"request\"")).sum();
        System.out.printf("# index load benchmark: %d bundles, %d resources per ingest round, %d cores%n", bundles.size(), perRound,
                Runtime.getRuntime().availableProcessors());
        Figures h2 = run("H2 (embedded default)", bundles, perRound, seconds, List.of(), Map.of());
        String schema = "bench_" + UUID.randomUUID().toString().replace("-", "");
        try (Connection c = DriverManager.getConnection(postgres, "postgres", "")) {
            c.createStatement().execute("create schema " + schema);
        }
        Figures pg;
        try {
            pg = run("PostgreSQL", bundles, perRound, seconds,
                    List.of("--index-url", postgres + (postgres.contains("?") ? "&" : "?") + "currentSchema=" + schema),
                    Map.of("VAULT_INDEX_USER", "postgres"));
        } finally {
            try (Connection c = DriverManager.getConnection(postgres, "postgres", "")) {
                c.createStatement().execute("drop schema if exists " + schema + " cascade");
            }
        }

        // The bare storage path, same run: objects of the sizes the vault stored.
        VaultLoadBenchmark.BarePath bare = VaultLoadBenchmark.barePath(h2.objects(), seconds);
        double bareSeq = bare.putsPerSecond1();
        double barePar = bare.putsPerSecond16();
        StorageLoadBenchmark.Result bareGet1 = bare.get1();
        StorageLoadBenchmark.Result bareGet8 = bare.get8();

        System.out.println("| figure | H2 (embedded default) | PostgreSQL | bare storage path |");
        System.out.println("|---|---|---|---|");
        System.out.printf("| start-up to ready (s) | %.1f | %.1f | |%n", h2.startup(), pg.startup());
        System.out.printf("| ingest, 1 client (res/s; bare: PUT 1 thread) | %.0f | %.0f | %.0f |%n", h2.resources() / h2.ingest1(),
                pg.resources() / pg.ingest1(), bareSeq);
        System.out.printf("| ingest, 4 clients (res/s; bare: PUT 16 threads) | %.0f | %.0f | %.0f |%n", h2.resources() / h2.ingest4(),
                pg.resources() / pg.ingest4(), barePar);
        System.out.printf("| read by id, 1 client | %s | %s | %s |%n", cell(h2.read1()), cell(pg.read1()), cell(bareGet1));
        System.out.printf("| read by id, 8 clients | %s | %s | %s |%n", cell(h2.read8()), cell(pg.read8()), cell(bareGet8));
        System.out.printf("| Observation?patient=, 1 client, after 2 rounds | %s | %s | |%n", cell(h2.search1()), cell(pg.search1()));
        System.out.printf("| vault RSS (MiB) | %d | %d | |%n", h2.rssKiB() / 1024, pg.rssKiB() / 1024);
    }

    static String cell(StorageLoadBenchmark.Result r) {
        return String.format("%.0f/s, p50 %.2f ms, p99 %.2f ms", r.opsPerSecond(), r.percentileMillis(0.5), r.percentileMillis(0.99));
    }

    /** One vault: start, ingest the bundles twice, read and search; stopped and removed afterwards. */
    static Figures run(String index, List<byte[]> bundles, int perRound, double seconds, List<String> serveArgs,
                       Map<String, String> env) throws Exception {
        Path dir = Files.createTempDirectory("hds-vault-index-load");
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        long t0 = System.nanoTime();
        Process vault = VaultLoadBenchmark.startVault(dir, port, List.of(), serveArgs, env);
        try {
            String base = "https://localhost:" + port;
            HttpClient http = HttpClient.newBuilder().sslContext(VaultLoadBenchmark.trusting(dir.resolve("tls/ca.pem"), t0))
                    .version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(5)).build();
            VaultLoadBenchmark.waitReady(http, base);
            double startup = (System.nanoTime() - t0) / 1e9;
            String token = VaultLoadBenchmark.token(dir);
            ConcurrentLinkedQueue<String[]> created = new ConcurrentLinkedQueue<>();
            double one = VaultLoadBenchmark.ingest(http, base, token, bundles, 1, created);
            double four = VaultLoadBenchmark.ingest(http, base, token, bundles, 4, created);
            System.out.printf("%s: ingest %.0f res/s (1 client), %.0f res/s (4 clients)%n", index, perRound / one, perRound / four);
            List<String[]> ids = new ArrayList<>(created);
            Collections.shuffle(ids, new java.util.Random(1));
            List<String> patients = ids.stream().filter(i -> i[0].equals("Patient")).map(i -> i[1]).toList();
            StorageLoadBenchmark.Op read = (t, n) -> {
                String[] id = ids.get((int) (n % ids.size()));
                VaultLoadBenchmark.send(http, base + "/fhir/" + id[0] + "/" + id[1], token, 200);
            };
            StorageLoadBenchmark.Op search = (t, n) -> VaultLoadBenchmark.send(http,
                    base + "/fhir/Observation?patient=" + patients.get((int) (n % patients.size())), token, 200);
            StorageLoadBenchmark.measure(read, 8, 2); // warm-up
            StorageLoadBenchmark.measure(search, 1, 2);
            StorageLoadBenchmark.Result read1 = StorageLoadBenchmark.measure(read, 1, seconds);
            StorageLoadBenchmark.Result read8 = StorageLoadBenchmark.measure(read, 8, seconds);
            StorageLoadBenchmark.Result search1 = StorageLoadBenchmark.measure(search, 1, seconds);
            long rss = VaultLoadBenchmark.rssKiB(vault.pid());
            List<byte[]> objects = VaultLoadBenchmark.envelopeSizedObjects(dir.resolve("s3/objects/hds-vault-objects"));
            return new Figures(index, startup, one, four, perRound, read1, read8, search1, rss, objects);
        } finally {
            vault.destroy();
            vault.waitFor();
            StorageLoadBenchmark.deleteTree(dir);
        }
    }
}
