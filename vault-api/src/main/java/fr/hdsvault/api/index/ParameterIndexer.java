package fr.hdsvault.api.index;

import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.rest.server.exceptions.InvalidRequestException;
import fr.hdsvault.api.resources.SearchClauses;
import fr.hdsvault.api.resources.SearchParameters;
import fr.hdsvault.api.resources.SearchTokens;
import fr.hdsvault.api.resources.VaultRepository;
import fr.hdsvault.api.security.Visibility;
import java.time.Clock;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.hl7.fhir.instance.model.api.IBaseResource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.dao.DuplicateKeyException;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * Keeps every token parameter's index complete: a parameter the vault did not index before (a new
 * version added it), or whose definition changed (its paths, its normalisation), is built in the
 * background from the stored records, page by page, while the vault serves (docs/search.md,
 * "Reindexing"). Its state is in the shared database ({@code search_param}), so that every node
 * refuses a search on it (400, with the progress) until it is complete, and a restart resumes
 * after the last page done. Writes index every parameter, ready or not; a page locks each row
 * it re-indexes and skips a record written since it was read, whose tokens are already the new
 * write's. Nodes may build the same parameter at once: a page commits only if the resume point
 * is still the one it started from.
 */
public final class ParameterIndexer implements SearchClauses.Readiness, AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(ParameterIndexer.class);
    static final String BUILDING = "building";
    static final String READY = "ready";
    static final String BASELINE = "baseline";

    private final JdbcTemplate jdbc;
    private final TransactionTemplate tx;
    private final FhirContext fhir;
    private final VaultRepository repository;
    private final SearchParameters parameters;
    private final String tenant;
    private final Clock clock;
    private final int pageSize;
    private final int recordsPerSecond;
    private final ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "search-indexer");
        t.setDaemon(true);
        return t;
    });
    /** Type/param → progress of what is being built, as last read from the database. */
    private volatile Map<String, Progress> building = Map.of();

    record Progress(String type, String param, String definition, String resumeAfter, long indexed) {
    }

    public ParameterIndexer(JdbcTemplate jdbc, TransactionTemplate tx, FhirContext fhir, VaultRepository repository, String tenant,
                            Clock clock, int pageSize, int recordsPerSecond) {
        this.jdbc = jdbc;
        this.tx = tx;
        this.fhir = fhir;
        this.repository = repository;
        this.parameters = new SearchParameters(fhir);
        this.tenant = tenant;
        this.clock = clock;
        this.pageSize = pageSize;
        this.recordsPerSecond = recordsPerSecond;
    }

    /** Records what this version indexes: from then on, searches on what is missing are refused. */
    public ParameterIndexer start() {
        synchronise();
        return this;
    }

    /** Builds what is missing in the background; called once the vault serves, so as not to slow its start. */
    public void build() {
        scheduler.scheduleWithFixedDelay(this::buildSome, 0, 1, TimeUnit.SECONDS);
    }

    @Override
    public void close() {
        scheduler.shutdownNow();
    }

    /**
     * One row per type and indexed parameter, with this version's definition: a new parameter, or
     * a changed definition, is to be built (its old tokens go); a type without records is ready at once.
     */
    void synchronise() {
        Map<String, String[]> rows = new HashMap<>();
        jdbc.query("select resource_type, param, definition, state from search_param where tenant = ?", rs -> {
            rows.put(rs.getString(1) + "/" + rs.getString(2), new String[] {rs.getString(3), rs.getString(4)});
        }, tenant);
        for (String type : fhir.getResourceTypes()) {
            Boolean[] hasRecords = {null};
            parameters.indexedPaths(type).forEach((param, paths) -> {
                String definition = parameters.definition(type, param);
                String[] row = rows.get(type + "/" + param);
                if (row != null && (row[0].equals(definition) || row[0].equals(BASELINE) && paths.equals(List.of(type + "." + param)))) {
                    if (!row[0].equals(definition)) {
                        jdbc.update("update search_param set definition = ? where tenant = ? and resource_type = ? and param = ?",
                                definition, tenant, type, param);
                    }
                    return;
                }
                if (hasRecords[0] == null) {
                    hasRecords[0] = !jdbc.queryForList("select resource_id from resource_current where tenant = ? and resource_type = ? "
                            + "fetch first 1 rows only", String.class, tenant, type).isEmpty();
                }
                String state = hasRecords[0] ? BUILDING : READY;
                try {
                    tx.executeWithoutResult(s -> {
                        jdbc.update("delete from search_token where tenant = ? and resource_type = ? and param = ?", tenant, type, param);
                        if (jdbc.update("update search_param set definition = ?, state = ?, resume_after = null, indexed = 0, updated_at = ? "
                                + "where tenant = ? and resource_type = ? and param = ?", definition, state, now(), tenant, type, param) == 0) {
                            jdbc.update("insert into search_param (tenant, resource_type, param, definition, state, indexed, updated_at) "
                                    + "values (?, ?, ?, ?, ?, 0, ?)", tenant, type, param, definition, state, now());
                        }
                    });
                } catch (DuplicateKeyException another) { // another node, starting at the same moment, recorded it
                    LOG.debug("search parameter {} of {} recorded by another node", param, type);
                }
                if (state.equals(BUILDING)) {
                    LOG.info("search parameter {} of {} is new or changed: indexing the stored {} records in the background", param,
                            type, type);
                }
            });
        }
        refresh();
    }

    private void refresh() {
        Map<String, Progress> now = new HashMap<>();
        jdbc.query("select resource_type, param, definition, resume_after, indexed from search_param where tenant = ? and state = ?",
                rs -> {
                    Progress p = new Progress(rs.getString(1), rs.getString(2), rs.getString(3), rs.getString(4), rs.getLong(5));
                    now.put(p.type() + "/" + p.param(), p);
                }, tenant, BUILDING);
        building = Map.copyOf(now);
    }

    @Override
    public void requireReady(String type, String param) {
        Progress p = building.get(type + "/" + param);
        if (p != null) {
            throw new InvalidRequestException("Search parameter " + param + " of " + type + " is being indexed (" + p.indexed()
                    + " records done); until it is complete, a search on it could miss records, so it is refused. Try again later.");
        }
    }

    /** Whether every parameter is ready (for tests and the health of an upgrade). */
    public boolean complete() {
        return building.isEmpty();
    }

    /** Pages of each parameter being built until none is left; then the states every node sees. */
    void buildSome() {
        try {
            refresh();
            while (!building.isEmpty() && !Thread.currentThread().isInterrupted()) {
                for (Progress p : building.values()) {
                    int records = buildPage(p);
                    if (recordsPerSecond > 0 && records > 0) { // vault.search.reindex-rate: leave the service its share
                        Thread.sleep(1000L * records / recordsPerSecond);
                    }
                }
                refresh();
            }
        } catch (InterruptedException stop) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException e) { // the database away: the next round tries again
            LOG.warn("search indexing paused: {}", e.getClass().getSimpleName());
        }
    }

    /** One page of a parameter's build; returns how many records it read. */
    private int buildPage(Progress p) {
        List<String> paths = parameters.paths(p.type(), p.param());
        if (!parameters.definition(p.type(), p.param()).equals(p.definition())) {
            return 0; // a node of another version recorded its own definition; the two agree after the update
        }
        List<String[]> page = jdbc.query("select resource_id, version_id from resource_current where tenant = ? and resource_type = ? "
                + "and deleted = false and resource_id > ? order by resource_id fetch first " + pageSize + " rows only",
                (rs, n) -> new String[] {rs.getString(1), rs.getString(2)}, tenant, p.type(), p.resumeAfter() == null ? "" : p.resumeAfter());
        List<Object[]> rows = new ArrayList<>();
        List<String[]> read = new ArrayList<>();
        int damaged = 0;
        for (String[] record : page) {
            Optional<VaultRepository.StoredJson> stored;
            try {
                stored = repository.readStored(p.type(), record[0], Visibility.ALL);
            } catch (RuntimeException unreadable) { // damaged or shredded: its tokens stay as they were
                damaged++;
                continue;
            }
            if (stored.isEmpty() || stored.get().version() != Long.parseLong(record[1])) {
                continue; // deleted or rewritten since the page was read: that write indexed it
            }
            IBaseResource resource = fhir.newJsonParser().parseResource(new String(stored.get().json(),
                    java.nio.charset.StandardCharsets.UTF_8));
            read.add(record);
            for (SearchTokens.Token t : repository.searchTokens().of(resource, p.param(), paths)) {
                rows.add(new Object[] {tenant, p.type(), record[0], t.param(), t.value()});
            }
        }
        String last = page.isEmpty() ? null : page.get(page.size() - 1)[0];
        long done = read.size();
        int skipped = damaged;
        tx.executeWithoutResult(s -> {
            List<Object[]> keep = new ArrayList<>();
            for (String[] record : read) { // lock each row; a record rewritten meanwhile keeps its write's tokens
                List<Long> version = jdbc.queryForList("select version_id from resource_current where tenant = ? and resource_type = ? "
                        + "and resource_id = ? for update", Long.class, tenant, p.type(), record[0]);
                if (version.size() == 1 && version.get(0) == Long.parseLong(record[1])) {
                    jdbc.update("delete from search_token where tenant = ? and resource_type = ? and resource_id = ? and param = ?", tenant,
                            p.type(), record[0], p.param());
                    rows.stream().filter(r -> r[2].equals(record[0])).forEach(keep::add);
                }
            }
            if (!keep.isEmpty()) {
                jdbc.batchUpdate("insert into search_token (tenant, resource_type, resource_id, param, token) values (?, ?, ?, ?, ?)", keep);
            }
            int moved = last == null
                    ? jdbc.update("update search_param set state = ?, updated_at = ? where tenant = ? and resource_type = ? and param = ? "
                            + "and state = ? and definition = ?", READY, now(), tenant, p.type(), p.param(), BUILDING, p.definition())
                    : jdbc.update("update search_param set resume_after = ?, indexed = indexed + ?, updated_at = ? where tenant = ? "
                            + "and resource_type = ? and param = ? and state = ? and definition = ? and coalesce(resume_after, '') = ?",
                            last, done, now(), tenant, p.type(), p.param(), BUILDING, p.definition(),
                            p.resumeAfter() == null ? "" : p.resumeAfter());
            if (moved != 1) {
                s.setRollbackOnly(); // another node did this page first
            }
        });
        if (last == null) {
            LOG.info("search parameter {} of {} indexed: {} records", p.param(), p.type(), p.indexed());
        } else if (skipped > 0) {
            LOG.warn("search indexing of {} of {}: {} records could not be read (integrity) and keep their old tokens", p.param(),
                    p.type(), skipped);
        }
        return page.size();
    }

    private OffsetDateTime now() {
        return clock.instant().atOffset(ZoneOffset.UTC);
    }
}
