package fr.hdsvault.api.security;

import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.JWKSet;
import fr.hdsvault.api.metrics.IntegrityFailures;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.sql.Timestamp;
import java.text.ParseException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import javax.crypto.Mac;
import javax.crypto.SecretKey;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.dao.DataAccessException;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * The token issuers' public keys of every node of a vault, exchanged through the index database
 * (table {@code issuer_key}) so that any node verifies a token another node issued. Private keys
 * never leave their data directory.
 *
 * <p>Someone who can write to the database but has not the root key must not be able to add a
 * key of theirs (and so mint tokens): each row carries an HMAC-SHA256 under a secret sealed by
 * the root key ({@link #MAC_KEY}), over the key id, the node, the public key and an expiry. A
 * node renews its rows every {@link #RENEW_EVERY}; a row not renewed for {@link #VALIDITY}
 * expires (a dead node's keys, a key dropped by a rotation replayed from an old copy of the
 * table), which bounds how long a retired key can be brought back by such a writer.
 */
public final class PublishedIssuerKeys {

    public static final String MAC_KEY = "token-issuers:" + fr.hdsvault.api.VaultApplication.TENANT;
    /** Longer than a token's longest lifetime plus a renewal: a key signs nothing that outlives its row. */
    static final Duration VALIDITY = Duration.ofMinutes(90);
    static final Duration RENEW_EVERY = Duration.ofMinutes(10);
    private static final Logger log = LoggerFactory.getLogger(PublishedIssuerKeys.class);

    private record Published(JWK key, Instant expires) {
    }

    private final JdbcTemplate jdbc;
    private final TransactionTemplate transactions;
    private final SecretKey macKey;
    private final String nodeId;
    private final Clock clock;
    private final Set<String> reportedForgeries = ConcurrentHashMap.newKeySet();
    private Instant renewedAt;
    private List<Published> others = List.of();

    public PublishedIssuerKeys(JdbcTemplate jdbc, TransactionTemplate transactions, SecretKey macKey, String nodeId, Clock clock) {
        this.jdbc = jdbc;
        this.transactions = transactions;
        this.macKey = macKey;
        this.nodeId = nodeId;
        this.clock = clock;
    }

    /**
     * Publishes this node's keys when they changed or are due for renewal, and returns the other
     * nodes' keys that authenticate and have not expired. When the database does not answer, the
     * keys read before stay in use until they expire.
     */
    public synchronized List<JWK> exchange(JWKSet own, boolean changed) {
        Instant now = clock.instant();
        try {
            if (changed || renewedAt == null || !now.isBefore(renewedAt.plus(RENEW_EVERY))) {
                publish(own, now);
                renewedAt = now;
            }
            others = readOthers(now);
        } catch (DataAccessException e) {
            log.warn("the token issuer keys of the other nodes could not be read ({}); those read before stay in use until they expire",
                    e.getClass().getSimpleName());
        }
        List<JWK> valid = new ArrayList<>();
        for (Published p : others) {
            if (p.expires().isAfter(now)) {
                valid.add(p.key());
            }
        }
        return valid;
    }

    private void publish(JWKSet own, Instant now) {
        Instant expires = now.plus(VALIDITY).truncatedTo(ChronoUnit.SECONDS);
        transactions.executeWithoutResult(status -> {
            jdbc.update("delete from issuer_key where node_id = ? or expires_at < ?", nodeId, Timestamp.from(now));
            for (JWK key : own.getKeys()) {
                String json = key.toPublicJWK().toJSONString();
                // A data directory copied with its keys: the same key id, now this node's.
                jdbc.update("delete from issuer_key where key_id = ?", key.getKeyID());
                jdbc.update("insert into issuer_key (key_id, node_id, public_jwk, expires_at, mac) values (?, ?, ?, ?, ?)",
                        key.getKeyID(), nodeId, json, Timestamp.from(expires), mac(key.getKeyID(), nodeId, json, expires));
            }
        });
    }

    private List<Published> readOthers(Instant now) {
        List<Published> found = new ArrayList<>();
        jdbc.query("select key_id, node_id, public_jwk, expires_at, mac from issuer_key where node_id <> ? and expires_at > ?", rs -> {
            String keyId = rs.getString(1);
            String node = rs.getString(2);
            String json = rs.getString(3);
            Instant expires = rs.getTimestamp(4).toInstant();
            String expected = mac(keyId, node, json, expires);
            if (!MessageDigest.isEqual(expected.getBytes(StandardCharsets.US_ASCII), rs.getString(5).getBytes(StandardCharsets.US_ASCII))) {
                reportForgery(keyId, "its authentication code does not match");
                return;
            }
            try {
                JWK key = JWK.parse(json);
                if (key.isPrivate() || !keyId.equals(key.getKeyID())) {
                    reportForgery(keyId, "it is not the public key it names");
                    return;
                }
                found.add(new Published(key, expires));
            } catch (ParseException e) {
                reportForgery(keyId, "it is not a JWK");
            }
        }, nodeId, Timestamp.from(now));
        return List.copyOf(found);
    }

    /** Counted at every reading; logged once per key id: a forged row stays until someone removes it, and must not flood the log. */
    private void reportForgery(String keyId, String why) {
        IntegrityFailures.count(IntegrityFailures.Kind.ISSUER_KEY);
        if (reportedForgeries.add(keyId)) {
            log.error("INTEGRITY: token issuer key {} in the database is refused: {} (written by someone without the root key?); "
                    + "tokens it signed are refused", keyId, why);
        }
    }

    private String mac(String keyId, String node, String json, Instant expires) {
        try {
            Mac hmac = Mac.getInstance("HmacSHA256");
            hmac.init(macKey);
            String message = "hds-vault issuer key v1\n" + keyId + "\n" + node + "\n" + expires.getEpochSecond() + "\n" + json;
            return HexFormat.of().formatHex(hmac.doFinal(message.getBytes(StandardCharsets.UTF_8)));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is unavailable", e);
        }
    }
}
