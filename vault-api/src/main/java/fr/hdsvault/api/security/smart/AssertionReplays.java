package fr.hdsvault.api.security.smart;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import org.springframework.dao.DuplicateKeyException;
import org.springframework.jdbc.core.JdbcTemplate;

/**
 * The client assertions already used, in the index database that every node shares, so that
 * an assertion ({@code jti}) is accepted once by the whole vault, not once per node. A row is
 * kept until its assertion has expired (and the clock skew with it), then pruned.
 */
public final class AssertionReplays {

    private static final Duration PRUNE_EVERY = Duration.ofMinutes(5);

    private final JdbcTemplate jdbc;
    private final Clock clock;
    private volatile Instant prunedAt = Instant.EPOCH;

    public AssertionReplays(JdbcTemplate jdbc, Clock clock) {
        this.jdbc = jdbc;
        this.clock = clock;
    }

    /** True the first time a client's {@code jti} is seen (by any node), false ever after, until {@code keepUntil}. */
    public boolean firstUse(String clientId, String jti, Instant keepUntil) {
        pruneIfDue();
        try {
            jdbc.update("insert into client_assertion_use (client_id, jti, expires_at) values (?, ?, ?)", clientId, jti,
                    OffsetDateTime.ofInstant(keepUntil, ZoneOffset.UTC));
            return true;
        } catch (DuplicateKeyException replayed) {
            return false;
        }
    }

    private void pruneIfDue() {
        Instant now = clock.instant();
        if (Duration.between(prunedAt, now).compareTo(PRUNE_EVERY) >= 0) {
            prunedAt = now;
            jdbc.update("delete from client_assertion_use where expires_at < ?", OffsetDateTime.ofInstant(now, ZoneOffset.UTC));
        }
    }
}
