package fr.hdsvault.api.resources;

import ca.uhn.fhir.rest.server.exceptions.InvalidRequestException;
import ca.uhn.fhir.rest.server.exceptions.ResourceGoneException;
import ca.uhn.fhir.rest.server.exceptions.ResourceNotFoundException;
import fr.hdsvault.api.security.Visibility;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.springframework.jdbc.core.JdbcTemplate;

/**
 * The index queries behind searches, histories and $everything: they list versions (type, id,
 * version), filtered by the caller's compartments inside the query itself, so that totals and
 * pages hold only what the caller may see. Nothing here reads or decrypts an object: the lists
 * are fixed when the query runs, and their pages are loaded later ({@link VaultRepository#load}).
 */
public final class ResourceSearch {

    public static final int MAX_MATCHES = 10_000;
    /**
     * Ends the sub-query of a negative check on each candidate's tokens (:not, :missing=true):
     * "offset 0" keeps PostgreSQL from turning it into an anti-join over the whole token table (a
     * hash join that reads every token of the type); it stays one index probe per candidate,
     * whatever the statistics say. Positive checks stay joins: the planner may drive the search
     * from whichever clause is the most selective.
     */
    private static final String PROBE = " offset 0";
    private static final int TOKENS_CHUNK = 500;

    private final JdbcTemplate jdbc;
    private final String tenant;

    public ResourceSearch(JdbcTemplate jdbc, String tenant) {
        this.jdbc = jdbc;
        this.tenant = tenant;
    }

    /** A history window: versions created at or after {@code since}, or current at some time in [atFrom, atTo). */
    public record Window(Instant since, Instant atFrom, Instant atTo) {
        public static final Window ALL = new Window(null, null, null);
    }

    /**
     * The current, non-deleted resources of a type matching every clause, ordered by lastUpdated
     * then id. The matches are fixed when the search runs, so pages read later show the same set
     * whatever is written meanwhile.
     */
    public List<VersionRef> search(String type, SearchCriteria criteria, Visibility visibility) {
        return candidates(type, criteria, visibility).stream().map(Candidate::ref).toList();
    }

    /** A match of the index, and whether the index alone decided it (else its checks must run on the resource). */
    public record Candidate(VersionRef ref, boolean decided) {
    }

    /**
     * As {@link #search}, each match marked decided when no clause needs a check, or when, for
     * every checked clause, the resource has one of its decisive tokens ({@link SearchCriteria.Checked}).
     *
     * <p>When a plain token clause (the patient, a code) drives the query, the checked clauses
     * (strings, dates: tens of bucket tokens each) are not sub-queries of it: the candidates'
     * own tokens of those parameters are read afterwards by id, a chunk at a time, through the
     * (type, id, param) index, and compared here. A sub-query with a long list of tokens made H2
     * read every row of those tokens (every resource of the type dated in those years) per search.
     */
    public List<Candidate> candidates(String type, SearchCriteria criteria, Visibility visibility) {
        if (criteria.clauses().stream().anyMatch(SearchCriteria::matchesNothing)) {
            return List.of(); // e.g. a chain whose inner search found nothing
        }
        List<SearchCriteria.Checked> checks = criteria.clauses().stream().filter(SearchCriteria.Checked.class::isInstance)
                .map(SearchCriteria.Checked.class::cast).toList();
        StringBuilder sql = new StringBuilder();
        List<Object> args = new ArrayList<>();
        // A positive token clause drives the query through the token index; the others are checks on each row.
        SearchCriteria.Tokens plain = criteria.clauses().stream().filter(c -> c instanceof SearchCriteria.Tokens t && !t.negated())
                .map(SearchCriteria.Tokens.class::cast).findFirst().orElse(null);
        SearchCriteria.Tokens driver = plain != null ? plain : checks.stream().map(SearchCriteria.Checked::candidates)
                .filter(java.util.Objects::nonNull).findFirst().orElse(null);
        if (driver == null) {
            sql.append("select c.resource_id, c.version_id, c.last_updated from resource_current c where c.tenant = ? "
                    + "and c.resource_type = ?");
            args.addAll(List.of(tenant, type));
        } else {
            sql.append("select distinct c.resource_id, c.version_id, c.last_updated from search_token d join resource_current c "
                    + "on c.tenant = d.tenant and c.resource_type = d.resource_type and c.resource_id = d.resource_id "
                    + "where d.tenant = ? and d.resource_type = ? and d.param = ? and d.token in (")
                    .append(placeholders(driver.anyOf().size())).append(')');
            args.addAll(List.of(tenant, type, driver.param()));
            args.addAll(driver.anyOf());
        }
        sql.append(" and c.deleted = false");
        args.addAll(restrictTo(visibility, "c.compartment", sql));
        List<SearchCriteria.Checked> filteredAfter = new ArrayList<>();
        for (SearchCriteria.Clause clause : criteria.clauses()) {
            if (clause == driver || clause instanceof SearchCriteria.Checked checked && checked.candidates() == driver) {
                continue;
            }
            if (plain != null && clause instanceof SearchCriteria.Checked checked && checked.candidates() != null) {
                filteredAfter.add(checked);
            } else {
                append(type, clause, sql, args);
            }
        }
        // Filtering after the query lets more rows through it than the search may match.
        int limit = filteredAfter.isEmpty() ? MAX_MATCHES : MAX_MATCHES * 5;
        String direction = criteria.newestFirst() ? " desc" : "";
        sql.append(" order by c.last_updated").append(direction).append(", c.resource_id").append(direction)
                .append(" limit ").append(limit + 1);
        List<VersionRef> rows = jdbc.query(sql.toString(), (rs, n) -> new VersionRef(type, rs.getString(1), rs.getLong(2), false,
                instant(rs.getObject(3, OffsetDateTime.class))), args.toArray());
        if (rows.size() > limit) {
            throw new InvalidRequestException("The search matches more than " + MAX_MATCHES + " resources: narrow it");
        }
        Map<String, Set<String>> tokens = tokensOf(type, checks, rows); // "id param" -> the id's tokens of the param
        List<Candidate> out = new ArrayList<>();
        for (VersionRef row : rows) {
            if (filteredAfter.stream().allMatch(c -> holdsOne(tokens, row.id(), c.candidates()))) {
                out.add(new Candidate(row, checks.stream().allMatch(c -> c.decisive() != null && holdsOne(tokens, row.id(), c.decisive()))));
            }
        }
        if (out.size() > MAX_MATCHES) {
            throw new InvalidRequestException("The search matches more than " + MAX_MATCHES + " resources: narrow it");
        }
        return out;
    }

    private static boolean holdsOne(Map<String, Set<String>> tokens, String id, SearchCriteria.Tokens clause) {
        Set<String> held = tokens.getOrDefault(id + " " + clause.param(), Set.of());
        return clause.anyOf().stream().anyMatch(held::contains);
    }

    /** The rows' tokens of the checked clauses' parameters, read by id a chunk at a time; empty when no clause needs them. */
    private Map<String, Set<String>> tokensOf(String type, List<SearchCriteria.Checked> checks, List<VersionRef> rows) {
        List<String> params = checks.stream().map(SearchCriteria.Checked::param).distinct().toList();
        Map<String, Set<String>> out = new HashMap<>();
        if (params.isEmpty()) {
            return out;
        }
        for (int from = 0; from < rows.size(); from += TOKENS_CHUNK) {
            List<Object> args = new ArrayList<>(List.of(tenant, type));
            rows.subList(from, Math.min(rows.size(), from + TOKENS_CHUNK)).forEach(r -> args.add(r.id()));
            int ids = args.size() - 2;
            args.addAll(params);
            jdbc.query("select resource_id, param, token from search_token where tenant = ? and resource_type = ? and resource_id in ("
                    + placeholders(ids) + ") and param in (" + placeholders(params.size()) + ")",
                    rs -> {
                        out.computeIfAbsent(rs.getString(1) + " " + rs.getString(2), k -> new HashSet<>()).add(rs.getString(3));
                    }, args.toArray());
        }
        return out;
    }

    private void append(String type, SearchCriteria.Clause clause, StringBuilder sql, List<Object> args) {
        if (clause instanceof SearchCriteria.Ids ids) {
            if (ids.anyOf().isEmpty()) {
                return; // none of no id: every row
            }
            ids.anyOf().forEach(FhirIds::require);
            if (ids.negated()) {
                sql.append(" and c.resource_id not in (").append(placeholders(ids.anyOf().size())).append(')');
                args.addAll(ids.anyOf());
            } else {
                // Whole keys: H2 probes the primary key once per key, where "resource_id in (...)" after the
                // tenant and type made it read every resource of the type (an include's targets, _id=a,b).
                sql.append(" and (c.tenant, c.resource_type, c.resource_id) in (")
                        .append(String.join(", ", Collections.nCopies(ids.anyOf().size(), "(?, ?, ?)"))).append(')');
                ids.anyOf().forEach(id -> args.addAll(List.of(tenant, type, id)));
            }
        } else if (clause instanceof SearchCriteria.Updated updated) {
            List<String> alternatives = new ArrayList<>();
            for (SearchCriteria.Range r : updated.anyOf()) {
                List<String> bounds = new ArrayList<>();
                if (r.from() != null) {
                    bounds.add(r.outside() ? "c.last_updated < ?" : "c.last_updated >= ?");
                    args.add(utc(r.from()));
                }
                if (r.to() != null) {
                    bounds.add(r.outside() ? "c.last_updated >= ?" : "c.last_updated < ?");
                    args.add(utc(r.to()));
                }
                alternatives.add(bounds.isEmpty() ? (r.outside() ? "1 = 0" : "1 = 1")
                        : "(" + String.join(r.outside() ? " or " : " and ", bounds) + ")");
            }
            sql.append(" and (").append(String.join(" or ", alternatives)).append(')');
        } else if (clause instanceof SearchCriteria.Tokens tokens) {
            if (tokens.anyOf().isEmpty()) {
                return; // none of no value: every row
            }
            sql.append(tokens.negated() ? " and not exists" : " and exists").append(" (select 1 from search_token t where "
                    + "t.tenant = c.tenant and t.resource_type = c.resource_type and t.resource_id = c.resource_id and t.param = ? "
                    + "and t.token in (").append(placeholders(tokens.anyOf().size())).append(")")
                    .append(tokens.negated() ? PROBE : "").append(')');
            args.add(tokens.param());
            args.addAll(tokens.anyOf());
        } else if (clause instanceof SearchCriteria.Checked checked) {
            if (checked.candidates() != null) {
                append(type, checked.candidates(), sql, args);
            }
        } else if (clause instanceof SearchCriteria.Missing missing) {
            sql.append(missing.missing() ? " and not exists" : " and exists").append(" (select 1 from search_token t where "
                    + "t.tenant = c.tenant and t.resource_type = c.resource_type and t.resource_id = c.resource_id and t.param = ?")
                    .append(missing.missing() ? PROBE : "").append(')');
            args.add(missing.param());
        }
    }

    /**
     * The versions of one resource ({@code id}) or of every resource of a type ({@code id} null),
     * deletions included, newest first, that the caller may see: each version is seen by the
     * compartment it was written in. An instance the caller may see no version of is 404.
     */
    public List<VersionRef> history(String type, String id, Window window, Visibility visibility) {
        if (id != null) {
            FhirIds.require(id);
        }
        StringBuilder sql = new StringBuilder("select h.resource_id, h.version_id, h.deleted, h.last_updated from resource_version h "
                + "where h.tenant = ? and h.resource_type = ?");
        List<Object> args = new ArrayList<>(List.of(tenant, type));
        if (id != null) {
            sql.append(" and h.resource_id = ?");
            args.add(id);
        }
        if (window.since() != null) {
            sql.append(" and h.last_updated >= ?");
            args.add(utc(window.since()));
        }
        if (window.atTo() != null) {
            sql.append(" and h.last_updated < ?");
            args.add(utc(window.atTo()));
        }
        if (window.atFrom() != null) {
            // Current at some time from atFrom: no later version of the resource had replaced it by then. A probe of the
            // primary key per version, so that the versions are walked by time through an index, newest first.
            sql.append(" and not exists (select 1 from resource_version n where n.tenant = h.tenant and n.resource_type = "
                    + "h.resource_type and n.resource_id = h.resource_id and n.version_id > h.version_id and n.last_updated <= ?)");
            args.add(utc(window.atFrom()));
        }
        args.addAll(restrictTo(visibility, "h.compartment", sql));
        sql.append(" order by h.last_updated desc, h.resource_id, h.version_id desc limit ").append(MAX_MATCHES + 1);
        List<VersionRef> versions = jdbc.query(sql.toString(), (rs, n) -> new VersionRef(type, rs.getString(1), rs.getLong(2),
                rs.getBoolean(3), instant(rs.getObject(4, OffsetDateTime.class))), args.toArray());
        if (versions.size() > MAX_MATCHES) {
            throw new InvalidRequestException("The history holds more than " + MAX_MATCHES + " versions: narrow it with _since or _at");
        }
        if (id != null && versions.isEmpty() && !anyVersionVisible(type, id, visibility)) {
            throw new ResourceNotFoundException("Resource " + type + "/" + id + " is not known");
        }
        return versions;
    }

    private boolean anyVersionVisible(String type, String id, Visibility visibility) {
        StringBuilder sql = new StringBuilder("select count(*) from resource_version where tenant = ? and resource_type = ? "
                + "and resource_id = ?");
        List<Object> args = new ArrayList<>(List.of(tenant, type, id));
        args.addAll(restrictTo(visibility, "compartment", sql));
        return jdbc.queryForObject(sql.toString(), Long.class, args.toArray()) > 0;
    }

    /** What a bulk export reads: every resource ({@link #ALL}), those of any patient, or those of some patients. */
    public record ExportScope(boolean patientsOnly, List<String> compartments) {
        public static final ExportScope ALL = new ExportScope(false, null);
        public static final ExportScope PATIENTS = new ExportScope(true, null);

        public ExportScope {
            compartments = compartments == null ? null : List.copyOf(compartments);
        }

        public static ExportScope of(List<String> compartments) {
            return new ExportScope(true, compartments);
        }
    }

    /**
     * One page of a bulk export: current, non-deleted resources of {@code type} in {@code scope},
     * updated in [since, until] (either end open when null), matching one of {@code anyOf} (every
     * resource when empty), after {@code afterId} in id order. Keyset pages on the primary key: an
     * export walks any number of resources in constant memory, and resumes from the last id written.
     */
    public List<StoredVersion> exportPage(String type, ExportScope scope, List<SearchCriteria> anyOf, Instant since, Instant until,
                                          String afterId, int limit) {
        StringBuilder sql = new StringBuilder("select c.resource_id, c.version_id, v.object_key, c.compartment from resource_current c "
                + "join resource_version v on v.tenant = c.tenant and v.resource_type = c.resource_type "
                + "and v.resource_id = c.resource_id and v.version_id = c.version_id "
                + "where c.tenant = ? and c.resource_type = ? and c.deleted = false");
        List<Object> args = new ArrayList<>(List.of(tenant, type));
        if (scope.compartments() != null) {
            if (scope.compartments().isEmpty()) {
                return List.of();
            }
            sql.append(" and c.compartment in (").append(placeholders(scope.compartments().size())).append(')');
            args.addAll(scope.compartments());
        } else if (scope.patientsOnly()) {
            sql.append(" and c.compartment like 'Patient/%'");
        }
        if (since != null) {
            sql.append(" and c.last_updated >= ?");
            args.add(utc(since));
        }
        if (until != null) {
            sql.append(" and c.last_updated <= ?");
            args.add(utc(until));
        }
        if (afterId != null) {
            sql.append(" and c.resource_id > ?");
            args.add(afterId);
        }
        if (!anyOf.isEmpty()) { // _typeFilter: each query's clauses all hold, the queries are alternatives
            List<String> alternatives = new ArrayList<>();
            for (SearchCriteria criteria : anyOf) {
                StringBuilder each = new StringBuilder("1 = 1");
                criteria.clauses().forEach(clause -> append(type, clause, each, args));
                alternatives.add("(" + each + ")");
            }
            sql.append(" and (").append(String.join(" or ", alternatives)).append(')');
        }
        sql.append(" order by c.resource_id limit ").append(limit);
        return jdbc.query(sql.toString(), (rs, n) -> new StoredVersion(type, rs.getString(1), rs.getLong(2), rs.getString(3),
                rs.getString(4)), args.toArray());
    }

    /** Everything current in a patient's compartment, the Patient first; for Patient/[id]/$everything. */
    public List<VersionRef> compartment(String patientId, Visibility visibility) {
        FhirIds.require(patientId);
        String patient = "Patient/" + patientId;
        List<Boolean> deleted = jdbc.query("select deleted, compartment from resource_current where tenant = ? "
                        + "and resource_type = 'Patient' and resource_id = ?", (rs, n) -> visibility.canRead(rs.getString(2))
                        ? rs.getBoolean(1) : null, tenant, patientId).stream().filter(java.util.Objects::nonNull).toList();
        if (deleted.isEmpty()) {
            throw new ResourceNotFoundException("Resource " + patient + " is not known");
        }
        if (deleted.get(0)) {
            throw new ResourceGoneException("Resource " + patient + " was deleted");
        }
        List<VersionRef> all = jdbc.query("select resource_type, resource_id, version_id, last_updated from resource_current "
                        + "where tenant = ? and compartment = ? and deleted = false order by case when resource_type = 'Patient' "
                        + "then 0 else 1 end, resource_type, last_updated, resource_id limit " + (MAX_MATCHES + 1),
                (rs, n) -> new VersionRef(rs.getString(1), rs.getString(2), rs.getLong(3), false,
                        instant(rs.getObject(4, OffsetDateTime.class))), tenant, patient);
        if (all.size() > MAX_MATCHES) {
            throw new InvalidRequestException("The compartment holds more than " + MAX_MATCHES + " resources");
        }
        return all;
    }

    /**
     * Appends the compartment restriction of a restricted caller to a WHERE clause: its own
     * patient compartments and the shared resources. Returns the arguments to bind.
     */
    private static List<Object> restrictTo(Visibility visibility, String column, StringBuilder sql) {
        if (!visibility.restricted()) {
            return List.of();
        }
        sql.append(" and (").append(column).append(" = ? or ").append(column).append(" in (")
                .append(placeholders(visibility.patientCompartments().size())).append("))");
        List<Object> args = new ArrayList<>();
        args.add(VaultRepository.TENANT_COMPARTMENT);
        args.addAll(visibility.patientCompartments());
        return args;
    }

    private static String placeholders(int n) {
        return String.join(", ", Collections.nCopies(n, "?"));
    }

    private static OffsetDateTime utc(Instant instant) {
        return OffsetDateTime.ofInstant(instant, ZoneOffset.UTC);
    }

    private static Instant instant(OffsetDateTime t) {
        return t == null ? null : t.toInstant();
    }
}
