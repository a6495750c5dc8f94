package fr.hdsvault.api;

import static org.assertj.core.api.Assertions.assertThat;

import ca.uhn.fhir.context.FhirContext;
import fr.hdsvault.api.index.PowerCutFileSystem;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.hl7.fhir.r4.model.AuditEvent;
import org.hl7.fhir.r4.model.Bundle;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A 201 means the record, its index rows and its AuditEvent survive the vault being killed
 * (SIGKILL) and the machine losing power; a 200 to a read means its AuditEvent does. Three clients
 * create Patients and two read them while the vault runs in its own JVM; it is killed at a random
 * moment, five times; in rounds 1, 3 and 5 the power is cut too: the index file and the audit
 * journal are put back to what had been forced to disk ({@link PowerCutFileSystem}), which is
 * all a disk keeps. After each restart every acknowledged read has its read AuditEvent (reads'
 * events are made durable by the journal, not by forcing the index), every acknowledged Patient
 * reads back and has its create AuditEvent, and the audit trail verifies.
 */
class DurableAcknowledgementTest {

    static final int ROUNDS = 5;
    static final int WRITERS = 3;
    static final int READERS = 2;
    static final Pattern LOCATION = Pattern.compile("/Patient/([^/]+)/_history/1$");

    @TempDir
    Path dir;

    /** The vault's main, with the power-cut file system registered first. */
    static final class PowerCutVault {
        public static void main(String[] args) {
            PowerCutFileSystem.register();
            VaultMain.main(args);
        }
    }

    @Test
    void everyAcknowledgedCreateSurvivesKillsAndPowerCutsWithItsAuditEvent() throws Exception {
        Path home = dir.resolve("vault");
        long seed = System.nanoTime();
        Random random = new Random(seed);
        Set<String> acknowledged = new HashSet<>();
        Round lastRound = new Round(List.of(), List.of());
        String indexUrl = "jdbc:h2:" + PowerCutFileSystem.SCHEME + ":" + home.resolve("index").resolve("vault");
        for (int round = 0; round <= ROUNDS; round++) {
            try (VaultProcess vault = VaultProcess.start(home, PowerCutVault.class, List.of("-Dvault.backup.cron=-",
                    "-Dvault.drill.cron=-"), "--index-url", indexUrl)) {
                TestTokens tokens = TestTokens.ofVault(home);
                String practitioner = tokens.sign("dr-durable", "practitioner", "user/*.cruds", null);
                String auditor = tokens.sign("audit-durable", "auditor", null, null);
                assertSurvived(vault, lastRound.created(), lastRound.read(), practitioner, auditor, "seed " + seed + ", round " + round);
                if (round == ROUNDS) {
                    assertSurvived(vault, List.copyOf(acknowledged), List.of(), practitioner, auditor, "seed " + seed + ", all rounds");
                    break;
                }
                long writeMillis = 300 + random.nextInt(2200);
                lastRound = writeUntilKilled(vault, practitioner, writeMillis);
                acknowledged.addAll(lastRound.created());
                assertThat(lastRound.created()).as("round %d wrote nothing in %d ms: %s", round, writeMillis, vault.tail()).isNotEmpty();
                assertThat(lastRound.read()).as("round %d read nothing in %d ms: %s", round, writeMillis, vault.tail()).isNotEmpty();
            }
            if (round % 2 == 0) {
                PowerCutFileSystem.cutPower(home.resolve("index").resolve("vault.mv.db"));
                PowerCutFileSystem.cutPower(home.resolve("index").resolve("vault.audit-journal"));
            }
        }
        assertThat(acknowledged).hasSizeGreaterThan(ROUNDS);
    }

    /** What a round's clients were answered: the Patients created (201) and those read (200). */
    private record Round(List<String> created, List<String> read) {
    }

    /**
     * Three clients create Patients and two read those created; the vault is killed {@code millis}
     * after the first is acknowledged; returns what it acknowledged.
     */
    private static Round writeUntilKilled(VaultProcess vault, String token, long millis) throws Exception {
        ConcurrentLinkedQueue<String> created = new ConcurrentLinkedQueue<>();
        Set<String> read = java.util.concurrent.ConcurrentHashMap.newKeySet();
        AtomicBoolean killed = new AtomicBoolean();
        List<Thread> writers = new ArrayList<>();
        for (int w = 0; w < WRITERS; w++) {
            int writer = w;
            Thread t = new Thread(() -> {
                for (int n = 0; !killed.get(); n++) {
                    try {
                        HttpResponse<String> r = vault.send("POST", "/fhir/Patient", token,
                                "{\"resourceType\":\"Patient\",\"name\":[{\"family\":\"Durable-" + writer + "-" + n + "\"}]}");
                        if (r.statusCode() == 201) {
                            Matcher m = LOCATION.matcher(r.headers().firstValue("Location").orElse(""));
                            assertThat(m.find()).as(r.headers().map().toString()).isTrue();
                            created.add(m.group(1));
                        }
                    } catch (Exception e) {
                        // the vault was killed under this request: it was never acknowledged
                    }
                }
            });
            t.start();
            writers.add(t);
        }
        for (int r = 0; r < READERS; r++) {
            Random pick = new Random(r);
            Thread t = new Thread(() -> {
                while (!killed.get()) {
                    List<String> known = List.copyOf(created);
                    try {
                        if (known.isEmpty()) {
                            Thread.sleep(5);
                            continue;
                        }
                        String id = known.get(pick.nextInt(known.size()));
                        if (vault.send("GET", "/fhir/Patient/" + id, token, null).statusCode() == 200) {
                            read.add(id);
                        }
                    } catch (Exception e) {
                        // killed under this read: never answered
                    }
                }
            });
            t.start();
            writers.add(t);
        }
        long deadline = System.nanoTime() + 60_000_000_000L;
        while (created.isEmpty() && System.nanoTime() < deadline) { // a cold JVM: let the writes start
            Thread.sleep(20);
        }
        Thread.sleep(millis);
        vault.kill();
        killed.set(true);
        for (Thread t : writers) {
            t.join();
        }
        return new Round(List.copyOf(created), List.copyOf(read));
    }

    private static void assertSurvived(VaultProcess vault, List<String> ids, List<String> read, String practitioner, String auditor,
                                       String where) throws Exception {
        // Before this check reads them again: each acknowledged read must have left its own event.
        Set<String> readAndAudited = audited((path, token) -> vault.send("GET", path, token, null), auditor, "R");
        assertThat(readAndAudited).as("%s: read AuditEvents", where).containsAll(read.stream().map(id -> "Patient/" + id).toList());
        for (String id : ids) {
            HttpResponse<String> r = vault.send("GET", "/fhir/Patient/" + id, practitioner, null);
            assertThat(r.statusCode()).as("%s: acknowledged Patient/%s after restart: %s", where, id, r.body()).isEqualTo(200);
        }
        Set<String> createdAndAudited = auditedCreates((path, token) -> vault.send("GET", path, token, null), auditor);
        assertThat(createdAndAudited).as("%s: create AuditEvents", where)
                .containsAll(ids.stream().map(id -> "Patient/" + id).toList());
        HttpResponse<String> verified = vault.send("GET", "/admin/audit/verify", auditor, null);
        assertThat(verified.statusCode()).as(verified.body()).isEqualTo(200);
        assertThat(verified.body()).as(where).contains("\"ok\":true");
    }

    /** A GET with a bearer token, of whichever vault a test runs. */
    interface Getter {
        HttpResponse<String> get(String path, String token) throws Exception;
    }

    /** The patients named by every successful create event of the trail. */
    static Set<String> auditedCreates(Getter vault, String auditor) throws Exception {
        return audited(vault, auditor, "C");
    }

    /** What every successful event of one action (C, R, ...) names. */
    static Set<String> audited(Getter vault, String auditor, String action) throws Exception {
        Set<String> patients = new HashSet<>();
        FhirContext fhir = FhirContext.forR4Cached();
        String next = "/fhir/AuditEvent?action=" + action + "&outcome=0&_count=1000";
        while (next != null) {
            HttpResponse<String> r = vault.get(next, auditor);
            assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
            Bundle page = fhir.newJsonParser().parseResource(Bundle.class, r.body());
            for (Bundle.BundleEntryComponent e : page.getEntry()) {
                for (AuditEvent.AuditEventEntityComponent entity : ((AuditEvent) e.getResource()).getEntity()) {
                    if (entity.getWhat().getReference() != null) {
                        patients.add(entity.getWhat().getReference());
                    }
                }
            }
            next = page.getLink(Bundle.LINK_NEXT) == null ? null
                    : page.getLink(Bundle.LINK_NEXT).getUrl().replaceFirst("^https://[^/]+", "");
        }
        return patients;
    }
}
