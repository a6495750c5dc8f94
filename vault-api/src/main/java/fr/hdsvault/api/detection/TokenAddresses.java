package fr.hdsvault.api.detection;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import fr.hdsvault.api.audit.AuditEvents;
import fr.hdsvault.api.audit.AuditLog;
import fr.hdsvault.api.security.TokenIssuer;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import org.springframework.dao.DuplicateKeyException;
import org.springframework.jdbc.core.JdbcTemplate;

/**
 * One bearer token used from more network addresses than {@code threshold}: a stolen token
 * replayed elsewhere. Each node writes a (token, address) pair to the shared
 * {@code token_address} table the first time it sees it, as keyed hashes of the token's
 * {@code jti} and of the address, and counts the token's rows, so that the addresses seen by every
 * node of a cluster add up. Rows outlive any token (an hour at most) by an hour, then go.
 */
final class TokenAddresses {

    static final String RULE = "token-addresses";
    private static final Duration KEEP = TokenIssuer.MAX_LIFETIME.plus(Duration.ofHours(1));
    private static final Duration PRUNE_EVERY = Duration.ofMinutes(10);

    private final JdbcTemplate jdbc;
    private final AuditLog auditLog;
    private final int threshold;
    private final Cache<String, Boolean> seen = Caffeine.newBuilder().maximumSize(100_000).expireAfterWrite(KEEP).build();
    private Instant pruned = Instant.EPOCH;

    TokenAddresses(JdbcTemplate jdbc, AuditLog auditLog, int threshold) {
        this.jdbc = jdbc;
        this.auditLog = auditLog;
        this.threshold = threshold;
    }

    EventRules.Finding check(AuditEvents.Entry e, Instant now) {
        String jti = e.tokenId();
        String address = e.address();
        if (threshold <= 0 || jti == null || address == null || seen.asMap().putIfAbsent(jti + " " + address, Boolean.TRUE) != null) {
            return null;
        }
        String token = auditLog.token("jti", jti);
        try {
            jdbc.update("insert into token_address (token_hash, address_hash, first_seen) values (?, ?, ?)", token,
                    auditLog.token("address", address), OffsetDateTime.ofInstant(now, ZoneOffset.UTC));
        } catch (DuplicateKeyException another) { // another node saw the pair first
            return null;
        }
        Long n = jdbc.queryForObject("select count(*) from token_address where token_hash = ?", Long.class, token);
        if (n == null || n <= threshold) {
            return null;
        }
        return new EventRules.Finding(RULE, "One token used from several network addresses", null, "a bearer token used from " + n
                + " network addresses (at most " + threshold + " expected)", TokenIssuer.MAX_LIFETIME);
    }

    /** Deletes the pairs of tokens that have expired, every few minutes. */
    void prune(Instant now) {
        if (threshold > 0 && pruned.plus(PRUNE_EVERY).isBefore(now)) {
            pruned = now;
            jdbc.update("delete from token_address where first_seen < ?", OffsetDateTime.ofInstant(now.minus(KEEP), ZoneOffset.UTC));
        }
    }
}
