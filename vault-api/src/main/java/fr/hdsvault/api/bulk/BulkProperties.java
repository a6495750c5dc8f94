package fr.hdsvault.api.bulk;

import java.time.Duration;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;

/**
 * {@code vault.bulk.*}: FHIR Bulk Data export.
 *
 * @param expiry          how long a finished export's files stay downloadable; then its key is
 *                        destroyed and its files deleted
 * @param fileResources   resources per output file at most (a type's output spans several files beyond)
 * @param fileBytes       bytes of NDJSON per output file at most, roughly (a file ends after the resource that passes it)
 * @param retryAfter      the {@code Retry-After} of an export in progress; polls closer together than this answer 429
 * @param lease           how long a node holds a running job without renewing it; a job whose node
 *                        died is resumed by another once this has passed
 * @param maxActivePerClient exports one client may have waiting or running at once (more: 429)
 */
@ConfigurationProperties("vault.bulk")
public record BulkProperties(@DefaultValue("2h") Duration expiry, @DefaultValue("10000") int fileResources,
                             @DefaultValue("67108864") long fileBytes, @DefaultValue("2s") Duration retryAfter,
                             @DefaultValue("30s") Duration lease, @DefaultValue("3") int maxActivePerClient) {
}
