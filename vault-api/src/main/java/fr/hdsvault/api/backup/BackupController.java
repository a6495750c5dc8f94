package fr.hdsvault.api.backup;

import fr.hdsvault.api.security.AccessPolicy;
import fr.hdsvault.backup.BackupSummary;
import fr.hdsvault.backup.BackupVerifier;
import java.net.URI;
import java.util.List;
import java.util.Map;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.ExceptionHandler;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestHeader;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;

/**
 * {@code /admin/backups} and {@code /admin/restore-drills}, for operators (SecurityConfig):
 * run, list and verify backups; run restore drills and read their reports.
 */
@RestController
public class BackupController {

    private final BackupService service;

    public BackupController(BackupService service) {
        this.service = service;
    }

    /** Runs a backup and waits for it: 200 with the summary, or 500 with the summary of the failed run. */
    @PostMapping("/admin/backups")
    public ResponseEntity<BackupSummary> run() {
        BackupSummary summary = service.backup(requester());
        return ResponseEntity.status(summary.ok() ? HttpStatus.OK : HttpStatus.INTERNAL_SERVER_ERROR).body(summary);
    }

    @GetMapping("/admin/backups")
    public List<BackupService.SetView> list() {
        return service.list();
    }

    /** 200 with the report whether or not the set verifies ({@code ok}); 404 for an unknown set. */
    @GetMapping("/admin/backups/{id}/verify")
    public ResponseEntity<?> verify(@PathVariable("id") String id,
                                    @RequestParam(name = "readData", defaultValue = "false") boolean readData) {
        if (!service.exists(id)) {
            return error(HttpStatus.NOT_FOUND, "no backup set " + (fr.hdsvault.backup.BackupTarget.isSetId(id) ? id : "with that id"));
        }
        BackupVerifier.Report report = service.verify(id, readData, requester());
        return ResponseEntity.ok(report);
    }

    /**
     * Runs a drill on the latest set (or {@code backupId}) and returns its report (200 whether it
     * passed or failed: the report says); with {@code async=true}, 202 and a Location to poll.
     */
    @PostMapping("/admin/restore-drills")
    public ResponseEntity<DrillReport> drill(@RequestParam(name = "async", defaultValue = "false") boolean async,
                                             @RequestParam(name = "backupId", required = false) String backupId) {
        if (backupId != null && !service.exists(backupId)) {
            throw new IllegalArgumentException("no backup set " + (fr.hdsvault.backup.BackupTarget.isSetId(backupId) ? backupId : "with that id"));
        }
        if (async) {
            DrillReport running = service.startDrill(backupId, requester());
            return ResponseEntity.accepted().location(URI.create("/admin/restore-drills/" + running.id())).body(running);
        }
        return ResponseEntity.ok(service.drill(backupId, requester()));
    }

    @GetMapping("/admin/restore-drills")
    public List<DrillReport> drills(@RequestParam(name = "limit", defaultValue = "50") int limit) {
        return service.drills(Math.max(1, Math.min(limit, 1000)));
    }

    /** The report as JSON, or as readable text when the client accepts text/plain (and not JSON). */
    @GetMapping("/admin/restore-drills/{id}")
    public ResponseEntity<?> drillReport(@PathVariable("id") String id,
                                         @RequestHeader(name = "Accept", defaultValue = "application/json") String accept) {
        return service.drillReport(id).<ResponseEntity<?>>map(report -> accept.contains("text/plain") && !accept.contains("json")
                        ? ResponseEntity.ok().contentType(MediaType.TEXT_PLAIN).body(report.text())
                        : ResponseEntity.ok(report))
                .orElseGet(() -> error(HttpStatus.NOT_FOUND, "no restore drill with that id"));
    }

    @ExceptionHandler(BackupService.BusyException.class)
    ResponseEntity<Map<String, String>> busy(BackupService.BusyException e) {
        return error(HttpStatus.CONFLICT, e.getMessage());
    }

    @ExceptionHandler(IllegalArgumentException.class)
    ResponseEntity<Map<String, String>> badRequest(IllegalArgumentException e) {
        return error(HttpStatus.BAD_REQUEST, e.getMessage());
    }

    /** Failures carry set ids, item names and object keys only, never record content: safe to return and log. */
    @ExceptionHandler(fr.hdsvault.backup.BackupException.class)
    ResponseEntity<Map<String, String>> failed(fr.hdsvault.backup.BackupException e) {
        org.slf4j.LoggerFactory.getLogger(BackupController.class).error("backup operation failed: {}", e.getMessage(), e);
        return error(HttpStatus.INTERNAL_SERVER_ERROR, e.getMessage());
    }

    private static ResponseEntity<Map<String, String>> error(HttpStatus status, String message) {
        return ResponseEntity.status(status).contentType(MediaType.APPLICATION_JSON).body(Map.of("error", message));
    }

    private static String requester() {
        return AccessPolicy.currentCaller().subject();
    }
}
