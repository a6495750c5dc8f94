package fr.hdsvault.api.home;

import java.sql.Timestamp;
import java.time.Clock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.dao.DuplicateKeyException;
import org.springframework.jdbc.core.JdbcTemplate;

/**
 * The vault's identity, one for every node on an index database: the origin line of its audit
 * checkpoints, the issuer of its tokens, the name in its backups. The first node to start writes
 * its data directory's id into the database; every other node adopts the database's into its
 * own directory, so that the command line (which reads the directory) agrees with the server.
 */
public final class VaultIdentity {

    private static final Logger log = LoggerFactory.getLogger(VaultIdentity.class);

    private final String vaultId;
    private final String nodeId;

    private VaultIdentity(String vaultId, String nodeId) {
        this.vaultId = vaultId;
        this.nodeId = nodeId;
    }

    public static VaultIdentity establish(JdbcTemplate jdbc, VaultHome home, Clock clock) {
        String local = home.vaultId();
        try {
            jdbc.update("insert into vault_identity (singleton, vault_id, created_at) values (1, ?, ?)", local,
                    Timestamp.from(clock.instant()));
        } catch (DuplicateKeyException e) {
            // Written by an earlier start, or by another node: that one is the vault's.
        }
        String shared = jdbc.queryForObject("select vault_id from vault_identity where singleton = 1", String.class);
        if (!shared.equals(local)) {
            home.adoptVaultId(shared);
            log.info("this data directory joins vault {} (its own id {} was never the database's)", shared, local);
        }
        return new VaultIdentity(shared, home.nodeId());
    }

    public String vaultId() {
        return vaultId;
    }

    public String nodeId() {
        return nodeId;
    }

    /** Who records an AuditEvent: the vault, and which of its nodes. */
    public String observer() {
        return "hds-vault " + vaultId + " node " + nodeId;
    }
}
