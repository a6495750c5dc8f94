package fr.hdsvault.backup;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import javax.sql.DataSource;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The lock that keeps backup operations to one at a time across vault instances, each instance
 * being its own {@link JdbcLock} on the shared database: on H2 and on the local PostgreSQL.
 */
class JdbcLockTest {

    private static final String LOCK = "backup-target";

    static DataSource database(String kind) throws Exception {
        return TestDatabases.create(kind, TestDatabases.VAULT_LOCK);
    }

    @AfterAll
    static void dropSchemas() throws Exception {
        TestDatabases.dropSchemas();
    }

    @ParameterizedTest
    @ValueSource(strings = {"h2", "postgresql"})
    void oneHolderAtATimeAndAReleasedLockIsFreeAgain(String kind) throws Exception {
        DataSource db = database(kind);
        JdbcLock a = new JdbcLock(db, Duration.ofHours(1));
        JdbcLock b = new JdbcLock(db, Duration.ofHours(1));
        Optional<JdbcLock.Held> held = a.tryAcquire(LOCK, "instance-a");
        assertThat(held).isPresent();
        assertThat(b.tryAcquire(LOCK, "instance-b")).isEmpty();
        assertThat(b.holder(LOCK)).contains("instance-a");
        assertThat(a.tryAcquire(LOCK, "instance-a")).as("not re-entrant: a second run on the same instance waits too").isEmpty();
        assertThat(b.tryAcquire("another-lock", "instance-b")).as("locks by other names are independent").isPresent();

        held.get().close();
        assertThat(b.holder(LOCK)).isEmpty();
        try (JdbcLock.Held taken = b.tryAcquire(LOCK, "instance-b").orElseThrow()) {
            assertThat(a.holder(LOCK)).contains("instance-b");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"h2", "postgresql"})
    void aDeadHoldersLockExpiresAfterItsTimeToLiveAndItsLateReleaseFreesNothing(String kind) throws Exception {
        DataSource db = database(kind);
        Duration ttl = Duration.ofSeconds(1);
        JdbcLock a = new JdbcLock(db, ttl);
        JdbcLock b = new JdbcLock(db, ttl);
        JdbcLock.Held dead = a.tryAcquire(LOCK, "instance-a").orElseThrow();
        dead.abandon(); // frozen or killed: it renews no more

        assertThat(b.tryAcquire(LOCK, "instance-b")).as("before expiry").isEmpty();
        Thread.sleep(ttl.toMillis() + 200);
        JdbcLock.Held taken = b.tryAcquire(LOCK, "instance-b").orElseThrow();
        assertThat(b.holder(LOCK)).contains("instance-b");

        dead.close(); // the first holder wakes up and releases: it must not free the lock it lost
        assertThat(a.holder(LOCK)).contains("instance-b");
        assertThat(a.tryAcquire(LOCK, "instance-a")).isEmpty();
        taken.close();
    }

    /**
     * Times are the database's (no instance's clock is read: nodes whose clocks disagree still
     * agree on who holds the lock), and a holder whose lock was taken while it did not renew it
     * learns so at its next renewal, and its release frees nothing.
     */
    @ParameterizedTest
    @ValueSource(strings = {"h2", "postgresql"})
    void expiryIsJudgedOnTheDatabasesClockAndAHolderThatLostItsLockKnows(String kind) throws Exception {
        DataSource db = database(kind);
        Duration ttl = Duration.ofSeconds(1);
        JdbcLock a = new JdbcLock(db, ttl);
        JdbcLock b = new JdbcLock(db, ttl);
        try (JdbcLock.Held held = a.tryAcquire(LOCK, "instance-a").orElseThrow()) {
            // Another instance takes the row while this holder's heartbeat is late (a long pause).
            try (Connection c = db.getConnection(); Statement s = c.createStatement()) {
                s.executeUpdate("update vault_lock set locked_by = 'instance-b' where name = '" + LOCK + "'");
            }
            long deadline = System.nanoTime() + ttl.toNanos();
            while (!held.lost() && System.nanoTime() < deadline) {
                Thread.sleep(50);
            }
            assertThat(held.lost()).as("the holder's next renewal finds the lock taken").isTrue();
            assertThat(b.holder(LOCK)).contains("instance-b");
        }
        assertThat(b.holder(LOCK)).as("the loser's release frees nothing").contains("instance-b");
    }

    @ParameterizedTest
    @ValueSource(strings = {"h2", "postgresql"})
    void aLiveHoldersHeartbeatKeepsItsLockPastTheTimeToLive(String kind) throws Exception {
        DataSource db = database(kind);
        Duration ttl = Duration.ofSeconds(1);
        JdbcLock a = new JdbcLock(db, ttl);
        JdbcLock b = new JdbcLock(db, ttl);
        try (JdbcLock.Held held = a.tryAcquire(LOCK, "instance-a").orElseThrow()) {
            Thread.sleep(ttl.multipliedBy(3).toMillis());
            assertThat(b.tryAcquire(LOCK, "instance-b")).as("renewed every third of its time to live").isEmpty();
            assertThat(b.holder(LOCK)).contains("instance-a");
        }
        assertThat(b.tryAcquire(LOCK, "instance-b")).isPresent();
    }

    @ParameterizedTest
    @ValueSource(strings = {"h2", "postgresql"})
    void instancesRacingForAFreeLockGetItOnce(String kind) throws Exception {
        DataSource db = database(kind);
        int instances = 8;
        ExecutorService pool = Executors.newFixedThreadPool(instances);
        try {
            CountDownLatch start = new CountDownLatch(1);
            List<Future<Optional<JdbcLock.Held>>> attempts = new ArrayList<>();
            for (int i = 0; i < instances; i++) {
                JdbcLock lock = new JdbcLock(db, Duration.ofHours(1));
                String owner = "instance-" + i;
                Callable<Optional<JdbcLock.Held>> attempt = () -> {
                    start.await();
                    return lock.tryAcquire(LOCK, owner);
                };
                attempts.add(pool.submit(attempt));
            }
            start.countDown();
            List<JdbcLock.Held> winners = new ArrayList<>();
            for (Future<Optional<JdbcLock.Held>> f : attempts) {
                f.get().ifPresent(winners::add);
            }
            assertThat(winners).hasSize(1);
            winners.forEach(JdbcLock.Held::close);
        } finally {
            pool.shutdownNow();
        }
    }
}
