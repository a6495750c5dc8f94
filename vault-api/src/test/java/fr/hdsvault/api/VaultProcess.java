package fr.hdsvault.api;

import static org.assertj.core.api.Assertions.assertThat;

import fr.hdsvault.crypto.pki.DevPki;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A vault in its own JVM, so that a test can kill it (SIGKILL: no shutdown hook, no flush) and
 * start it again on the same data directory. Its output goes to {@code <home>/../<name>.log}.
 */
final class VaultProcess implements AutoCloseable {

    final Path home;
    final String base;
    final HttpClient client;
    private final Process process;
    private final Path log;

    private VaultProcess(Path home, int port, Path ca, Process process, Path log) throws Exception {
        this.home = home;
        this.base = "https://localhost:" + port;
        this.process = process;
        this.log = log;
        this.client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5))
                .sslContext(ca != null ? VaultHttps.trusting(ca) : awaitCa(home.resolve("tls").resolve(DevPki.CA_CERT))).build();
        awaitReady();
    }

    /**
     * Starts {@code mainClass} (VaultMain, or a test main that prepares something first) with
     * {@code serve --data-dir home} on a free port, and waits until it is ready.
     */
    static VaultProcess start(Path home, Class<?> mainClass, List<String> jvmOptions, String... serveOptions) throws Exception {
        return start(home, mainClass, jvmOptions, java.util.Map.of(), serveOptions);
    }

    /** The same, with environment variables for the vault (secrets: PINs, S3 keys). */
    static VaultProcess start(Path home, Class<?> mainClass, List<String> jvmOptions, java.util.Map<String, String> env,
                              String... serveOptions) throws Exception {
        return startOn(home, freePort(), null, mainClass, jvmOptions, env, serveOptions);
    }

    /**
     * The same on a given port (a node restarted behind a load balancer), trusting {@code ca}
     * (null: the local CA the vault creates in its directory).
     */
    static VaultProcess startOn(Path home, int port, Path ca, Class<?> mainClass, List<String> jvmOptions,
                                java.util.Map<String, String> env, String... serveOptions) throws Exception {
        Path log = home.resolveSibling(home.getFileName() + ".log");
        Process process = launch(home, port, mainClass, jvmOptions, env, log, serveOptions);
        try {
            return new VaultProcess(home, port, ca, process, log);
        } catch (Throwable e) {
            process.destroyForcibly();
            throw e;
        }
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    private static Process launch(Path home, int port, Class<?> mainClass, List<String> jvmOptions, java.util.Map<String, String> env,
                                  Path log, String... serveOptions) throws IOException {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        command.addAll(jvmOptions);
        command.addAll(List.of("-cp", System.getProperty("surefire.test.class.path", System.getProperty("java.class.path")),
                mainClass.getName(), "serve", "--data-dir", home.toString(), "--port", Integer.toString(port), "--bind", "127.0.0.1"));
        command.addAll(List.of(serveOptions));
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
        builder.environment().put("VAULT_INDEX_USER", "sa"); // for an explicit H2 --index-url
        builder.environment().putAll(env);
        return builder.start();
    }

    /** Starts a vault that must refuse to start; returns what it wrote before it exited (non-zero). */
    static String startRefused(Path home, List<String> jvmOptions, java.util.Map<String, String> env, String... serveOptions)
            throws Exception {
        Path log = home.resolveSibling(home.getFileName() + ".log");
        Process process = launch(home, 0, VaultMain.class, jvmOptions, env, log, serveOptions);
        assertThat(process.waitFor(120, TimeUnit.SECONDS)).as("the vault exited").isTrue();
        String output = Files.readString(log);
        assertThat(process.exitValue()).as("exit status of a refused start: %s", output).isNotZero();
        return output;
    }

    /** SIGKILL: the process gets no chance to flush, close or release anything. */
    void kill() throws InterruptedException {
        process.destroyForcibly();
        assertThat(process.waitFor(30, TimeUnit.SECONDS)).as("the killed vault exited").isTrue();
    }

    boolean alive() {
        return process.isAlive();
    }

    HttpResponse<String> send(String method, String path, String token, String body) throws Exception {
        return client.send(VaultHttps.request(base + path, method, token, body), HttpResponse.BodyHandlers.ofString());
    }

    /** The last lines the vault wrote, for failure messages. */
    String tail() {
        try {
            List<String> lines = Files.readAllLines(log);
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 30), lines.size()));
        } catch (IOException e) {
            return "(no log: " + e.getMessage() + ")";
        }
    }

    private javax.net.ssl.SSLContext awaitCa(Path ca) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (!Files.exists(ca)) {
            assertThat(process.isAlive()).as("the vault process exited: %s", tail()).isTrue();
            assertThat(System.nanoTime()).as("the vault created no CA: %s", tail()).isLessThan(deadline);
            Thread.sleep(100);
        }
        Thread.sleep(200); // written once, on a first start
        return VaultHttps.trusting(ca);
    }

    private void awaitReady() throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
        while (true) {
            assertThat(process.isAlive()).as("the vault process exited: %s", tail()).isTrue();
            try {
                HttpResponse<String> r = client.send(HttpRequest.newBuilder(URI.create(base + "/actuator/health/readiness"))
                        .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString());
                if (r.statusCode() == 200) {
                    return;
                }
            } catch (IOException notYet) {
                // not listening yet
            }
            assertThat(System.nanoTime()).as("the vault did not become ready: %s", tail()).isLessThan(deadline);
            Thread.sleep(200);
        }
    }

    /** SIGTERM, without waiting: what an orchestrator sends to stop a node. */
    void terminate() {
        process.destroy();
    }

    /** Waits for the process to end; true when it did within the time. */
    boolean awaitExit(Duration within) throws InterruptedException {
        return process.waitFor(within.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** A graceful stop (SIGTERM): shutdown hooks run. */
    @Override
    public void close() throws InterruptedException {
        process.destroy();
        if (!process.waitFor(60, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            process.waitFor(30, TimeUnit.SECONDS);
        }
    }
}
