package fr.hdsvault.api.detection;

import fr.hdsvault.api.audit.AuditEvents;
import fr.hdsvault.api.audit.AuditLog;
import fr.hdsvault.api.audit.AuditTrail;
import java.time.Clock;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.jdbc.core.JdbcTemplate;

/** The detection rules over the audit trail (docs/detection.md); on unless {@code vault.detection.enabled=false}. */
@Configuration
@EnableConfigurationProperties(DetectionProperties.class)
public class DetectionConfig {

    @Bean(destroyMethod = "close")
    @ConditionalOnProperty(name = "vault.detection.enabled", havingValue = "true", matchIfMissing = true)
    Detector detector(AuditTrail trail, AuditLog auditLog, AuditEvents events, JdbcTemplate jdbc, DetectionProperties properties) {
        return new Detector(trail, auditLog, events, jdbc, properties, Clock.systemUTC());
    }
}
