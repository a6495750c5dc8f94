package fr.hdsvault.api.evidence;

import static org.assertj.core.api.Assertions.assertThat;

import fr.hdsvault.api.storage.StoresProperties;
import fr.hdsvault.api.storage.VaultStores;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.boot.context.properties.source.MapConfigurationPropertySource;

/** The residency check asks each store again, and fails on a bucket outside the allowed regions, naming it and its region. */
class ResidencyEvidenceTest {

    @TempDir
    Path dir;

    @Test
    void aStoreOutsideTheAllowedRegionsFailsTheResidencyCheck() {
        StoresProperties settings = new Binder(new MapConfigurationPropertySource(Map.of("vault.stores.backup.region", "us-east-1")))
                .bindOrCreate("vault.stores", StoresProperties.class);
        EvidenceProperties defaults = new Binder(new MapConfigurationPropertySource(Map.of()))
                .bindOrCreate("vault.evidence", EvidenceProperties.class);
        try (VaultStores stores = new VaultStores(settings, Map.of(), dir.resolve("s3"), dir.resolve("backup-s3"))) {
            EvidenceCheck residency = new VaultEvidence(stores, null, null, null, null, null, null, null, null, null, defaults,
                    Clock.systemUTC()).residency();
            assertThat(residency.passed()).isFalse();
            assertThat(residency.result()).contains("primary bucket hds-vault-objects: region fr-par")
                    .contains("bucket hds-vault-backup is in region 'us-east-1'");

            EvidenceCheck resident = new VaultEvidence(new VaultStores(new Binder(new MapConfigurationPropertySource(Map.of()))
                    .bindOrCreate("vault.stores", StoresProperties.class), Map.of(), dir.resolve("s3"), dir.resolve("backup-s3")),
                    null, null, null, null, null, null, null, null, null, defaults, Clock.systemUTC()).residency();
            assertThat(resident.passed()).as(resident.result()).isTrue();
        }
    }
}
