package fr.hdsvault.api.index;

import static org.assertj.core.api.Assertions.assertThat;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.jdbc.datasource.SingleConnectionDataSource;

/**
 * {@link IndexDurability#sync()} on H2: every transaction committed before the call is in what a
 * power cut leaves when it returns, even when H2's background writer has already taken those
 * changes and is still writing them (a slow disk under its asynchronous save thread). That race
 * lost an acknowledged Patient in CI once, when {@code CHECKPOINT SYNC} found nothing left to
 * store and forced the file before the background write had reached it.
 */
class IndexDurabilityTest {

    static final int ROUNDS = 10;

    @TempDir
    Path dir;

    @AfterEach
    void fastDisk() {
        PowerCutFileSystem.slowBackgroundSaves(0);
    }

    @Test
    void everyTransactionCommittedBeforeSyncSurvivesAPowerCutWhileABackgroundStoreIsInFlight() throws Exception {
        PowerCutFileSystem.register();
        PowerCutFileSystem.slowBackgroundSaves(100);
        HikariConfig config = new HikariConfig();
        // the vault's own URL form, with H2's defaults (WRITE_DELAY 500 ms: a background writer)
        config.setJdbcUrl("jdbc:h2:" + PowerCutFileSystem.SCHEME + ":" + dir.resolve("db"));
        config.setUsername("sa");
        config.setMinimumIdle(2);
        try (HikariDataSource db = new HikariDataSource(config)) {
            JdbcTemplate jdbc = new JdbcTemplate(db);
            jdbc.execute("create table acknowledged (n int primary key, pad varbinary(2048))");
            IndexDurability durability = IndexDurability.of(db);
            durability.sync();
            for (int n = 0; n < ROUNDS; n++) {
                Thread.sleep(600); // idle past WRITE_DELAY: H2's background writer is due
                jdbc.update("insert into acknowledged values (?, ?)", n, new byte[2048]);
                Thread.sleep(250); // the committed row waits for its sync, as a write waits for its audit event
                durability.sync();
                PowerCutFileSystem.snapshotImage(dir.resolve("db.mv.db"), dir.resolve("cut-" + n + ".mv.db"));
            }
        }
        for (int n = 0; n < ROUNDS; n++) {
            String url = "jdbc:h2:file:" + dir.resolve("cut-" + n) + ";ACCESS_MODE_DATA=r";
            try (SingleConnectionDataSource cut = new SingleConnectionDataSource(url, "sa", "", true)) {
                List<Integer> rows = new JdbcTemplate(cut).queryForList("select n from acknowledged order by n", Integer.class);
                assertThat(rows).as("rows on disk after a power cut following the sync of row %d", n)
                        .containsSequence(IntStream.rangeClosed(0, n).boxed().toList());
            }
        }
    }
}
