package fr.hdsvault.api.bulk;

import fr.hdsvault.api.audit.AuditEvents;
import fr.hdsvault.api.audit.AuditTrail;
import fr.hdsvault.api.security.AccessPolicy;
import fr.hdsvault.api.storage.VaultStores;
import fr.hdsvault.storage.ListPage;
import fr.hdsvault.storage.ObjectInfo;
import fr.hdsvault.storage.ObjectStore;
import jakarta.servlet.http.HttpServletRequest;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.zip.GZIPInputStream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.annotation.Qualifier;
import org.springframework.http.HttpStatus;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.server.ResponseStatusException;

/**
 * Bulk import for operators migrating a client in (docs/api.md, "Bulk import"):
 * <ul>
 *   <li>{@code POST /admin/import?preserveMeta=true|false} with an NDJSON body
 *       ({@code application/fhir+ndjson}): the lines sent (the CLI sends a file in parts);</li>
 *   <li>{@code POST /admin/import} with {@code {"source": "s3://bucket/prefix", "preserveMeta": true}}:
 *       every object under the prefix, on the vault's own S3 endpoint, read as it streams
 *       ({@code .gz} objects decompressed).</li>
 * </ul>
 * Answers the report (counts, refusals by line); one operation event records the import, and
 * one event per patient its data was written for.
 */
@RestController
public class ImportController {

    private static final Logger log = LoggerFactory.getLogger(ImportController.class);
    private static final String AUDIT_OPERATION = "import";

    private final NdjsonImport importer;
    private final ObjectStore store;
    private final AuditTrail trail;
    private final AuditEvents events;
    private final Clock clock;

    ImportController(NdjsonImport importer, @Qualifier("objectBucket") VaultStores.StoreBucket records, AuditTrail trail,
                     AuditEvents events) {
        this.importer = importer;
        this.store = records.store();
        this.trail = trail;
        this.events = events;
        this.clock = Clock.systemUTC();
    }

    @PostMapping(path = "/admin/import", consumes = {"application/fhir+ndjson", "application/ndjson", "application/x-ndjson"})
    public Map<String, Object> upload(@RequestParam(name = "preserveMeta", defaultValue = "false") boolean preserveMeta,
                                      @RequestParam(name = "source", defaultValue = "upload") String source,
                                      @RequestParam(name = "import", required = false) String importId,
                                      HttpServletRequest request) throws IOException {
        if (importId != null && !importId.matches("[0-9a-f]{32}")) {
            throw new ResponseStatusException(HttpStatus.BAD_REQUEST, "import must be 32 hex digits (the CLI's run id)");
        }
        NdjsonImport.Report report = report(importId);
        try (BufferedReader in = new BufferedReader(new InputStreamReader(request.getInputStream(), StandardCharsets.UTF_8))) {
            importer.run(name(source), in, preserveMeta, report);
        }
        return finish(report, "upload");
    }

    @PostMapping(path = "/admin/import", consumes = "application/json")
    public Map<String, Object> fromStore(@RequestBody Map<String, Object> body) throws IOException {
        Object source = body.get("source");
        if (!(source instanceof String s) || !s.matches("s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/.*)?")) {
            throw new ResponseStatusException(HttpStatus.BAD_REQUEST, "source must be s3://bucket[/prefix] on the vault's S3 endpoint");
        }
        boolean preserveMeta = Boolean.TRUE.equals(body.get("preserveMeta"));
        String rest = s.substring("s3://".length());
        int slash = rest.indexOf('/');
        String bucket = slash < 0 ? rest : rest.substring(0, slash);
        String prefix = slash < 0 ? "" : rest.substring(slash + 1);
        NdjsonImport.Report report = report(null);
        String after = null;
        int objects = 0;
        try {
            do {
                ListPage page = store.list(bucket, prefix, after, 1000);
                for (ObjectInfo object : page.objects()) {
                    try (InputStream raw = store.get(bucket, object.key());
                         InputStream in = object.key().endsWith(".gz") ? new GZIPInputStream(raw) : raw;
                         BufferedReader lines = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
                        importer.run(object.key(), lines, preserveMeta, report);
                    }
                    objects++;
                    log.info("import {}: {} objects read, {} resources imported, {} unchanged, {} refused", report.id, objects,
                            report.imported, report.unchanged, report.refused);
                }
                after = page.nextStartAfter();
            } while (after != null);
        } catch (fr.hdsvault.storage.ObjectStoreException e) {
            throw new ResponseStatusException(HttpStatus.BAD_GATEWAY, "the source could not be read (" + e.getClass().getSimpleName()
                    + "); what was imported stays, import again to resume");
        }
        return finish(report, s);
    }

    /** A report for the parts of import {@code id} (one CLI run), or of a new import. */
    private static NdjsonImport.Report report(String id) {
        return new NdjsonImport.Report(id != null ? id : newImportId(), AccessPolicy.currentCaller().subject());
    }

    public static String newImportId() {
        byte[] id = new byte[16];
        new java.security.SecureRandom().nextBytes(id);
        return HexFormat.of().formatHex(id);
    }

    private Map<String, Object> finish(NdjsonImport.Report report, String source) {
        String summary = "import from " + source + ": " + report.lines + " lines, " + report.imported + " imported, " + report.unchanged
                + " unchanged, " + report.refused + " refused, " + report.patients.size() + " patients";
        log.info("import {}: {}", report.id, summary);
        trail.record(List.of(events.operation(AUDIT_OPERATION, report.requester, true, summary, report.id, clock.instant())));
        return report.toMap();
    }

    /** An uploaded file's name for the report: a plain name or nothing (it is echoed back, never interpreted). */
    private static String name(String source) {
        return source.matches("[A-Za-z0-9._/ -]{1,200}") ? source : "upload";
    }
}
