package fr.hdsvault.benchmarks;

import fr.hdsvault.crypto.pki.DevPki;
import fr.hdsvault.storage.BucketOptions;
import fr.hdsvault.storage.S3ObjectStore;
import fr.hdsvault.storage.S3StoreConfig;
import fr.hdsvault.storage.embedded.EmbeddedS3Server;
import io.minio.GetObjectArgs;
import io.minio.MinioClient;
import io.minio.PutObjectArgs;
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
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import java.util.zip.GZIPInputStream;
import javax.net.ssl.SSLContext;

/**
 * Load benchmark of the whole service over HTTPS, against the bare storage path in the same run.
 *
 * <p>Starts {@code vault-api/target/vault.jar} on a fresh data directory and a free port, then:
 * ingests the 31 Synthea bundles as transactions (1 client, then 4 clients), reads resources by
 * id (1 and 8 clients), searches {@code Observation?patient=} (1 client). It then restarts the
 * vault with auditing off and on (reads), with the detection rules on and off (reads), and with the
 * index's forced sync off and on (ingest and reads): what each costs, measured in the same run. In the same JVM it puts
 * and gets the same number of objects of the same sizes through the bare MinIO SDK on an
 * embedded S3 server, and prints the vault/bare ratios.
 *
 * <p>Run: {@code ./mvnw -q -DskipTests package && java -cp benchmarks/target/benchmarks.jar
 * fr.hdsvault.benchmarks.VaultLoadBenchmark [seconds-per-read-phase] [detection-rounds] [warm-up-seconds]}; with
 * {@code detection-rounds}, only the detection rules' cost: after the ingest, that many restarts with the rules on and as
 * many with them off, interleaved (on, off, on, off...), each warmed up (30 s by default), reads by id with 1 and 8
 * clients in each, the medians compared, and the vault's CPU per read counted per thread from /proc.
 */
public final class VaultLoadBenchmark {

    static final Path SAMPLES = Path.of("..", "shared", "fhir-samples", "synthea-r4");
    static final Pattern LOCATION = Pattern.compile("\"location\"\\s*:\\s*\"([A-Za-z]+)/([^/\"]+)/_history/\\d+\"");

    public static void main(String[] args) throws Exception {
        double seconds = args.length > 0 ? Double.parseDouble(args[0]) : 10;
        List<byte[]> bundles = syntheaBundles();
        int resourcesPerRound = bundles.stream().mapToInt(b -> count(new String(b, StandardCharsets.UTF_8), "\"request\"")).sum();
        Path dir = Files.createTempDirectory("hds-vault-load");
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        long t0 = System.nanoTime();
        Process vault = startVault(dir, port);
        try {
            String base = "https://localhost:" + port;
            HttpClient http = HttpClient.newBuilder().sslContext(trusting(dir.resolve("tls/ca.pem"), t0))
                    .version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(5)).build();
            waitReady(http, base);
            double startup = (System.nanoTime() - t0) / 1e9;
            String token = token(dir);
            System.out.printf("# vault load benchmark: %d bundles, %d resources per ingest round, %d cores%n",
                    bundles.size(), resourcesPerRound, Runtime.getRuntime().availableProcessors());
            System.out.printf("start-up to ready: %.1f s%n", startup);

            ConcurrentLinkedQueue<String[]> created = new ConcurrentLinkedQueue<>();
            double seq = ingest(http, base, token, bundles, 1, created);
            double par = ingest(http, base, token, bundles, 4, created);
            System.out.printf("ingest, 1 client: %.0f resources/s; 4 clients: %.0f resources/s%n",
                    resourcesPerRound / seq, resourcesPerRound / par);

            List<String[]> ids = new ArrayList<>(created);
            Collections.shuffle(ids, new java.util.Random(1));
            List<String> patients = ids.stream().filter(i -> i[0].equals("Patient")).map(i -> i[1]).toList();
            StorageLoadBenchmark.Op read = (t, n) -> {
                String[] id = ids.get((int) (n % ids.size()));
                send(http, base + "/fhir/" + id[0] + "/" + id[1], token, 200);
            };
            StorageLoadBenchmark.Op search = (t, n) ->
                    send(http, base + "/fhir/Observation?patient=" + patients.get((int) (n % patients.size())), token, 200);
            StorageLoadBenchmark.measure(read, 8, 2); // warm-up
            int detectionRounds = args.length > 1 ? Integer.parseInt(args[1]) : 0;
            if (detectionRounds > 0) {
                // A practitioner whose token names its own Practitioner resource, as SMART tokens do: the
                // name rules (same family name, self-access) then judge every read as well.
                String named = token(dir, "practitioner", "--fhir-user", "Practitioner/" + createPractitioner(http, base, token));
                StorageLoadBenchmark.Op namedRead = (t, n) -> {
                    String[] id = ids.get((int) (n % ids.size()));
                    send(http, base + "/fhir/" + id[0] + "/" + id[1], named, 200);
                };
                double warmUp = args.length > 2 ? Double.parseDouble(args[2]) : 30;
                detectionCost(vault, dir, port, http, base, namedRead, seconds, detectionRounds, warmUp);
                vault = restarted;
                return;
            }
            StorageLoadBenchmark.Result read1 = StorageLoadBenchmark.measure(read, 1, seconds);
            StorageLoadBenchmark.Result read8 = StorageLoadBenchmark.measure(read, 8, seconds);
            StorageLoadBenchmark.Result search1 = StorageLoadBenchmark.measure(search, 1, seconds);

            long rss = rssKiB(vault.pid()); // after ingest and reads with auditing, before the restarts below

            // What auditing costs: the same reads on a restarted vault with the audit trail off (a
            // benchmark-only JVM switch), then on a restarted vault with it on, each after the same
            // warm-up, so that both start from a cold JVM and cold key caches.
            StorageLoadBenchmark.Result[] off = readsAfterRestart(vault, dir, port, http, base, read, seconds,
                    "-Dhds-vault.benchmark.audit-off=true");
            StorageLoadBenchmark.Result[] on = readsAfterRestart(vault, dir, port, http, base, read, seconds);
            // What the detection rules cost (on by default): the same reads with them off, right after.
            StorageLoadBenchmark.Result[] detectionOff = readsAfterRestart(vault, dir, port, http, base, read, seconds,
                    "-Dvault.detection.enabled=false");

            // What durability costs: ingest and reads on a restarted vault whose index is not forced to
            // disk before answering (a benchmark-only JVM switch), then on one that is, same warm-up.
            Durability syncOff = durabilityRound(vault, dir, port, http, base, token, bundles, read, seconds,
                    "-Dhds-vault.benchmark.index-sync-off=true");
            Durability syncOn = durabilityRound(vault, dir, port, http, base, token, bundles, read, seconds);
            vault = restarted;

            // The bare storage path, same run: objects of the sizes the vault stored (its envelopes).
            BarePath bare = barePath(envelopeSizedObjects(dir.resolve("s3/objects/hds-vault-objects")), seconds);
            double bareSeqRate = bare.putsPerSecond1();
            double bareParRate = bare.putsPerSecond16();
            StorageLoadBenchmark.Result bareGet1 = bare.get1();
            StorageLoadBenchmark.Result bareGet8 = bare.get8();
            System.out.println("| figure | vault | bare storage (same objects) | vault/bare |");
            System.out.println("|---|---|---|---|");
            System.out.printf("| ingest, 1 client (res/s) vs PUT 1 thread | %.0f | %.0f | %.2f |%n", resourcesPerRound / seq, bareSeqRate, resourcesPerRound / seq / bareSeqRate);
            System.out.printf("| ingest, 4 clients (res/s) vs PUT 16 threads | %.0f | %.0f | %.2f |%n", resourcesPerRound / par, bareParRate, resourcesPerRound / par / bareParRate);
            row("read by id, 1 client", read1, bareGet1);
            row("read by id, 8 clients", read8, bareGet8);
            for (int i = 0; i < 2; i++) {
                System.out.printf("| read by id, %d client(s), audit on / off (restarted) | %.0f / %.0f req/s, p50 %.2f / %.2f ms | | %.2f |%n",
                        i == 0 ? 1 : 8, on[i].opsPerSecond(), off[i].opsPerSecond(), on[i].percentileMillis(0.5),
                        off[i].percentileMillis(0.5), on[i].opsPerSecond() / off[i].opsPerSecond());
            }
            for (int i = 0; i < 2; i++) {
                System.out.printf("| read by id, %d client(s), detection rules on / off (restarted) | %.0f / %.0f req/s, p50 %.2f / %.2f ms | | %.2f |%n",
                        i == 0 ? 1 : 8, on[i].opsPerSecond(), detectionOff[i].opsPerSecond(), on[i].percentileMillis(0.5),
                        detectionOff[i].percentileMillis(0.5), on[i].opsPerSecond() / detectionOff[i].opsPerSecond());
            }
            System.out.printf("| ingest, 1 client, index sync on / off (restarted) | %.0f / %.0f res/s | | %.2f |%n",
                    resourcesPerRound / syncOn.ingest1(), resourcesPerRound / syncOff.ingest1(), syncOff.ingest1() / syncOn.ingest1());
            System.out.printf("| ingest, 4 clients, index sync on / off (restarted) | %.0f / %.0f res/s | | %.2f |%n",
                    resourcesPerRound / syncOn.ingest4(), resourcesPerRound / syncOff.ingest4(), syncOff.ingest4() / syncOn.ingest4());
            for (int i = 0; i < 2; i++) {
                System.out.printf("| read by id, %d client(s), index sync on / off (restarted) | %.0f / %.0f req/s, p50 %.2f / %.2f ms | | %.2f |%n",
                        i == 0 ? 1 : 8, syncOn.reads()[i].opsPerSecond(), syncOff.reads()[i].opsPerSecond(),
                        syncOn.reads()[i].percentileMillis(0.5), syncOff.reads()[i].percentileMillis(0.5),
                        syncOn.reads()[i].opsPerSecond() / syncOff.reads()[i].opsPerSecond());
            }
            System.out.printf("| Observation?patient=, 1 client | %.0f req/s, p50 %.2f ms, p99 %.2f ms | | |%n",
                    search1.opsPerSecond(), search1.percentileMillis(0.5), search1.percentileMillis(0.99));
            System.out.printf("vault RSS after the run: %d MiB; vault.jar %d MiB%n", rss / 1024,
                    Files.size(Path.of("vault-api/target/vault.jar")) >> 20);
        } finally {
            vault.destroy();
            vault.waitFor();
            StorageLoadBenchmark.deleteTree(dir);
        }
    }

    /** The bare MinIO SDK on a fresh embedded S3 server: PUTs with 1 and 16 threads, GETs with 1 and 8 clients. */
    record BarePath(double putsPerSecond1, double putsPerSecond16, StorageLoadBenchmark.Result get1, StorageLoadBenchmark.Result get8) {
    }

    static BarePath barePath(List<byte[]> objects, double seconds) throws Exception {
        Path bareDir = Files.createTempDirectory("hds-bare");
        try (EmbeddedS3Server s3 = EmbeddedS3Server.start(bareDir)) {
            S3StoreConfig cfg = S3StoreConfig.declared(s3.endpoint(), s3.credentials(), "fr-par");
            try (S3ObjectStore store = new S3ObjectStore(cfg)) {
                store.createBucket("bare", BucketOptions.plain());
            }
            MinioClient bare = StorageLoadBenchmark.bareClient(cfg);
            double seq = objects.size() / barePuts(bare, objects, 1);
            double par = objects.size() / barePuts(bare, objects, 16);
            StorageLoadBenchmark.Op get = (t, n) -> {
                try (InputStream in = bare.getObject(GetObjectArgs.builder().bucket("bare").object("o" + (n % objects.size())).build())) {
                    in.readAllBytes();
                }
            };
            StorageLoadBenchmark.measure(get, 8, 2);
            return new BarePath(seq, par, StorageLoadBenchmark.measure(get, 1, seconds), StorageLoadBenchmark.measure(get, 8, seconds));
        } finally {
            StorageLoadBenchmark.deleteTree(bareDir);
        }
    }

    /** The 31 Synthea bundles of ../shared, uncompressed. */
    static List<byte[]> syntheaBundles() throws java.io.IOException {
        Path samples = Files.isDirectory(SAMPLES) ? SAMPLES : Path.of("..", "..", "shared", "fhir-samples", "synthea-r4");
        List<byte[]> bundles = new ArrayList<>();
        try (Stream<Path> files = Files.list(samples)) {
            for (Path f : files.filter(p -> p.toString().endsWith(".json.gz")).sorted().toList()) {
                try (InputStream in = new GZIPInputStream(Files.newInputStream(f))) {
                    bundles.add(in.readAllBytes());
                }
            }
        }
        return bundles;
    }

    static void row(String name, StorageLoadBenchmark.Result vault, StorageLoadBenchmark.Result bare) {
        System.out.printf("| %s | %.0f req/s, p50 %.2f ms, p99 %.2f ms | %.0f GET/s, p50 %.2f ms | %.2f (p50 %.1fx) |%n", name,
                vault.opsPerSecond(), vault.percentileMillis(0.5), vault.percentileMillis(0.99),
                bare.opsPerSecond(), bare.percentileMillis(0.5), vault.opsPerSecond() / bare.opsPerSecond(),
                vault.percentileMillis(0.5) / bare.percentileMillis(0.5));
    }

    interface Task {
        void run(int index) throws Exception;
    }

    /** Runs task(0..count-1) on {@code threads} threads, each taking the next index; returns seconds. */
    static double drain(int count, int threads, Task task) throws Exception {
        AtomicInteger next = new AtomicInteger();
        List<Thread> workers = new ArrayList<>();
        List<Exception> failures = Collections.synchronizedList(new ArrayList<>());
        long t0 = System.nanoTime();
        for (int w = 0; w < threads; w++) {
            Thread t = new Thread(() -> {
                int i;
                while ((i = next.getAndIncrement()) < count) {
                    try {
                        task.run(i);
                    } catch (Exception e) {
                        failures.add(e);
                    }
                }
            });
            t.start();
            workers.add(t);
        }
        for (Thread t : workers) {
            t.join();
        }
        if (!failures.isEmpty()) {
            throw failures.get(0);
        }
        return (System.nanoTime() - t0) / 1e9;
    }

    private static Process restarted;

    /** Stops the running vault and starts it again with these JVM options, ready and warmed up by reads. */
    static void restart(Process running, Path dir, int port, HttpClient http, String base, StorageLoadBenchmark.Op read,
                        double seconds, String... jvmOptions) throws Exception {
        Process previous = restarted != null ? restarted : running;
        previous.destroy();
        previous.waitFor();
        restarted = startVault(dir, port, jvmOptions);
        waitReady(http, base);
        StorageLoadBenchmark.measure(read, 8, seconds);
    }

    /**
     * The detection rules' cost on reads, measured apart: rounds alternate a restart with the rules
     * on (the default) and one with them off, each warmed up the same way, so that drift of the
     * machine over the run falls on both; the medians of each are compared. Every read records its
     * audit event, so read throughput is also audit throughput here.
     */
    static void detectionCost(Process running, Path dir, int port, HttpClient http, String base, StorageLoadBenchmark.Op read,
                              double seconds, int rounds, double warmUp) throws Exception {
        List<List<StorageLoadBenchmark.Result>> on = List.of(new ArrayList<>(), new ArrayList<>());
        List<List<StorageLoadBenchmark.Result>> off = List.of(new ArrayList<>(), new ArrayList<>());
        List<Double> cpuOn = new ArrayList<>();
        List<Double> cpuOff = new ArrayList<>();
        List<Double> appCpuOn = new ArrayList<>();
        List<Double> appCpuOff = new ArrayList<>();
        List<Double> ruleShare = new ArrayList<>();
        for (int r = 0; r < rounds; r++) {
            for (boolean rulesOn : new boolean[] {true, false}) {
                // Warmed up, 8 clients pass the per-caller rate limit's 1,000 requests a second: it is lifted, the same in both.
                restart(running, dir, port, http, base, read, seconds, NO_RATE_LIMIT, "-Dvault.detection.enabled=" + rulesOn);
                // The JIT compiles for well over the restart's warm-up on 2 cores (its threads took some 40 % of the
                // CPU of 8-second reads after 8 seconds): more warm-up, and the compiler's threads counted apart.
                StorageLoadBenchmark.measure(read, 8, warmUp);
                Map<Long, ThreadCpu> before = threadCpu(restarted.pid());
                StorageLoadBenchmark.Result[] got = {StorageLoadBenchmark.measure(read, 1, seconds),
                        StorageLoadBenchmark.measure(read, 8, seconds)};
                Map<Long, ThreadCpu> after = threadCpu(restarted.pid());
                CpuUse cpu = CpuUse.between(before, after);
                long reads = got[0].ops() + got[1].ops();
                double cpuPerRead = cpu.total() * 10.0 / reads; // ticks of 10 ms
                double appCpuPerRead = (cpu.total() - cpu.jit()) * 10.0 / reads;
                (rulesOn ? cpuOn : cpuOff).add(cpuPerRead);
                (rulesOn ? appCpuOn : appCpuOff).add(appCpuPerRead);
                if (rulesOn) {
                    ruleShare.add(cpu.rulesShare());
                }
                for (int i = 0; i < 2; i++) {
                    (rulesOn ? on : off).get(i).add(got[i]);
                }
                System.out.printf("round %d, rules %s: 1 client %.0f req/s (p50 %.2f ms), 8 clients %.0f req/s (p50 %.2f ms); "
                                + "vault CPU %.3f ms per read, %.3f without the JIT compiler%s%n", r + 1, rulesOn ? "on " : "off",
                        got[0].opsPerSecond(), got[0].percentileMillis(0.5), got[1].opsPerSecond(), got[1].percentileMillis(0.5),
                        cpuPerRead, appCpuPerRead,
                        rulesOn ? String.format(", of which the rules' threads %.2f %%", cpu.rulesShare()) : "");
                System.out.println("  CPU per read by thread group (ms): " + cpu.byGroup().entrySet().stream()
                        .sorted(Map.Entry.<String, Long>comparingByValue().reversed()).limit(10)
                        .map(g -> String.format("%s %.3f", g.getKey(), g.getValue() * 10.0 / reads))
                        .collect(java.util.stream.Collectors.joining(", ")));
            }
        }
        System.out.println("| reads by id (= audit events) | rules on, median | rules off, median | on/off |");
        System.out.println("|---|---|---|---|");
        for (int i = 0; i < 2; i++) {
            double a = median(on.get(i).stream().mapToDouble(StorageLoadBenchmark.Result::opsPerSecond).toArray());
            double b = median(off.get(i).stream().mapToDouble(StorageLoadBenchmark.Result::opsPerSecond).toArray());
            double pa = median(on.get(i).stream().mapToDouble(x -> x.percentileMillis(0.5)).toArray());
            double pb = median(off.get(i).stream().mapToDouble(x -> x.percentileMillis(0.5)).toArray());
            System.out.printf("| %d client(s), %d rounds each | %.0f req/s, p50 %.2f ms | %.0f req/s, p50 %.2f ms | %.2f |%n",
                    i == 0 ? 1 : 8, rounds, a, pa, b, pb, a / b);
        }
        double a = median(cpuOn.stream().mapToDouble(Double::doubleValue).toArray());
        double b = median(cpuOff.stream().mapToDouble(Double::doubleValue).toArray());
        System.out.printf("| vault CPU per read (all threads, /proc) | %.3f ms | %.3f ms | %.2f |%n", a, b, a / b);
        a = median(appCpuOn.stream().mapToDouble(Double::doubleValue).toArray());
        b = median(appCpuOff.stream().mapToDouble(Double::doubleValue).toArray());
        System.out.printf("| vault CPU per read, JIT compiler threads left out | %.3f ms | %.3f ms | %.2f |%n", a, b, a / b);
        System.out.printf("the rules' own threads (%s): %.2f %% of the vault's CPU without the JIT (median of %d rounds; max %.2f %%)%n",
                String.join(", ", RULE_THREADS), median(ruleShare.stream().mapToDouble(Double::doubleValue).toArray()), rounds,
                ruleShare.stream().mapToDouble(Double::doubleValue).max().orElse(0));
    }

    static final String NO_RATE_LIMIT = "-Dvault.security.rate-limit.per-second=0";

    /** The detection's threads, as /proc names them (15 characters at most); H2 runs their queries on them. */
    static final List<String> RULE_THREADS = List.of("detector", "audit-trail-wat", "alert-outbox");

    record ThreadCpu(String name, long ticks) {
    }

    /** CPU ticks of a process between two readings: in all, in the rules' threads, in the JIT's, by thread name. */
    record CpuUse(long total, long rules, long jit, Map<String, Long> byGroup) {
        static CpuUse between(Map<Long, ThreadCpu> before, Map<Long, ThreadCpu> after) {
            long total = 0;
            long rules = 0;
            long jit = 0;
            Map<String, Long> byGroup = new java.util.TreeMap<>(); // thread names without their numbers
            for (Map.Entry<Long, ThreadCpu> t : after.entrySet()) {
                ThreadCpu was = before.get(t.getKey());
                long ticks = t.getValue().ticks() - (was == null ? 0 : was.ticks());
                String name = t.getValue().name();
                total += ticks;
                byGroup.merge(name.replaceAll("[0-9]+", "#"), ticks, Long::sum);
                rules += RULE_THREADS.contains(name) ? ticks : 0;
                jit += name.matches("C[12] CompilerThre") ? ticks : 0;
            }
            return new CpuUse(total, rules, jit, byGroup);
        }

        /** The rules' threads' share of the CPU the JIT left, in per cent. */
        double rulesShare() {
            return 100.0 * rules / (total - jit);
        }
    }

    /** Each thread's user and system time (clock ticks) of a process, from /proc (Linux). */
    static Map<Long, ThreadCpu> threadCpu(long pid) throws java.io.IOException {
        Map<Long, ThreadCpu> threads = new java.util.HashMap<>();
        try (var tasks = Files.list(Path.of("/proc/" + pid + "/task"))) {
            for (Path task : (Iterable<Path>) tasks::iterator) {
                String stat;
                try {
                    stat = Files.readString(task.resolve("stat"));
                } catch (java.io.IOException gone) { // the thread ended meanwhile
                    continue;
                }
                String name = stat.substring(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
                String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
                threads.put(Long.parseLong(task.getFileName().toString()), new ThreadCpu(name,
                        Long.parseLong(f[11]) + Long.parseLong(f[12]))); // utime, stime: fields 14 and 15
            }
        }
        return threads;
    }

    private static double median(double[] values) {
        double[] v = values.clone();
        java.util.Arrays.sort(v);
        return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
    }

    /** Reads with 1 and 8 clients on a vault restarted with these JVM options. */
    static StorageLoadBenchmark.Result[] readsAfterRestart(Process running, Path dir, int port, HttpClient http, String base,
                                                           StorageLoadBenchmark.Op read, double seconds, String... jvmOptions)
            throws Exception {
        restart(running, dir, port, http, base, read, seconds, jvmOptions);
        return new StorageLoadBenchmark.Result[] {StorageLoadBenchmark.measure(read, 1, seconds),
                StorageLoadBenchmark.measure(read, 8, seconds)};
    }

    /** Ingest (1 and 4 clients, seconds) and reads (1 and 8 clients) on a vault restarted with these JVM options. */
    record Durability(double ingest1, double ingest4, StorageLoadBenchmark.Result[] reads) {
    }

    static Durability durabilityRound(Process running, Path dir, int port, HttpClient http, String base, String token,
                                      List<byte[]> bundles, StorageLoadBenchmark.Op read, double seconds, String... jvmOptions)
            throws Exception {
        restart(running, dir, port, http, base, read, seconds, jvmOptions);
        ConcurrentLinkedQueue<String[]> ignored = new ConcurrentLinkedQueue<>();
        double one = ingest(http, base, token, bundles, 1, ignored);
        double four = ingest(http, base, token, bundles, 4, ignored);
        return new Durability(one, four, new StorageLoadBenchmark.Result[] {StorageLoadBenchmark.measure(read, 1, seconds),
                StorageLoadBenchmark.measure(read, 8, seconds)});
    }

    private static Path lastLog;

    private static String lastLogLines() {
        try {
            List<String> lines = lastLog == null ? List.of() : Files.readAllLines(lastLog);
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
        } catch (java.io.IOException e) {
            return "(no log)";
        }
    }

    static Process startVault(Path dir, int port, String... jvmOptions) throws java.io.IOException {
        return startVault(dir, port, List.of(jvmOptions), List.of(), java.util.Map.of());
    }

    /** vault.jar on {@code dir} and {@code port}, with JVM options, further serve options and environment variables. */
    static Process startVault(Path dir, int port, List<String> jvmOptions, List<String> serveOptions,
                              java.util.Map<String, String> env) throws java.io.IOException {
        lastLog = dir.resolve("vault.log");
        List<String> command = new ArrayList<>(List.of("java"));
        command.addAll(jvmOptions);
        command.addAll(List.of("-jar", "vault-api/target/vault.jar", "--data-dir", dir.toString(), "--port", String.valueOf(port)));
        command.addAll(serveOptions);
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(java.lang.ProcessBuilder.Redirect.appendTo(dir.resolve("vault.log").toFile()));
        builder.environment().putAll(env);
        return builder.start();
    }

    static double ingest(HttpClient http, String base, String token, List<byte[]> bundles, int clients,
                         ConcurrentLinkedQueue<String[]> created) throws Exception {
        return drain(bundles.size(), clients, i -> {
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(base + "/fhir"))
                    .header("Authorization", "Bearer " + token).header("Content-Type", "application/fhir+json")
                    .timeout(Duration.ofMinutes(5)).POST(HttpRequest.BodyPublishers.ofByteArray(bundles.get(i))).build(),
                    HttpResponse.BodyHandlers.ofString());
            if (r.statusCode() != 200) {
                throw new IllegalStateException("bundle " + i + ": HTTP " + r.statusCode());
            }
            Matcher m = LOCATION.matcher(r.body());
            while (m.find()) {
                created.add(new String[] {m.group(1), m.group(2)});
            }
        });
    }

    static double barePuts(MinioClient bare, List<byte[]> objects, int threads) throws Exception {
        return drain(objects.size(), threads, i -> bare.putObject(PutObjectArgs.builder().bucket("bare").object("o" + i)
                .stream(new ByteArrayInputStream(objects.get(i)), objects.get(i).length, -1).build()));
    }

    /** One object per envelope the vault stored in its first ingest round, with the same size. */
    static List<byte[]> envelopeSizedObjects(Path bucketDir) throws Exception {
        List<byte[]> objects = new ArrayList<>();
        java.util.Random random = new java.util.Random(7);
        try (Stream<Path> files = Files.walk(bucketDir)) {
            for (Path f : files.filter(Files::isRegularFile).filter(p -> p.toString().contains("/r/")).toList()) {
                byte[] b = new byte[(int) Files.size(f)];
                random.nextBytes(b);
                objects.add(b);
                if (objects.size() == 9404) {
                    break;
                }
            }
        }
        return objects;
    }

    /** A Practitioner whose names are none of the Synthea patients': its id. */
    static String createPractitioner(HttpClient http, String base, String token) throws Exception {
        String body = "{\"resourceType\":\"Practitioner\",\"name\":[{\"family\":\"Benchmark\",\"given\":[\"Load\"]}]}";
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(base + "/fhir/Practitioner"))
                .header("Authorization", "Bearer " + token).header("Content-Type", "application/fhir+json")
                .timeout(Duration.ofSeconds(30)).POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() != 201) {
            throw new IllegalStateException("Practitioner not created: HTTP " + r.statusCode());
        }
        return r.headers().firstValue("Location").orElseThrow().replaceAll(".*/Practitioner/([^/]+)/_history/.*", "$1");
    }

    static void send(HttpClient http, String url, String token, int expected) throws Exception {
        HttpResponse<byte[]> r = http.send(HttpRequest.newBuilder(URI.create(url)).header("Authorization", "Bearer " + token)
                .timeout(Duration.ofSeconds(30)).GET().build(), HttpResponse.BodyHandlers.ofByteArray());
        if (r.statusCode() != expected) {
            throw new IllegalStateException(url + ": HTTP " + r.statusCode());
        }
    }

    static SSLContext trusting(Path caPem, long t0) throws Exception {
        while (!Files.exists(caPem)) {
            if (System.nanoTime() - t0 > 60e9) {
                throw new IllegalStateException("the vault did not create " + caPem);
            }
            Thread.sleep(50);
        }
        Thread.sleep(200); // written once, by the vault's first start
        return DevPki.clientContext(caPem);
    }

    static void waitReady(HttpClient http, String base) throws Exception {
        long deadline = System.nanoTime() + 120_000_000_000L;
        while (System.nanoTime() < deadline) {
            try {
                HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(base + "/actuator/health/readiness"))
                        .timeout(Duration.ofSeconds(2)).build(), HttpResponse.BodyHandlers.ofString());
                if (r.statusCode() == 200) {
                    return;
                }
            } catch (java.io.IOException e) {
                // not listening yet
            }
            Thread.sleep(50);
        }
        throw new IllegalStateException("the vault was not ready within 120 s; the end of its log:\n" + lastLogLines());
    }

    static String token(Path dir) throws Exception {
        return token(dir, "practitioner");
    }

    static String token(Path dir, String role, String... options) throws Exception {
        List<String> command = new ArrayList<>(List.of("java", "-jar", "vault-api/target/vault.jar", "token", "--data-dir",
                dir.toString(), "--role", role, "--subject", "load-benchmark", "--ttl", "1h"));
        command.addAll(List.of(options));
        Process p = new ProcessBuilder(command).start();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        p.getInputStream().transferTo(out);
        if (p.waitFor() != 0) {
            throw new IllegalStateException("vault token failed");
        }
        return out.toString(StandardCharsets.US_ASCII).strip();
    }

    static int count(String text, String needle) {
        int n = 0;
        for (int i = text.indexOf(needle); i >= 0; i = text.indexOf(needle, i + 1)) {
            n++;
        }
        return n;
    }

    static long rssKiB(long pid) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
                if (line.startsWith("VmRSS:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", ""));
                }
            }
        } catch (Exception e) {
            // not Linux
        }
        return -1;
    }

}
