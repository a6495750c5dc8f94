package fr.hdsvault.api.security.smart;

import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.source.ImmutableJWKSet;
import com.nimbusds.jose.jwk.source.JWKSource;
import com.nimbusds.jose.jwk.source.JWKSourceBuilder;
import com.nimbusds.jose.proc.SecurityContext;
import com.nimbusds.jose.util.DefaultResourceRetriever;
import java.net.MalformedURLException;
import java.net.URI;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.text.ParseException;
import java.time.Clock;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import javax.net.ssl.SSLSocketFactory;
import org.springframework.dao.DuplicateKeyException;
import org.springframework.jdbc.core.JdbcTemplate;

/**
 * The registry of backend clients, in the index database (every node reads the same), and the
 * public keys each client signs its assertions with: the JWK set registered with it, or the one
 * its URL publishes (fetched over HTTPS, cached, fetched again for an unknown key id, as
 * Nimbus's JWK source does).
 */
public final class BackendClients {

    private final JdbcTemplate jdbc;
    private final Clock clock;
    private final SSLSocketFactory tls;
    private final Map<String, JWKSource<SecurityContext>> published = new ConcurrentHashMap<>();

    /** @param tls the TLS of JWK set URLs: the JDK's trusted CAs in production ({@code SSLSocketFactory.getDefault()}) */
    public BackendClients(JdbcTemplate jdbc, Clock clock, SSLSocketFactory tls) {
        this.jdbc = jdbc;
        this.clock = clock;
        this.tls = tls;
    }

    /**
     * Registers a client with its public keys (exactly one of {@code jwks} and {@code jwksUrl})
     * and the scopes it may be granted.
     * @throws IllegalArgumentException what is wrong with the registration
     * @throws IllegalStateException    when the id is taken
     */
    public BackendClient register(String id, String jwks, String jwksUrl, String scopes, String by) {
        BackendClient.requireValidId(id);
        String validScopes = BackendClient.requireValidScopes(scopes);
        if ((jwks == null) == (jwksUrl == null)) {
            throw new IllegalArgumentException("give the client's public keys either as a JWK set or as the URL of one");
        }
        if (jwks != null) {
            requireUsablePublicKeys(jwks);
        } else {
            URI url = URI.create(jwksUrl);
            if (!"https".equals(url.getScheme()) || url.getHost() == null) {
                throw new IllegalArgumentException("a JWK set URL must be https://");
            }
        }
        Instant now = clock.instant();
        try {
            jdbc.update("insert into backend_client (client_id, jwks, jwks_url, scopes, registered_at, registered_by) values (?, ?, ?, ?, ?, ?)",
                    id, jwks, jwksUrl, validScopes, OffsetDateTime.ofInstant(now, ZoneOffset.UTC), by);
        } catch (DuplicateKeyException e) {
            throw new IllegalStateException("client " + id + " is already registered");
        }
        return find(id).orElseThrow();
    }

    public Optional<BackendClient> find(String id) {
        return jdbc.query("select * from backend_client where client_id = ?", BackendClients::client, id).stream().findFirst();
    }

    public List<BackendClient> list() {
        return jdbc.query("select * from backend_client order by client_id", BackendClients::client);
    }

    /** Disables a client: its assertions are refused from now on, and tokens it holds expire within minutes. */
    public boolean disable(String id) {
        return jdbc.update("update backend_client set disabled_at = ? where client_id = ? and disabled_at is null",
                OffsetDateTime.ofInstant(clock.instant(), ZoneOffset.UTC), id) == 1;
    }

    /** The keys a client's assertions are verified with. */
    JWKSource<SecurityContext> keys(BackendClient client) {
        if (client.jwks() != null) {
            try {
                return new ImmutableJWKSet<>(JWKSet.parse(client.jwks()));
            } catch (ParseException e) {
                throw new IllegalStateException("the registered keys of client " + client.id() + " are unreadable", e);
            }
        }
        return published.computeIfAbsent(client.jwksUrl(), url -> {
            try {
                DefaultResourceRetriever retriever = new DefaultResourceRetriever(2_000, 2_000, 64 * 1024, true, tls);
                return JWKSourceBuilder.create(URI.create(url).toURL(), retriever).build();
            } catch (MalformedURLException e) {
                throw new IllegalStateException("the JWK set URL of client " + client.id() + " is unusable", e);
            }
        });
    }

    /** Public keys only, strong enough for the algorithms the token endpoint accepts (RS384, ES384). */
    private static void requireUsablePublicKeys(String jwks) {
        JWKSet set;
        try {
            set = JWKSet.parse(jwks);
        } catch (ParseException e) {
            throw new IllegalArgumentException("the client's keys are not a JWK set: " + e.getMessage());
        }
        if (set.getKeys().isEmpty()) {
            throw new IllegalArgumentException("the client's JWK set has no key");
        }
        for (JWK key : set.getKeys()) {
            if (key.isPrivate()) {
                throw new IllegalArgumentException("the client's JWK set holds a private key: register its public keys only");
            }
            boolean usable = key instanceof RSAKey rsa && rsa.size() >= 2048
                    || key instanceof ECKey ec && Curve.P_384.equals(ec.getCurve());
            if (!usable) {
                throw new IllegalArgumentException("key " + key.getKeyID() + " is neither RSA of 2048 bits or more (RS384) nor EC P-384 (ES384)");
            }
        }
    }

    private static BackendClient client(ResultSet rs, int row) throws SQLException {
        return new BackendClient(rs.getString("client_id"), rs.getString("jwks"), rs.getString("jwks_url"), rs.getString("scopes"),
                instant(rs, "registered_at"), rs.getString("registered_by"), instant(rs, "disabled_at"));
    }

    private static Instant instant(ResultSet rs, String column) throws SQLException {
        OffsetDateTime t = rs.getObject(column, OffsetDateTime.class);
        return t == null ? null : t.toInstant();
    }
}
