package fr.hdsvault.benchmarks;

import fr.hdsvault.crypto.EncryptionContext;
import fr.hdsvault.crypto.EnvelopeCipher;
import fr.hdsvault.storage.BucketOptions;
import fr.hdsvault.storage.S3ObjectStore;
import fr.hdsvault.storage.S3StoreConfig;
import fr.hdsvault.storage.embedded.EmbeddedS3Server;
import io.minio.GetObjectArgs;
import io.minio.MinioClient;
import java.io.InputStream;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reversibility's throughput, all in one run (docs/performance.md, "Bulk export and import"):
 * <ol>
 *   <li>vault A ingests the 31 Synthea bundles {@code rounds} times by transactions (1 client,
 *       then 4): the vault's own ingest rate;</li>
 *   <li>A restarts (cold caches: every object is read from the store), then a system-level
 *       {@code $export} of everything: resources per second of the job, as the vault logs it,
 *       and the files downloaded;</li>
 *   <li>the bare path: the same resources (the exported JSON), sealed as the vault seals records,
 *       in a fresh embedded S3 server, read and opened with the vault's 16 object threads:
 *       resources per second;</li>
 *   <li>vault B, empty, imports the exported files ({@code /admin/import}, preserving meta, in
 *       parts of 2,000 lines as the CLI sends them): resources per second.</li>
 * </ol>
 * Run from the repository root after {@code ./mvnw -q -DskipTests package}:
 * {@code java -cp benchmarks/target/benchmarks.jar fr.hdsvault.benchmarks.BulkLoadBenchmark [rounds]}.
 */
public final class BulkLoadBenchmark {

    private static final Pattern COMPLETED = Pattern.compile("bulk export ([0-9a-f]{32}) completed: (\\d+) resources in (\\d+) ms");
    private static final Pattern URL = Pattern.compile("\"url\"\\s*:\\s*\"([^\"]+)\"");
    private static final int OBJECT_THREADS = 16;

    private BulkLoadBenchmark() {
    }

    public static void main(String[] args) throws Exception {
        int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 2;
        List<byte[]> bundles = VaultLoadBenchmark.syntheaBundles();
        int perRound = bundles.stream().mapToInt(b -> VaultLoadBenchmark.count(new String(b, StandardCharsets.UTF_8), "\"request\"")).sum();
        Path a = Files.createTempDirectory("hds-bulk-a");
        Path b = Files.createTempDirectory("hds-bulk-b");
        Path files = Files.createTempDirectory("hds-bulk-files");
        int portA = freePort();
        int portB = freePort();
        long t0 = System.nanoTime();
        Process vaultA = VaultLoadBenchmark.startVault(a, portA);
        Process vaultB = null;
        try {
            String baseA = "https://localhost:" + portA;
            HttpClient httpA = client(a, t0);
            VaultLoadBenchmark.waitReady(httpA, baseA);
            System.out.printf("# bulk load benchmark: %d rounds of %d bundles (%d resources each), %d cores%n", rounds, bundles.size(),
                    perRound, Runtime.getRuntime().availableProcessors());
            String practitioner = VaultLoadBenchmark.token(a);
            ConcurrentLinkedQueue<String[]> created = new ConcurrentLinkedQueue<>();
            double ingest1 = perRound / VaultLoadBenchmark.ingest(httpA, baseA, practitioner, bundles, 1, created);
            double ingest4 = 0;
            for (int r = 1; r < rounds; r++) {
                ingest4 += perRound / VaultLoadBenchmark.ingest(httpA, baseA, practitioner, bundles, 4, created) / (rounds - 1);
            }
            long total = (long) perRound * rounds;
            System.out.printf("transaction ingest: %.0f res/s (1 client), %.0f res/s (4 clients); %d resources held%n", ingest1,
                    ingest4, total);

            // The export reads every object from the store, as the bare path does: vault A restarted without its
            // cache of record objects; one export first to warm its JVM, then the one measured.
            vaultA.destroy();
            vaultA.waitFor();
            vaultA = VaultLoadBenchmark.startVault(a, portA, "-Dvault.cache.record-objects=0");
            VaultLoadBenchmark.waitReady(httpA, baseA);
            String service = token(a, "service", "system/*.read");
            export(httpA, baseA, service);
            long kickoff = System.nanoTime();
            HttpResponse<String> manifest = export(httpA, baseA, service);
            double wall = (System.nanoTime() - kickoff) / 1e9;
            Matcher done = COMPLETED.matcher(Files.readString(a.resolve("vault.log")));
            long exported = 0;
            long jobMillis = 0;
            while (done.find()) { // the last one logged: the measured export
                exported = Long.parseLong(done.group(2));
                jobMillis = Long.parseLong(done.group(3));
            }
            if (exported != total) {
                throw new IllegalStateException("exported " + exported + " resources, the vault holds " + total);
            }
            long downloadStart = System.nanoTime();
            List<String> lines = new ArrayList<>();
            long bytes = 0;
            Matcher urls = URL.matcher(manifest.body());
            int n = 0;
            while (urls.find()) {
                Path file = files.resolve(String.format("%04d.ndjson", ++n));
                httpA.send(HttpRequest.newBuilder(URI.create(urls.group(1))).header("Authorization", "Bearer " + service).GET().build(),
                        HttpResponse.BodyHandlers.ofFile(file));
                bytes += Files.size(file);
                Files.readAllLines(file).stream().filter(l -> !l.isBlank()).forEach(lines::add);
            }
            double download = (System.nanoTime() - downloadStart) / 1e9;
            double exportRate = exported / (jobMillis / 1000.0);
            System.out.printf("export job: %d resources in %.2f s = %.0f res/s (kick-off to manifest, polling every Retry-After: %.1f s); "
                    + "download of %d files, %.1f MiB: %.2f s%n", exported, jobMillis / 1000.0, exportRate, wall, n, bytes / 1048576.0,
                    download);

            Bare bare = bareReadAndOpen(lines);
            System.out.printf("bare path, same resources sealed in a fresh embedded S3, GET + open on %d threads: %.0f res/s "
                    + "(storage library, SHA-256 checked), %.0f res/s (raw MinIO client)%n", OBJECT_THREADS, bare.library(), bare.raw());

            vaultA.destroy();
            vaultA.waitFor();
            vaultB = VaultLoadBenchmark.startVault(b, portB);
            String baseB = "https://localhost:" + portB;
            HttpClient httpB = client(b, System.nanoTime());
            VaultLoadBenchmark.waitReady(httpB, baseB);
            String operator = VaultLoadBenchmark.token(b, "operator");
            long importStart = System.nanoTime();
            for (int from = 0; from < lines.size(); from += 2000) {
                String part = String.join("\n", lines.subList(from, Math.min(lines.size(), from + 2000))) + "\n";
                HttpResponse<String> r = httpB.send(HttpRequest.newBuilder(URI.create(baseB + "/admin/import?preserveMeta=true"))
                        .header("Authorization", "Bearer " + operator).header("Content-Type", "application/fhir+ndjson")
                        .timeout(Duration.ofMinutes(30)).POST(HttpRequest.BodyPublishers.ofString(part)).build(),
                        HttpResponse.BodyHandlers.ofString());
                if (r.statusCode() != 200 || !r.body().contains("\"refused\":0")) {
                    throw new IllegalStateException("import: HTTP " + r.statusCode() + " " + r.body());
                }
            }
            double importRate = lines.size() / ((System.nanoTime() - importStart) / 1e9);
            System.out.printf("import into an empty vault: %d resources, %.0f res/s%n", lines.size(), importRate);

            System.out.println("| figure | value | compared with | ratio |");
            System.out.println("|---|---|---|---|");
            System.out.printf("| export job (res/s) | %.0f | bare GET (storage library) + open, 16 threads: %.0f | %.2f |%n", exportRate,
                    bare.library(), exportRate / bare.library());
            System.out.printf("| export job (res/s) | %.0f | bare GET (raw MinIO client) + open, 16 threads: %.0f | %.2f |%n", exportRate,
                    bare.raw(), exportRate / bare.raw());
            System.out.printf("| import, 1 client (res/s) | %.0f | transaction ingest, 1 client: %.0f | %.2f |%n", importRate, ingest1,
                    importRate / ingest1);
            System.out.printf("| import, 1 client (res/s) | %.0f | transaction ingest, 4 clients: %.0f | %.2f |%n", importRate, ingest4,
                    importRate / ingest4);
        } finally {
            for (Process p : new Process[] {vaultA, vaultB}) {
                if (p != null) {
                    p.destroy();
                    p.waitFor();
                }
            }
            for (Path dir : List.of(a, b, files)) {
                StorageLoadBenchmark.deleteTree(dir);
            }
        }
    }

    /** A system-level export, kicked off and polled as told (Retry-After) until its manifest. */
    static HttpResponse<String> export(HttpClient http, String base, String token) throws Exception {
        HttpResponse<String> accepted = http.send(HttpRequest.newBuilder(URI.create(base + "/fhir/$export"))
                .header("Authorization", "Bearer " + token).header("Prefer", "respond-async").GET().build(),
                HttpResponse.BodyHandlers.ofString());
        if (accepted.statusCode() != 202) {
            throw new IllegalStateException("kick-off: HTTP " + accepted.statusCode() + " " + accepted.body());
        }
        String status = accepted.headers().firstValue("Content-Location").orElseThrow();
        while (true) {
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(status)).header("Authorization", "Bearer " + token)
                    .GET().build(), HttpResponse.BodyHandlers.ofString());
            if (r.statusCode() == 200) {
                return r;
            }
            if (r.statusCode() != 202 && r.statusCode() != 429) {
                throw new IllegalStateException("status: HTTP " + r.statusCode() + " " + r.body());
            }
            Thread.sleep(1000L * Long.parseLong(r.headers().firstValue("Retry-After").orElse("1")));
        }
    }

    /** Bare reads and opens of the same resources: through the storage library, and through the raw MinIO client. */
    record Bare(double library, double raw) {
    }

    /**
     * The resources as the vault holds them (sealed, one object each with its SHA-256 recorded, a
     * key per patient-sized group) in a fresh embedded S3 server, fetched and opened on 16 threads:
     * through the project's storage library ({@code S3ObjectStore}, which checks each object's
     * SHA-256 as the vault must), and through the raw MinIO client (no check).
     */
    static Bare bareReadAndOpen(List<String> lines) throws Exception {
        Path dir = Files.createTempDirectory("hds-bulk-bare");
        EnvelopeCipher envelopes = new EnvelopeCipher(BenchmarkKeys.keyring());
        try (EmbeddedS3Server s3 = EmbeddedS3Server.start(dir)) {
            S3StoreConfig cfg = S3StoreConfig.declared(s3.endpoint(), s3.credentials(), "fr-par");
            try (S3ObjectStore store = new S3ObjectStore(cfg)) {
                store.createBucket("bare", BucketOptions.plain());
                VaultLoadBenchmark.drain(lines.size(), OBJECT_THREADS, i -> store.put("bare", "o" + i,
                        envelopes.seal("k" + i / 300, context(i), lines.get(i).getBytes(StandardCharsets.UTF_8)), java.util.Map.of()));
                double library = VaultLoadBenchmark.drain(lines.size(), OBJECT_THREADS, i ->
                        envelopes.open(context(i), store.getBytes("bare", "o" + i)));
                MinioClient bare = StorageLoadBenchmark.bareClient(cfg);
                double raw = VaultLoadBenchmark.drain(lines.size(), OBJECT_THREADS, i -> {
                    try (InputStream in = bare.getObject(GetObjectArgs.builder().bucket("bare").object("o" + i).build())) {
                        envelopes.open(context(i), in.readAllBytes());
                    }
                });
                return new Bare(lines.size() / library, lines.size() / raw);
            }
        } finally {
            StorageLoadBenchmark.deleteTree(dir);
        }
    }

    private static EncryptionContext context(int i) {
        return new EncryptionContext("bench", "Resource", "r" + i, "1");
    }

    private static HttpClient client(Path dir, long t0) throws Exception {
        return HttpClient.newBuilder().sslContext(VaultLoadBenchmark.trusting(dir.resolve("tls/ca.pem"), t0))
                .version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(5)).build();
    }

    private static String token(Path dir, String role, String scope) throws Exception {
        Process p = new ProcessBuilder("java", "-jar", "vault-api/target/vault.jar", "token", "--data-dir", dir.toString(),
                "--role", role, "--scope", scope, "--subject", "bulk-benchmark", "--ttl", "1h").start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.US_ASCII).strip();
        if (p.waitFor() != 0) {
            throw new IllegalStateException("vault token failed");
        }
        return out;
    }

    private static int freePort() throws Exception {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }
}
