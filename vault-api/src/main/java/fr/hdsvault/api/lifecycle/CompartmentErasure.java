package fr.hdsvault.api.lifecycle;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.springframework.jdbc.core.JdbcTemplate;

/**
 * The index rows of one patient compartment, found through its key and removed: every version
 * (and so every object key), the current rows and their blind search tokens. One place for what
 * an erasure removes, whether on the live index ({@link PatientErasure}) or on an index a backup
 * restore has just loaded ({@code VaultRestore}). The compartment's key mapping is kept: the key
 * it names is destroyed, so a write into an erased compartment fails instead of starting it again.
 */
public final class CompartmentErasure {

    /** What was removed: the compartment's key, its versions and the objects they had. */
    public record Removed(String kekId, long versions, List<String> objectKeys) {
    }

    private CompartmentErasure() {
    }

    /** The key of a patient compartment ({@code Patient/id}), if anything was ever stored in it. */
    public static Optional<String> kekOf(JdbcTemplate jdbc, String tenant, String compartment) {
        return jdbc.queryForList("select kek_id from compartment_kek where tenant = ? and compartment = ?", String.class, tenant,
                compartment).stream().findFirst();
    }

    /** Removes the rows of every compartment sealed under {@code kekId}; call inside a transaction. */
    public static Removed removeRows(JdbcTemplate jdbc, String tenant, String kekId) {
        List<String> compartments = jdbc.queryForList("select compartment from compartment_kek where tenant = ? and kek_id = ?",
                String.class, tenant, kekId);
        long versions = 0;
        List<String> objects = new ArrayList<>();
        for (String compartment : compartments) {
            objects.addAll(jdbc.queryForList("select object_key from resource_version where tenant = ? and compartment = ? "
                    + "and object_key is not null", String.class, tenant, compartment));
            jdbc.update("delete from search_token where exists (select 1 from resource_current c where c.tenant = search_token.tenant "
                    + "and c.resource_type = search_token.resource_type and c.resource_id = search_token.resource_id "
                    + "and c.tenant = ? and c.compartment = ?)", tenant, compartment);
            jdbc.update("delete from resource_current where tenant = ? and compartment = ?", tenant, compartment);
            versions += jdbc.update("delete from resource_version where tenant = ? and compartment = ?", tenant, compartment);
        }
        // Search pages kept between requests may list the removed versions: dropped, clients search again.
        jdbc.update("delete from search_result");
        return new Removed(kekId, versions, objects);
    }
}
