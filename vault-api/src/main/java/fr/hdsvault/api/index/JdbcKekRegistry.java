package fr.hdsvault.api.index;

import fr.hdsvault.crypto.KekRecord;
import fr.hdsvault.crypto.KekRegistry;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Optional;
import org.springframework.dao.DuplicateKeyException;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.jdbc.core.RowMapper;

/** The KEK registry in the index database: wrapped keys only, never a key in clear. */
public final class JdbcKekRegistry implements KekRegistry {

    private static final String COLUMNS = "kek_id, version, root_key_version, wrapped_key, created_at, destroyed_at";
    private static final RowMapper<KekRecord> ROW = JdbcKekRegistry::map;
    private final JdbcTemplate jdbc;

    public JdbcKekRegistry(JdbcTemplate jdbc) {
        this.jdbc = jdbc;
    }

    private static KekRecord map(ResultSet rs, int row) throws SQLException {
        OffsetDateTime destroyed = rs.getObject("destroyed_at", OffsetDateTime.class);
        return new KekRecord(rs.getString("kek_id"), rs.getInt("version"), rs.getInt("root_key_version"),
                rs.getBytes("wrapped_key"), rs.getObject("created_at", OffsetDateTime.class).toInstant(),
                destroyed == null ? null : destroyed.toInstant());
    }

    static OffsetDateTime utc(Instant instant) {
        return instant == null ? null : OffsetDateTime.ofInstant(instant, ZoneOffset.UTC);
    }

    @Override
    public Optional<KekRecord> find(String kekId, int version) {
        return jdbc.query("select " + COLUMNS + " from kek_registry where kek_id = ? and version = ?", ROW, kekId, version)
                .stream().findFirst();
    }

    @Override
    public Optional<KekRecord> latest(String kekId) {
        return jdbc.query("select " + COLUMNS + " from kek_registry where kek_id = ? order by version desc limit 1", ROW, kekId)
                .stream().findFirst();
    }

    @Override
    public boolean insert(KekRecord r) {
        try {
            jdbc.update("insert into kek_registry (" + COLUMNS + ") values (?, ?, ?, ?, ?, ?)", r.kekId(), r.version(),
                    r.rootKeyVersion(), r.wrappedKey(), utc(r.createdAt()), utc(r.destroyedAt()));
            if (r.version() > 1) { // a rotation: other nodes seal under the new version once they drop what they hold
                changed(r.kekId(), "rotated");
            }
            return true;
        } catch (DuplicateKeyException e) {
            return false;
        }
    }

    @Override
    public boolean replace(KekRecord r, int expectedRootKeyVersion) {
        byte[] wrapped = r.destroyed() ? null : r.wrappedKey();
        boolean replaced = jdbc.update("update kek_registry set root_key_version = ?, wrapped_key = ?, destroyed_at = ? "
                        + "where kek_id = ? and version = ? and root_key_version = ? and destroyed_at is null",
                r.rootKeyVersion(), wrapped, utc(r.destroyedAt()), r.kekId(), r.version(), expectedRootKeyVersion) == 1;
        if (replaced && r.destroyed()) { // crypto-shredding: other nodes must drop the key they hold
            changed(r.kekId(), "destroyed");
        }
        return replaced;
    }

    /** Records a change that every node's {@link fr.hdsvault.api.keys.KeyChanges} watch acts on. */
    private void changed(String kekId, String kind) {
        jdbc.update("insert into key_change (kek_id, kind, changed_at) values (?, ?, ?)", kekId, kind, utc(Instant.now()));
    }

    @Override
    public List<KekRecord> listAfter(String afterKekId, int afterVersion, int limit) {
        return jdbc.query("select " + COLUMNS + " from kek_registry where kek_id > ? or (kek_id = ? and version > ?) "
                + "order by kek_id, version limit ?", ROW, afterKekId, afterKekId, afterVersion, limit);
    }

    @Override
    public List<KekRecord> versions(String kekId) {
        return jdbc.query("select " + COLUMNS + " from kek_registry where kek_id = ? order by version", ROW, kekId);
    }
}
