package fr.hdsvault.api.metrics;

import io.micrometer.core.instrument.Metrics;
import java.util.Locale;

/**
 * The count of integrity failures, {@code vault.integrity.failures}, by kind only: no label could
 * say anything about the record, event or key at fault (the log names the opaque object key).
 * Counted where the failure is found, through Micrometer's global registry, to which Spring Boot
 * adds the Prometheus one.
 */
public final class IntegrityFailures {

    public static final String METRIC = "vault.integrity.failures";

    /** What failed its check. */
    public enum Kind {
        /** A stored record version: object missing, digest or envelope wrong; it was not served. */
        RECORD,
        /** The audit trail: `audit verify` found a broken chain, head or checkpoint. */
        AUDIT,
        /** A token issuer key in the database that does not authenticate under the root key. */
        ISSUER_KEY;

        public String label() {
            return name().toLowerCase(Locale.ROOT).replace('_', '-');
        }
    }

    private IntegrityFailures() {
    }

    public static void count(Kind kind) {
        Metrics.counter(METRIC, "kind", kind.label()).increment();
    }
}
