package fr.hdsvault.api.index;

import javax.sql.DataSource;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The same contract on the local PostgreSQL (127.0.0.1:5432, database test), in a fresh
 * schema. Skipped, saying why, when no server answers; under CI=true a missing server fails.
 */
@ExtendWith(PostgresSchemas.class)
class PostgresIndexTest extends IndexContract {

    @Override
    DataSource dataSource() {
        return IndexDatabases.postgres();
    }
}
