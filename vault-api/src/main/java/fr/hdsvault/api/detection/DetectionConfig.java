package fr.hdsvault.api.detection;

import fr.hdsvault.api.audit.AuditEvents;
import fr.hdsvault.api.audit.AuditLog;
import fr.hdsvault.api.audit.AuditTrail;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.jdbc.core.JdbcTemplate;

/** The detection rules over the audit trail and the sinks their alerts go to (docs/detection.md); on unless {@code vault.detection.enabled=false}. */
@Configuration
@EnableConfigurationProperties(DetectionProperties.class)
@ConditionalOnProperty(name = "vault.detection.enabled", havingValue = "true", matchIfMissing = true)
public class DetectionConfig {

    @Bean(destroyMethod = "close")
    AlertOutbox alertOutbox(JdbcTemplate jdbc, AuditLog auditLog, AuditTrail trail, DetectionProperties properties) {
        return new AlertOutbox(jdbc, auditLog, trail, sinks(properties), properties.deliverEvery(), Clock.systemUTC());
    }

    @Bean(destroyMethod = "close")
    Detector detector(AuditTrail trail, AuditLog auditLog, AuditEvents events, JdbcTemplate jdbc, DetectionProperties properties,
                      AlertOutbox outbox, fr.hdsvault.api.resources.VaultRepository repository,
                      fr.hdsvault.api.audit.AuditVerifier verifier) {
        return new Detector(trail, auditLog, events, jdbc, properties,
                new RecordRules(jdbc, repository, fr.hdsvault.api.VaultApplication.TENANT, properties), verifier, outbox::wake,
                Clock.systemUTC());
    }

    static List<AlertSink> sinks(DetectionProperties properties) {
        List<AlertSink> sinks = new ArrayList<>();
        var syslog = properties.syslog();
        if (syslog.enabled()) {
            sinks.add(new SyslogSink(syslog.host(), syslog.port(), SinkTls.context(syslog.trustedCa()), localHostName()));
        }
        var webhook = properties.webhook();
        if (webhook.enabled()) {
            byte[] secret = null;
            if (webhook.secretFile() != null) {
                try {
                    secret = Files.readString(webhook.secretFile()).strip().getBytes(java.nio.charset.StandardCharsets.UTF_8);
                } catch (IOException e) {
                    throw new UncheckedIOException("cannot read vault.detection.webhook.secret-file", e);
                }
            }
            sinks.add(new WebhookSink(webhook.url(), SinkTls.context(webhook.trustedCa()), secret));
        }
        return sinks;
    }

    private static String localHostName() {
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (IOException e) {
            return null; // the syslog header's nil value
        }
    }
}
