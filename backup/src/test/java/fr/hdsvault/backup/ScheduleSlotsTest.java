package fr.hdsvault.backup;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import javax.sql.DataSource;
import org.h2.jdbcx.JdbcDataSource;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Every node fires the same cron; one of them runs each slot: the first to claim it, whether
 * the others fire at the same moment or after it has finished. On H2 and on the local PostgreSQL.
 */
class ScheduleSlotsTest {

    private static final Instant SLOT = Instant.parse("2026-12-03T01:00:00Z");

    @AfterAll
    static void dropSchemas() throws Exception {
        TestDatabases.dropSchemas();
    }

    @ParameterizedTest
    @ValueSource(strings = {"h2", "postgresql"})
    void aSlotIsRunByTheFirstNodeToClaimItEvenIfAnotherFiresAfterItFinished(String kind) throws Exception {
        DataSource db = TestDatabases.create(kind, TestDatabases.SCHEDULE_SLOT);
        ScheduleSlots node1 = new ScheduleSlots(db);
        ScheduleSlots node2 = new ScheduleSlots(db);
        assertThat(node1.claim("backup", SLOT, "node1")).isTrue();
        // node1's run is over, the lock is free again: node2's late timer must still not run the slot
        assertThat(node2.claim("backup", SLOT, "node2")).isFalse();
        assertThat(node1.claim("backup", SLOT, "node1")).as("not twice on one node either").isFalse();
        assertThat(node2.claimedBy("backup", SLOT)).contains("node1");

        assertThat(node2.claim("backup", SLOT.plusSeconds(86_400), "node2")).as("the next slot").isTrue();
        assertThat(node2.claim("restore-drill", SLOT, "node2")).as("another job's slot at the same time").isTrue();
        assertThat(node1.claimedBy("backup", SLOT.plusSeconds(1))).isEmpty();
    }

    @ParameterizedTest
    @ValueSource(strings = {"h2", "postgresql"})
    void nodesFiringTogetherRunTheSlotOnce(String kind) throws Exception {
        DataSource db = TestDatabases.create(kind, TestDatabases.SCHEDULE_SLOT);
        int nodes = 8;
        ExecutorService pool = Executors.newFixedThreadPool(nodes);
        try {
            CountDownLatch go = new CountDownLatch(1);
            List<Future<Boolean>> claims = new ArrayList<>();
            for (int i = 0; i < nodes; i++) {
                String node = "node" + i;
                ScheduleSlots slots = new ScheduleSlots(db);
                Callable<Boolean> claim = () -> {
                    go.await();
                    return slots.claim("backup", SLOT, node);
                };
                claims.add(pool.submit(claim));
            }
            go.countDown();
            int winners = 0;
            for (Future<Boolean> claim : claims) {
                winners += claim.get() ? 1 : 0;
            }
            assertThat(winners).isEqualTo(1);
        } finally {
            pool.shutdownNow();
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"h2", "postgresql"})
    void oldClaimsArePrunedAndRecentOnesKept(String kind) throws Exception {
        DataSource db = TestDatabases.create(kind, TestDatabases.SCHEDULE_SLOT);
        ScheduleSlots slots = new ScheduleSlots(db);
        Instant old = SLOT.minus(ScheduleSlots.KEPT).minusSeconds(1);
        Instant recent = SLOT.minus(ScheduleSlots.KEPT).plusSeconds(1);
        assertThat(slots.claim("backup", old, "node1")).isTrue();
        assertThat(slots.claim("backup", recent, "node1")).isTrue();
        assertThat(slots.claim("backup", SLOT, "node1")).isTrue();
        assertThat(slots.claimedBy("backup", old)).isEmpty();
        assertThat(slots.claimedBy("backup", recent)).contains("node1");
    }

    @org.junit.jupiter.api.Test
    void aDatabaseThatDoesNotAnswerIsAFailureNotAClaim() {
        JdbcDataSource missing = new JdbcDataSource();
        missing.setURL("jdbc:h2:mem:nothing-here;IFEXISTS=TRUE");
        assertThatThrownBy(() -> new ScheduleSlots(missing).claim("backup", SLOT, "node1"))
                .isInstanceOf(BackupException.class).hasMessageContaining("cannot be claimed");
    }
}
