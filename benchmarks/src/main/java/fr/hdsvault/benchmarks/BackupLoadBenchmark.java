package fr.hdsvault.benchmarks;

import fr.hdsvault.storage.BucketOptions;
import fr.hdsvault.storage.S3ObjectStore;
import fr.hdsvault.storage.S3StoreConfig;
import fr.hdsvault.storage.embedded.EmbeddedS3Server;
import io.minio.GetObjectArgs;
import io.minio.ListObjectsArgs;
import io.minio.MinioClient;
import io.minio.PutObjectArgs;
import io.minio.Result;
import io.minio.messages.Item;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
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
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Backup and restore throughput of a running vault, against a bare copy of the same objects
 * through the MinIO SDK in the same run.
 *
 * <p>For each data set (the 31 Synthea bundles, then N small synthetic observations, default
 * 100,000), on a fresh vault ({@code vault-api/target/vault.jar}): a full backup
 * ({@code POST /admin/backups}: index snapshot, ciphertext objects copied 8 at a time, hashed,
 * manifest signed and verified) between two bare copies of the vault's object bucket into a
 * fresh embedded S3 store (GET then PUT, 8 threads, durable writes as in the backup store); then
 * {@code vault restore} of that set into an empty directory (every object copied, hashed and
 * decrypted, index loaded, audit trail verified), between two bare copies of the backup's objects.
 * Ratios are throughputs, vault over the mean of the bare copies.
 *
 * <p>Run: {@code ./mvnw -q -DskipTests package && java -cp benchmarks/target/benchmarks.jar
 * fr.hdsvault.benchmarks.BackupLoadBenchmark [synthetic-count]}
 */
public final class BackupLoadBenchmark {

    private static final int THREADS = 8;
    private static final Pattern TOOK = Pattern.compile(" in (\\d+) ms");

    record Copy(long objects, long bytes, double seconds) {
        double objectsPerSecond() {
            return objects / seconds;
        }
    }

    public static void main(String[] args) throws Exception {
        int synthetic = args.length > 0 ? Integer.parseInt(args[0]) : 100_000;
        System.out.printf("# backup load benchmark: %d cores; bare copies GET+PUT with %d threads%n",
                Runtime.getRuntime().availableProcessors(), THREADS);
        System.out.println("| data set | operation | objects | MB | vault s | vault obj/s | bare s (2 runs) | bare obj/s | vault/bare |");
        System.out.println("|---|---|---|---|---|---|---|---|---|");
        measure("Synthea (31 bundles)", VaultLoadBenchmark.syntheaBundles());
        measure("synthetic " + synthetic, syntheticBundles(synthetic, 500));
    }

    private static void measure(String name, List<byte[]> bundles) throws Exception {
        Path dir = Files.createTempDirectory("hds-vault-backup-load");
        Path scratch = Files.createTempDirectory("hds-vault-backup-bare");
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        long t0 = System.nanoTime();
        Process vault = VaultLoadBenchmark.startVault(dir, port);
        try {
            String base = "https://localhost:" + port;
            HttpClient http = HttpClient.newBuilder().sslContext(VaultLoadBenchmark.trusting(dir.resolve("tls/ca.pem"), t0))
                    .version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(5)).build();
            VaultLoadBenchmark.waitReady(http, base);
            double ingest = VaultLoadBenchmark.ingest(http, base, VaultLoadBenchmark.token(dir), bundles, 4, new ConcurrentLinkedQueue<>());
            System.err.printf("%s: ingested in %.1f s%n", name, ingest);

            Path vaultS3 = dir.resolve("s3");
            Copy bareBackup1 = bareCopy(vaultS3, "hds-vault-objects", "", scratch.resolve("b1"));
            String operator = VaultLoadBenchmark.token(dir, "operator");
            long b0 = System.nanoTime();
            HttpResponse<String> backup = http.send(HttpRequest.newBuilder(URI.create(base + "/admin/backups"))
                    .header("Authorization", "Bearer " + operator).timeout(Duration.ofHours(1))
                    .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
            double backupSeconds = (System.nanoTime() - b0) / 1e9;
            if (backup.statusCode() != 200 || !backup.body().contains("\"complete\"")) {
                throw new IllegalStateException("backup failed: " + backup.body());
            }
            Copy bareBackup2 = bareCopy(vaultS3, "hds-vault-objects", "", scratch.resolve("b2"));
            long objects = number(backup.body(), "objects");
            long bytes = number(backup.body(), "bytes");
            row(name, "backup (full)", new Copy(objects, bytes, backupSeconds), bareBackup1, bareBackup2);

            Path backupS3 = dir.resolve("backup-s3");
            Copy bareRestore1 = bareCopy(backupS3, "hds-vault-backup", "objects/", scratch.resolve("r1"));
            Path restored = scratch.resolve("restored");
            long r0 = System.nanoTime();
            Process restore = new ProcessBuilder("java", "-jar", "vault-api/target/vault.jar", "restore", "--data-dir", restored.toString(),
                    "--backup-dir", backupS3.toString(), "--root-key", dir.resolve("keys/root.p12").toString(),
                    "--root-passphrase-file", dir.resolve("keys/root.passphrase").toString())
                    .redirectError(ProcessBuilder.Redirect.DISCARD).start();
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            restore.getInputStream().transferTo(out);
            if (restore.waitFor() != 0) {
                throw new IllegalStateException("restore failed: " + out.toString(StandardCharsets.UTF_8));
            }
            double restoreWall = (System.nanoTime() - r0) / 1e9;
            out.toString(StandardCharsets.UTF_8).lines().filter(l -> l.startsWith("restore of")).forEach(l -> System.out.println("  " + l));
            Matcher took = TOOK.matcher(out.toString(StandardCharsets.UTF_8));
            double restoreSeconds = took.find() ? Long.parseLong(took.group(1)) / 1e3 : restoreWall;
            Copy bareRestore2 = bareCopy(backupS3, "hds-vault-backup", "objects/", scratch.resolve("r2"));
            row(name, "restore (own timing; wall incl. JVM start " + String.format("%.1f s", restoreWall) + ")",
                    new Copy(objects, bytes, restoreSeconds), bareRestore1, bareRestore2);
        } finally {
            vault.destroy();
            vault.waitFor();
            StorageLoadBenchmark.deleteTree(scratch);
            StorageLoadBenchmark.deleteTree(dir);
        }
    }

    /** The bare path: every object under {@code prefix} read from one embedded store and written to a fresh one. */
    private static Copy bareCopy(Path sourceDir, String bucket, String prefix, Path targetDir) throws Exception {
        try (EmbeddedS3Server source = EmbeddedS3Server.start(sourceDir); EmbeddedS3Server target = EmbeddedS3Server.start(targetDir)) {
            S3StoreConfig sourceConfig = S3StoreConfig.declared(source.endpoint(), source.credentials(), "fr-par");
            S3StoreConfig targetConfig = S3StoreConfig.declared(target.endpoint(), target.credentials(), "fr-par");
            try (S3ObjectStore store = new S3ObjectStore(targetConfig)) {
                store.createBucket("bare", BucketOptions.plain());
            }
            MinioClient from = StorageLoadBenchmark.bareClient(sourceConfig);
            MinioClient to = StorageLoadBenchmark.bareClient(targetConfig);
            // The keys are known beforehand, as the vault knows them from its index: the listing is not timed.
            List<String> keys = new ArrayList<>();
            for (Result<Item> item : from.listObjects(ListObjectsArgs.builder().bucket(bucket).prefix(prefix).recursive(true).build())) {
                keys.add(item.get().objectName());
            }
            AtomicLong bytes = new AtomicLong();
            double seconds = VaultLoadBenchmark.drain(keys.size(), THREADS, i -> {
                byte[] content;
                try (InputStream in = from.getObject(GetObjectArgs.builder().bucket(bucket).object(keys.get(i)).build())) {
                    content = in.readAllBytes();
                }
                to.putObject(PutObjectArgs.builder().bucket("bare").object(keys.get(i))
                        .stream(new ByteArrayInputStream(content), content.length, -1).build());
                bytes.addAndGet(content.length);
            });
            return new Copy(keys.size(), bytes.get(), seconds);
        } finally {
            StorageLoadBenchmark.deleteTree(targetDir);
        }
    }

    private static void row(String name, String operation, Copy vault, Copy bare1, Copy bare2) {
        double bareRate = (bare1.objectsPerSecond() + bare2.objectsPerSecond()) / 2;
        System.out.printf("| %s | %s | %d | %.1f | %.1f | %.0f | %.1f, %.1f | %.0f | %.2f |%n", name, operation, vault.objects(),
                vault.bytes() / 1e6, vault.seconds(), vault.objectsPerSecond(), bare1.seconds(), bare2.seconds(), bareRate,
                vault.objectsPerSecond() / bareRate);
        if (bare1.objects() != vault.objects() || bare2.objects() != vault.objects()) {
            System.out.printf("  (bare copies moved %d and %d objects)%n", bare1.objects(), bare2.objects());
        }
    }

    private static long number(String json, String field) {
        Matcher m = Pattern.compile("\"" + field + "\"\\s*:\\s*(\\d+)").matcher(json);
        if (!m.find()) {
            throw new IllegalStateException("no " + field + " in " + json);
        }
        return Long.parseLong(m.group(1));
    }

    /** {@code count} small observations (about 300 bytes of JSON each) over 1,000 patients, in transactions of {@code per}. */
    private static List<byte[]> syntheticBundles(int count, int per) {
        List<byte[]> bundles = new ArrayList<>();
        for (int start = 0; start < count; start += per) {
            StringBuilder b = new StringBuilder("{\"resourceType\":\"Bundle\",\"type\":\"transaction\",\"entry\":[");
            for (int i = start; i < Math.min(count, start + per); i++) {
                b.append(i == start ? "" : ",").append("{\"resource\":{\"resourceType\":\"Observation\",\"status\":\"final\",")
                        .append("\"code\":{\"coding\":[{\"system\":\"http://loinc.org\",\"code\":\"8867-4\"}]},")
                        .append("\"subject\":{\"reference\":\"Patient/synthetic-").append(i % 1000).append("\"},")
                        .append("\"valueQuantity\":{\"value\":").append(50 + i % 70).append(",\"unit\":\"/min\"}},")
                        .append("\"request\":{\"method\":\"POST\",\"url\":\"Observation\"}}");
            }
            bundles.add(b.append("]}").toString().getBytes(StandardCharsets.UTF_8));
        }
        return bundles;
    }
}
