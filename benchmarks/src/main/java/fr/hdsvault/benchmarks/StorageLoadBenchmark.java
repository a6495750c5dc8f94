package fr.hdsvault.benchmarks;

import fr.hdsvault.storage.BucketOptions;
import fr.hdsvault.storage.S3ObjectStore;
import fr.hdsvault.storage.S3StoreConfig;
import fr.hdsvault.storage.embedded.EmbeddedS3Server;
import io.minio.GetObjectArgs;
import io.minio.MinioClient;
import io.minio.PutObjectArgs;
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.Base64;
import java.util.HexFormat;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Load benchmark of the storage path against the embedded S3 server: PUT and GET of 2 KiB and
 * 64 KiB objects with 1, 4 and 16 threads, through the {@code ObjectStore} API and through bare
 * MinIO client calls on the same server and objects, interleaved round by round so that the
 * ratio holds on a noisy machine. Bare PUTs send the same request (checksum metadata and
 * header); bare GETs skip the SHA-256 check the API makes, so the GET ratio includes it. A last row per size shows bare PUTs on a server without
 * fsync: the price of durable writes.
 *
 * <p>Run: {@code java -cp benchmarks/target/benchmarks.jar fr.hdsvault.benchmarks.StorageLoadBenchmark [seconds-per-round] [rounds]}
 */
public final class StorageLoadBenchmark {

    interface Op {
        void run(int thread, long n) throws Exception;
    }

    record Result(long ops, double seconds, long[] latenciesNanos) {
        double opsPerSecond() {
            return ops / seconds;
        }

        double percentileMillis(double p) {
            if (latenciesNanos.length == 0) {
                return Double.NaN;
            }
            return latenciesNanos[Math.min(latenciesNanos.length - 1, (int) Math.ceil(p * latenciesNanos.length) - 1)] / 1e6;
        }
    }

    public static void main(String[] args) throws Exception {
        double seconds = args.length > 0 ? Double.parseDouble(args[0]) : 3;
        int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 3;
        startupTimes();
        Path dir = Files.createTempDirectory("hds-storage-bench");
        Path noSyncDir = Files.createTempDirectory("hds-storage-bench-nosync");
        try (EmbeddedS3Server server = EmbeddedS3Server.start(dir);
             EmbeddedS3Server noSync = EmbeddedS3Server.start(noSyncDir, 0, false)) {
            S3StoreConfig config = S3StoreConfig.declared(server.endpoint(), server.credentials(), "fr-par");
            S3StoreConfig noSyncConfig = S3StoreConfig.declared(noSync.endpoint(), noSync.credentials(), "fr-par");
            try (S3ObjectStore store = new S3ObjectStore(config)) {
                store.createBucket("bench", BucketOptions.plain());
                new S3ObjectStore(noSyncConfig).createBucket("bench", BucketOptions.plain());
                MinioClient bare = bareClient(config);
                MinioClient bareNoSync = bareClient(noSyncConfig);
                System.out.printf("# storage load benchmark: %d rounds of %.1f s per cell, embedded S3Proxy, %d cores%n",
                        rounds, seconds, Runtime.getRuntime().availableProcessors());
                System.out.println("| op | size | threads | API ops/s | API p50 ms | API p99 ms | bare ops/s | bare p50 ms | bare p99 ms | API/bare |");
                System.out.println("|---|---|---|---|---|---|---|---|---|---|");
                for (int size : new int[] {2048, 65536}) {
                    byte[] payload = new byte[size];
                    new Random(size).nextBytes(payload);
                    byte[] digest = MessageDigest.getInstance("SHA-256").digest(payload);
                    String sha256Hex = HexFormat.of().formatHex(digest);
                    String sha256Base64 = Base64.getEncoder().encodeToString(digest);
                    int readable = 500;
                    for (int i = 0; i < readable; i++) {
                        store.put("bench", "read/" + size + "/" + i, payload, Map.of());
                    }
                    AtomicLong unique = new AtomicLong();
                    for (int threads : new int[] {1, 4, 16}) {
                        Op apiPut = (t, n) -> store.put("bench", "w/" + unique.incrementAndGet(), payload, Map.of());
                        // The bare client sends the same request as the API (checksum in metadata and header),
                        // so the ratio is the API's own cost: hashing, retry wrapper, residency check, mapping.
                        Op barePut = (t, n) -> bare.putObject(PutObjectArgs.builder().bucket("bench").object("w/" + unique.incrementAndGet())
                                .stream(new ByteArrayInputStream(payload), payload.length, -1)
                                .userMetadata(Map.of("sha256", sha256Hex)).headers(Map.of("x-amz-checksum-sha256", sha256Base64)).build());
                        Op apiGet = (t, n) -> store.getBytes("bench", "read/" + size + "/" + (n % readable));
                        Op bareGet = (t, n) -> {
                            try (InputStream in = bare.getObject(GetObjectArgs.builder().bucket("bench")
                                    .object("read/" + size + "/" + (n % readable)).build())) {
                                in.readAllBytes();
                            }
                        };
                        compare("PUT", size, threads, apiPut, barePut, seconds, rounds);
                        compare("GET", size, threads, apiGet, bareGet, seconds, rounds);
                    }
                    for (int threads : new int[] {1, 4, 16}) {
                        Op put = (t, n) -> bareNoSync.putObject(PutObjectArgs.builder().bucket("bench").object("w/" + unique.incrementAndGet())
                                .stream(new ByteArrayInputStream(payload), payload.length, -1).build());
                        Result r = measure(put, threads, seconds * rounds);
                        System.out.printf("| PUT, server without fsync (bare) | %s | %d | | | | %.0f | %.2f | %.2f | |%n",
                                size(size), threads, r.opsPerSecond(), r.percentileMillis(0.5), r.percentileMillis(0.99));
                    }
                }
            }
        } finally {
            deleteTree(dir);
            deleteTree(noSyncDir);
        }
    }

    /** Start-up of the embedded server on an empty directory: the first start in this JVM (cold), then warm ones. */
    static void startupTimes() throws Exception {
        List<Double> millis = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            Path d = Files.createTempDirectory("hds-storage-start");
            long t0 = System.nanoTime();
            EmbeddedS3Server s = EmbeddedS3Server.start(d);
            millis.add((System.nanoTime() - t0) / 1e6);
            s.close();
            deleteTree(d);
        }
        List<Double> warm = millis.subList(1, millis.size()).stream().sorted().toList();
        System.out.printf("# embedded S3 server start-up: first (cold JVM) %.0f ms, then median %.0f ms (max %.0f ms)%n",
                millis.get(0), warm.get(warm.size() / 2), warm.get(warm.size() - 1));
    }

    static MinioClient bareClient(S3StoreConfig config) {
        return MinioClient.builder().endpoint(config.endpoint())
                .credentials(config.credentials().accessKey(), config.credentials().secretKey())
                .region(config.region()).httpClient(S3ObjectStore.httpClient(config)).build();
    }

    static void compare(String op, int size, int threads, Op api, Op bare, double seconds, int rounds) throws Exception {
        measure(api, threads, 1); // warm-up of both paths
        measure(bare, threads, 1);
        List<Result> apiRounds = new ArrayList<>();
        List<Result> bareRounds = new ArrayList<>();
        for (int r = 0; r < rounds; r++) {
            apiRounds.add(measure(api, threads, seconds));
            bareRounds.add(measure(bare, threads, seconds));
        }
        Result a = merge(apiRounds);
        Result b = merge(bareRounds);
        System.out.printf("| %s | %s | %d | %.0f | %.2f | %.2f | %.0f | %.2f | %.2f | %.2f |%n", op, size(size), threads,
                a.opsPerSecond(), a.percentileMillis(0.5), a.percentileMillis(0.99),
                b.opsPerSecond(), b.percentileMillis(0.5), b.percentileMillis(0.99), a.opsPerSecond() / b.opsPerSecond());
    }

    static Result measure(Op op, int threads, double seconds) throws Exception {
        long[][] latencies = new long[threads][];
        int[] counts = new int[threads];
        Exception[] failure = new Exception[1];
        CountDownLatch start = new CountDownLatch(1);
        long durationNanos = (long) (seconds * 1e9);
        List<Thread> workers = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            int id = t;
            latencies[t] = new long[1 << 16];
            Thread w = new Thread(() -> {
                try {
                    start.await();
                    long end = System.nanoTime() + durationNanos;
                    long n = id * 7919L;
                    while (true) {
                        long t0 = System.nanoTime();
                        if (t0 >= end) {
                            break;
                        }
                        op.run(id, n++);
                        if (counts[id] == latencies[id].length) {
                            latencies[id] = Arrays.copyOf(latencies[id], counts[id] * 2);
                        }
                        latencies[id][counts[id]++] = System.nanoTime() - t0;
                    }
                } catch (Exception e) {
                    failure[0] = e;
                }
            });
            w.start();
            workers.add(w);
        }
        long t0 = System.nanoTime();
        start.countDown();
        for (Thread w : workers) {
            w.join();
        }
        double elapsed = (System.nanoTime() - t0) / 1e9;
        if (failure[0] != null) {
            throw failure[0];
        }
        long total = Arrays.stream(counts).sum();
        long[] all = new long[(int) total];
        int p = 0;
        for (int t = 0; t < threads; t++) {
            System.arraycopy(latencies[t], 0, all, p, counts[t]);
            p += counts[t];
        }
        Arrays.sort(all);
        return new Result(total, elapsed, all);
    }

    static Result merge(List<Result> rounds) {
        long ops = rounds.stream().mapToLong(Result::ops).sum();
        double seconds = rounds.stream().mapToDouble(Result::seconds).sum();
        long[] all = rounds.stream().flatMapToLong(r -> Arrays.stream(r.latenciesNanos())).sorted().toArray();
        return new Result(ops, seconds, all);
    }

    static String size(int bytes) {
        return bytes / 1024 + " KiB";
    }

    static void deleteTree(Path dir) throws java.io.IOException {
        try (var paths = Files.walk(dir)) {
            paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }
}
