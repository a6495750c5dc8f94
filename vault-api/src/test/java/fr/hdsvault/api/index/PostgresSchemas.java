package fr.hdsvault.api.index;

import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * For a test class on the local PostgreSQL: skipped, saying why, when no server answers (failed
 * under CI=true, where it must answer); the schemas {@link IndexDatabases#postgres} created are
 * dropped after the class.
 */
public final class PostgresSchemas implements BeforeAllCallback, AfterAllCallback {

    @Override
    public void beforeAll(ExtensionContext context) {
        IndexDatabases.assumePostgres();
    }

    @Override
    public void afterAll(ExtensionContext context) {
        if (IndexDatabases.postgresUnavailable() == null) {
            IndexDatabases.dropPostgresSchemas();
        }
    }
}
