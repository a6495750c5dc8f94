package fr.hdsvault.storage;

import static org.assertj.core.api.Assertions.assertThat;

import fr.hdsvault.storage.embedded.EmbeddedS3Server;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A server closes idle connections after a while; a client that reuses one it had pooled meets
 * "unexpected end of stream". Here a relay in front of the embedded server closes every
 * connection idle for 300 ms, as a strict server or load balancer would.
 */
class StaleConnectionTest {

    static final String BUCKET = "stale";

    @TempDir
    Path dir;

    /** Relays TCP to the server, and closes a connection (both ends) once it has been idle for {@code idleMillis}. */
    static final class ClosingRelay implements AutoCloseable {
        final ServerSocket listener;
        final List<Socket> sockets = new CopyOnWriteArrayList<>();
        volatile boolean open = true;

        ClosingRelay(int upstreamPort, long idleMillis) throws IOException {
            listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
            Thread acceptor = new Thread(() -> {
                while (open) {
                    try {
                        Socket client = listener.accept();
                        Socket server = new Socket(InetAddress.getLoopbackAddress(), upstreamPort);
                        sockets.add(client);
                        sockets.add(server);
                        AtomicLong last = new AtomicLong(System.nanoTime());
                        pump(client, server, last);
                        pump(server, client, last);
                        Thread watchdog = new Thread(() -> {
                            while (!client.isClosed()) {
                                if (System.nanoTime() - last.get() > idleMillis * 1_000_000) {
                                    closeQuietly(client);
                                    closeQuietly(server);
                                }
                                sleep(20);
                            }
                        });
                        watchdog.setDaemon(true);
                        watchdog.start();
                    } catch (IOException e) {
                        return;
                    }
                }
            });
            acceptor.setDaemon(true);
            acceptor.start();
        }

        int port() {
            return listener.getLocalPort();
        }

        private static void pump(Socket from, Socket to, AtomicLong last) {
            Thread t = new Thread(() -> {
                byte[] buffer = new byte[16384];
                try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
                    int n;
                    while ((n = in.read(buffer)) >= 0) {
                        out.write(buffer, 0, n);
                        out.flush();
                        last.set(System.nanoTime());
                    }
                } catch (IOException closed) {
                    // the watchdog or the other side closed it
                } finally {
                    closeQuietly(from);
                    closeQuietly(to);
                }
            });
            t.setDaemon(true);
            t.start();
        }

        @Override
        public void close() throws IOException {
            open = false;
            listener.close();
            sockets.forEach(ClosingRelay::closeQuietly);
        }

        static void closeQuietly(Socket s) {
            try {
                s.close();
            } catch (IOException ignored) {
                // closing
            }
        }

        static void sleep(long millis) {
            try {
                Thread.sleep(millis);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    static S3StoreConfig through(ClosingRelay relay, EmbeddedS3Server server, Duration idleEviction) {
        return S3StoreConfig.declared("http://127.0.0.1:" + relay.port(), server.credentials(), "fr-par")
                .withRetries(3, Duration.ofMillis(50)).withIdleEviction(idleEviction);
    }

    @Test
    void aConnectionTheServerClosedIsReplacedOnceQuietlyAndTheReadSucceeds() throws Exception {
        try (EmbeddedS3Server server = EmbeddedS3Server.start(dir);
             ClosingRelay relay = new ClosingRelay(server.port(), 300);
             // The pool keeps idle connections far longer than the relay: every reuse after a pause meets a closed one.
             S3ObjectStore store = new S3ObjectStore(through(relay, server, Duration.ofMinutes(5)))) {
            store.createBucket(BUCKET, BucketOptions.plain());
            store.put(BUCKET, "k", "envelope".getBytes(), Map.of());
            for (int round = 0; round < 3; round++) {
                Thread.sleep(600);
                assertThat(new String(store.getBytes(BUCKET, "k"))).isEqualTo("envelope");
                assertThat(store.exists(BUCKET, "k")).isTrue();
            }
            assertThat(store.staleRetries()).as("each pause left a closed connection in the pool").isPositive().isLessThanOrEqualTo(6);
        }
    }

    @Test
    void idleConnectionsAreEvictedBeforeTheServerClosesThem() throws Exception {
        try (EmbeddedS3Server server = EmbeddedS3Server.start(dir);
             ClosingRelay relay = new ClosingRelay(server.port(), 1_000);
             S3ObjectStore store = new S3ObjectStore(through(relay, server, Duration.ofMillis(200)))) {
            store.createBucket(BUCKET, BucketOptions.plain());
            store.put(BUCKET, "k", "envelope".getBytes(), Map.of());
            for (int round = 0; round < 3; round++) {
                Thread.sleep(1_500);
                assertThat(new String(store.getBytes(BUCKET, "k"))).isEqualTo("envelope");
            }
            assertThat(store.staleRetries()).as("no stale connection was ever used").isZero();
        }
    }
}
