package fr.hdsvault.api.evidence;

import fr.hdsvault.api.audit.AuditCheckpoints;
import fr.hdsvault.api.audit.AuditEvents;
import fr.hdsvault.api.audit.AuditTrail;
import fr.hdsvault.api.audit.AuditVerifier;
import fr.hdsvault.api.backup.BackupService;
import fr.hdsvault.api.detection.AlertOutbox;
import fr.hdsvault.api.detection.DetectionProperties;
import fr.hdsvault.api.storage.VaultStores;
import fr.hdsvault.crypto.Keyring;
import java.time.Clock;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.jdbc.core.JdbcTemplate;

/** The evidence report's checks, wired to what they inspect; detection may be off (then its check says so). */
@Configuration
@EnableConfigurationProperties(EvidenceProperties.class)
public class EvidenceConfig {

    @Bean
    VaultEvidence vaultEvidence(VaultStores stores, JdbcTemplate jdbc, Keyring keyring, AuditTrail trail, AuditVerifier verifier,
                                AuditCheckpoints checkpoints, AuditEvents events, BackupService backups,
                                ObjectProvider<DetectionProperties> detection, ObjectProvider<AlertOutbox> outbox,
                                EvidenceProperties settings) {
        return new VaultEvidence(stores, jdbc, keyring, trail, verifier, checkpoints, events, backups, detection.getIfAvailable(),
                outbox.getIfAvailable(), settings, Clock.systemUTC());
    }
}
