package fr.hdsvault.api.metrics;

import fr.hdsvault.api.audit.AuditTrail;
import fr.hdsvault.api.backup.BackupService;
import fr.hdsvault.api.home.VaultIdentity;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Clock;
import java.util.Arrays;
import java.util.List;
import org.springframework.boot.micrometer.metrics.autoconfigure.MeterRegistryCustomizer;
import org.springframework.boot.web.servlet.FilterRegistrationBean;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * The vault's metrics, served to operators at {@code /actuator/prometheus} (docs/metrics.md):
 * FHIR requests, the audit trail's queue and commits, integrity failures, backups and drills,
 * each tagged with the node that reports it. No label carries anything a request contained.
 */
@Configuration
public class MetricsConfig {

    /** Outside every other filter (the audit filter is at -104): the status counted is the one the client got. */
    static final int FILTER_ORDER = -110;

    @Bean
    MeterRegistryCustomizer<MeterRegistry> nodeTag(VaultIdentity identity) {
        return registry -> registry.config().commonTags("vault_node", identity.nodeId());
    }

    @Bean
    FilterRegistrationBean<FhirRequestMetrics> fhirRequestMetrics(MeterRegistry registry) {
        FilterRegistrationBean<FhirRequestMetrics> registration = new FilterRegistrationBean<>(new FhirRequestMetrics(registry));
        registration.addUrlPatterns("/fhir/*");
        registration.setOrder(FILTER_ORDER);
        return registration;
    }

    /** Every kind at 0 from the start: an alert on the counter's increase needs the series before the first failure. */
    @Bean
    List<Counter> integrityFailureCounters(MeterRegistry registry) {
        return Arrays.stream(IntegrityFailures.Kind.values())
                .map(kind -> registry.counter(IntegrityFailures.METRIC, "kind", kind.label())).toList();
    }

    @Bean
    Gauge auditQueueDepth(AuditTrail trail, MeterRegistry registry) {
        return Gauge.builder("vault.audit.queue", trail, AuditTrail::queueDepth)
                .description("audit events waiting for the writer's next group commit").register(registry);
    }

    @Bean
    BackupMetrics backupMetrics(BackupService backups, MeterRegistry registry) {
        return new BackupMetrics(backups, Clock.systemUTC()).register(registry);
    }
}
