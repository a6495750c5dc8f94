package fr.hdsvault.api.lifecycle;

import static org.assertj.core.api.Assertions.assertThat;

import fr.hdsvault.api.index.IndexDatabases;
import java.time.OffsetDateTime;
import javax.sql.DataSource;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.springframework.jdbc.core.JdbcTemplate;

/**
 * What an erasure removes, on H2 and on the local PostgreSQL: every row of the erased
 * compartment (all versions, the current rows, their search tokens), the object keys they had,
 * and nothing of another patient's compartment, even for a resource type and a token value both
 * share.
 */
class CompartmentErasureTest {

    @AfterAll
    static void dropSchemas() {
        if (IndexDatabases.postgresUnavailable() == null) {
            IndexDatabases.dropPostgresSchemas();
        }
    }

    @Test
    void anErasureRemovesItsCompartmentAndNothingElseOnH2() {
        erasesOnlyItsCompartment(IndexDatabases.h2());
    }

    @Test
    void anErasureRemovesItsCompartmentAndNothingElseOnPostgresql() {
        String why = IndexDatabases.postgresUnavailable();
        Assumptions.assumeTrue(why == null, () -> why + ": skipped");
        erasesOnlyItsCompartment(IndexDatabases.postgres());
    }

    private static void erasesOnlyItsCompartment(DataSource db) {
        JdbcTemplate jdbc = new JdbcTemplate(db);
        for (String p : new String[] {"a", "b"}) {
            jdbc.update("insert into compartment_kek (tenant, compartment, kek_id) values ('t', ?, ?)", "Patient/" + p, "k-" + p);
            resource(jdbc, "Patient", p, "Patient/" + p, 2);
            resource(jdbc, "Observation", p + "-obs", "Patient/" + p, 3);
        }
        jdbc.update("insert into search_result (id, owner, kind, page_size, created_at, expires_at, matches) values "
                + "('page-1', 'dr', 'search', 20, ?, ?, ?)", OffsetDateTime.now(), OffsetDateTime.now().plusMinutes(5), new byte[] {1});

        assertThat(CompartmentErasure.kekOf(jdbc, "t", "Patient/a")).hasValue("k-a");
        assertThat(CompartmentErasure.kekOf(jdbc, "t", "Patient/nobody")).isEmpty();
        CompartmentErasure.Removed removed = CompartmentErasure.removeRows(jdbc, "t", "k-a");

        assertThat(removed.versions()).isEqualTo(5);
        assertThat(removed.objectKeys()).containsExactlyInAnyOrder("o-Patient-a-1", "o-Patient-a-2", "o-Observation-a-obs-1",
                "o-Observation-a-obs-2", "o-Observation-a-obs-3");
        assertThat(count(jdbc, "resource_version where compartment = 'Patient/a'")).isZero();
        assertThat(count(jdbc, "resource_current where compartment = 'Patient/a'")).isZero();
        assertThat(count(jdbc, "search_token where resource_id in ('a', 'a-obs')")).isZero();
        assertThat(count(jdbc, "search_result")).isZero();
        // the other patient: every row still there, its shared token value too
        assertThat(count(jdbc, "resource_version where compartment = 'Patient/b'")).isEqualTo(5);
        assertThat(count(jdbc, "resource_current where compartment = 'Patient/b'")).isEqualTo(2);
        assertThat(count(jdbc, "search_token where resource_id in ('b', 'b-obs')")).isEqualTo(2);
        // the mapping stays: a write into the erased compartment meets its destroyed key
        assertThat(CompartmentErasure.kekOf(jdbc, "t", "Patient/a")).hasValue("k-a");
        // again: nothing more to remove
        assertThat(CompartmentErasure.removeRows(jdbc, "t", "k-a").versions()).isZero();
    }

    private static void resource(JdbcTemplate jdbc, String type, String id, String compartment, int versions) {
        OffsetDateTime now = OffsetDateTime.now();
        for (int v = 1; v <= versions; v++) {
            jdbc.update("insert into resource_version (tenant, resource_type, resource_id, version_id, object_key, deleted, last_updated, "
                    + "compartment) values ('t', ?, ?, ?, ?, false, ?, ?)", type, id, v, "o-" + type + "-" + id + "-" + v, now, compartment);
        }
        jdbc.update("insert into resource_current (tenant, resource_type, resource_id, version_id, deleted, last_updated, compartment) "
                + "values ('t', ?, ?, ?, false, ?, ?)", type, id, versions, now, compartment);
        jdbc.update("insert into search_token (tenant, resource_type, resource_id, param, token) values ('t', ?, ?, 'code', 'shared')",
                type, id);
    }

    private static long count(JdbcTemplate jdbc, String from) {
        return jdbc.queryForObject("select count(*) from " + from, Long.class);
    }
}
