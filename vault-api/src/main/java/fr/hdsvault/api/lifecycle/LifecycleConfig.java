package fr.hdsvault.api.lifecycle;

import fr.hdsvault.api.VaultApplication;
import fr.hdsvault.api.audit.AuditEvents;
import fr.hdsvault.api.audit.AuditTrail;
import fr.hdsvault.api.backup.BackupConfig;
import fr.hdsvault.api.home.VaultIdentity;
import fr.hdsvault.api.storage.VaultStores;
import fr.hdsvault.crypto.Keyring;
import fr.hdsvault.crypto.sign.Ed25519;
import java.time.Clock;
import org.springframework.beans.factory.annotation.Qualifier;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.transaction.PlatformTransactionManager;
import org.springframework.transaction.support.TransactionTemplate;

/** The data's end of life: erasure of one patient, destruction of the whole vault. */
@Configuration
public class LifecycleConfig {

    @Bean
    PatientErasure patientErasure(JdbcTemplate jdbc, PlatformTransactionManager transactions, Keyring keyring,
                                  BackupConfig.BackupStorage backups, @Qualifier("objectBucket") VaultStores.StoreBucket records) {
        return new PatientErasure(jdbc, new TransactionTemplate(transactions), keyring, backups.target(), records.store(),
                records.bucket(), VaultApplication.TENANT, Clock.systemUTC());
    }

    @Bean
    VaultDestruction vaultDestruction(JdbcTemplate jdbc, PatientErasure erasure, Keyring keyring, AuditTrail trail, AuditEvents events,
                                      Ed25519.SigningKey auditSigningKey, VaultIdentity identity) {
        return new VaultDestruction(jdbc, erasure, keyring, trail, events, auditSigningKey,
                identity.vaultId(), VaultApplication.TENANT, Clock.systemUTC());
    }
}
