package fr.hdsvault.api.bulk;

import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.parser.DataFormatException;
import ca.uhn.fhir.rest.server.exceptions.BaseServerResponseException;
import fr.hdsvault.api.audit.AuditEvents;
import fr.hdsvault.api.audit.AuditTrail;
import fr.hdsvault.api.resources.FhirIds;
import fr.hdsvault.api.resources.VaultRepository;
import fr.hdsvault.api.security.AccessPolicy;
import java.io.BufferedReader;
import java.io.IOException;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import org.hl7.fhir.instance.model.api.IBaseResource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.jdbc.core.JdbcTemplate;

/**
 * Migration in: NDJSON lines (a Bulk Data export, another host's, or the vault's own) written
 * as ordinary writes, each sealed under its patient's key and indexed, under the ids they came
 * with (references between the files depend on them), and with their versions and times when
 * asked. A batch of lines is sealed in parallel and indexed in one transaction. Importing the
 * same lines again adds nothing (what is already held, that version or that content, is counted
 * unchanged), which is how an import cut short by a crash is resumed: run it again. A line
 * that cannot be imported is refused with its line number and why, never its content; the
 * others go on.
 */
final class NdjsonImport {

    private static final Logger log = LoggerFactory.getLogger(NdjsonImport.class);
    private static final int BATCH = 64;
    static final int MAX_REFUSALS_LISTED = 1000;

    private final FhirContext fhir;
    private final VaultRepository repository;
    private final ExecutorService workers;
    private final AuditTrail trail;
    private final AuditEvents events;
    private final JdbcTemplate jdbc;
    private final Clock clock;

    NdjsonImport(FhirContext fhir, VaultRepository repository, ExecutorService workers, AuditTrail trail, AuditEvents events,
                 JdbcTemplate jdbc, Clock clock) {
        this.jdbc = jdbc;
        this.fhir = fhir;
        this.repository = repository;
        this.workers = workers;
        this.trail = trail;
        this.events = events;
        this.clock = clock;
    }

    /** A line that was not imported: where, which resource when it could be read, and why. */
    record Refusal(String source, long line, String resource, String reason) {
    }

    /** What an import did, added up over its sources. */
    static final class Report {
        final String id;
        final String requester;
        long lines;
        long imported;
        long unchanged;
        long refused;
        final List<Refusal> refusals = new ArrayList<>();
        final Map<String, Long> types = new java.util.TreeMap<>();
        final Set<String> patients = new HashSet<>();
        /** Patients written for the first time by this import, whose AuditEvent is not yet recorded. */
        private final Set<String> unaudited = new LinkedHashSet<>();

        Report(String id, String requester) {
            this.id = id;
            this.requester = requester;
        }

        void refuse(String source, long line, String resource, String reason) {
            refused++;
            if (refusals.size() < MAX_REFUSALS_LISTED) {
                refusals.add(new Refusal(source, line, resource, reason));
            }
        }

        Map<String, Object> toMap() {
            Map<String, Object> out = new LinkedHashMap<>();
            out.put("import", id);
            out.put("lines", lines);
            out.put("imported", imported);
            out.put("unchanged", unchanged);
            out.put("refused", refused);
            out.put("types", types);
            out.put("patients", patients.size());
            out.put("refusals", refusals.stream().map(r -> {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("source", r.source());
                m.put("line", r.line());
                if (r.resource() != null) {
                    m.put("resource", r.resource());
                }
                m.put("reason", r.reason());
                return m;
            }).toList());
            return out;
        }
    }

    private record Parsed(long line, String type, String id, IBaseResource resource) {
    }

    /** Imports every line of {@code source} (named in the report only); counts go into {@code report}. */
    void run(String source, BufferedReader in, boolean preserveMeta, Report report) throws IOException {
        List<Parsed> batch = new ArrayList<>();
        Set<String> inBatch = new HashSet<>();
        String text;
        long line = 0;
        while ((text = in.readLine()) != null) {
            line++;
            if (text.isBlank()) {
                continue;
            }
            report.lines++;
            Parsed parsed = parse(source, line, text, report);
            if (parsed == null) {
                continue;
            }
            if (!inBatch.add(parsed.type() + "/" + parsed.id())) { // a later version of the same resource: after the earlier one
                flush(source, batch, preserveMeta, report);
                inBatch.clear();
                inBatch.add(parsed.type() + "/" + parsed.id());
            }
            batch.add(parsed);
            if (batch.size() >= BATCH) {
                flush(source, batch, preserveMeta, report);
                inBatch.clear();
            }
        }
        flush(source, batch, preserveMeta, report);
    }

    private Parsed parse(String source, long line, String text, Report report) {
        IBaseResource resource;
        try {
            resource = fhir.newJsonParser().parseResource(text);
        } catch (DataFormatException | ClassCastException | IllegalArgumentException e) {
            report.refuse(source, line, null, "not a valid FHIR R4 resource in JSON");
            return null;
        }
        String type = fhir.getResourceType(resource);
        String id = resource.getIdElement().getIdPart();
        if (AccessPolicy.AUDIT_EVENT.equals(type)) {
            report.refuse(source, line, null, "AuditEvents are written by the vault; another trail is not imported as records");
            return null;
        }
        if (id == null || !FhirIds.valid(id)) {
            report.refuse(source, line, null, "a " + type + " without a valid id: an import keeps the ids its references use");
            return null;
        }
        return new Parsed(line, type, id, resource);
    }

    /** Seals the batch's resources in parallel, then indexes them in one transaction (one by one if that fails). */
    private void flush(String source, List<Parsed> batch, boolean preserveMeta, Report report) {
        if (batch.isEmpty()) {
            return;
        }
        List<Future<Optional<VaultRepository.Prepared>>> sealing = batch.stream()
                .map(p -> workers.submit(() -> repository.prepareImport(p.type(), p.id(), p.resource(), preserveMeta))).toList();
        List<VaultRepository.Prepared> prepared = new ArrayList<>();
        List<Parsed> accepted = new ArrayList<>();
        for (int i = 0; i < batch.size(); i++) {
            Parsed p = batch.get(i);
            try {
                Optional<VaultRepository.Prepared> write = sealing.get(i).get();
                if (write.isEmpty()) {
                    report.unchanged++;
                } else {
                    prepared.add(write.get());
                    accepted.add(p);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("import interrupted");
            } catch (ExecutionException e) {
                report.refuse(source, p.line(), p.type() + "/" + p.id(), reason(e.getCause()));
            }
        }
        try {
            repository.commit(prepared);
            prepared.forEach(w -> counted(w, report));
        } catch (RuntimeException whole) {
            for (int i = 0; i < prepared.size(); i++) { // one by one: the others go in, the one that fails is named
                try {
                    repository.commit(List.of(prepared.get(i)));
                    counted(prepared.get(i), report);
                } catch (RuntimeException e) {
                    Parsed p = accepted.get(i);
                    report.refuse(source, p.line(), p.type() + "/" + p.id(), reason(e));
                }
            }
        }
        batch.clear();
        auditNewPatients(report);
    }

    private void counted(VaultRepository.Prepared w, Report report) {
        report.imported++;
        report.types.merge(w.type(), 1L, Long::sum);
        if (w.compartment() != null && w.compartment().startsWith("Patient/") && report.patients.add(w.compartment())) {
            report.unaudited.add(w.compartment());
        }
    }

    /** One AuditEvent per patient whose data this import wrote, recorded as soon as its first resource is in. */
    private void auditNewPatients(Report report) {
        if (report.unaudited.isEmpty()) {
            return;
        }
        List<String> first = new ArrayList<>();
        for (String patient : report.unaudited) { // an import sent in parts: the first part that writes for a patient records it
            try {
                if (jdbc.update("insert into import_patient (import_id, compartment) select ?, ? where not exists (select 1 from "
                        + "import_patient where import_id = ? and compartment = ?)", report.id, patient, report.id, patient) == 1) {
                    first.add(patient);
                }
            } catch (org.springframework.dao.DuplicateKeyException e) {
                // another part of the same import recorded it at the same moment
            }
        }
        var now = clock.instant();
        trail.record(first.stream().map(p -> events.bulk(AuditEvents.Bulk.IMPORT, report.requester, null, p, report.id, now)).toList());
        report.unaudited.clear();
    }

    /** Why a resource was refused, in words that carry no content of it. */
    private static String reason(Throwable e) {
        if (e instanceof IllegalArgumentException || e instanceof BaseServerResponseException) {
            String message = e.getMessage() == null ? "" : e.getMessage();
            // HAPI prefixes its messages with a code; what follows is the vault's own wording
            return message.replaceFirst("^HAPI-\\d+: ", "");
        }
        log.warn("import: a resource could not be written: {}", e.getClass().getSimpleName());
        return "the vault could not write it (" + e.getClass().getSimpleName() + "); import again to retry";
    }
}
