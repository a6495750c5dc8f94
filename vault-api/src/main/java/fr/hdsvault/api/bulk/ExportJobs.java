package fr.hdsvault.api.bulk;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Optional;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.jdbc.core.RowMapper;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * Export jobs and their files in the shared database: any node answers a job's status and
 * serves its files, and whichever node holds a job's lease runs it. A node that dies stops
 * renewing its lease; another claims the job when the lease runs out and resumes it after the
 * last file it recorded.
 */
final class ExportJobs {

    enum Status { ACCEPTED, RUNNING, COMPLETED, FAILED, CANCELLED, EXPIRED;

        String code() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }

        static Status of(String code) {
            return valueOf(code.toUpperCase(java.util.Locale.ROOT));
        }
    }

    /** A job as stored. {@code ownerKey} names who may see it: the client that asked, nothing else. */
    record Job(String id, String ownerKey, String requester, String clientId, String requestJson, String requestUrl, String kekId,
               Status status, Instant transactionTime, Instant finishedAt, Instant expiresAt, String resumeType, String resumeAfterId,
               long resources, String error) {
    }

    /** One file of a job: NDJSON of one type ({@code output}) or OperationOutcomes ({@code error}). */
    record File(int seq, String type, String kind, String objectKey, long resources, String sha256) {
    }

    private static final String COLUMNS = "job_id, owner_key, requester, client_id, request_json, request_url, kek_id, status, "
            + "transaction_time, finished_at, expires_at, resume_type, resume_after_id, resources, error";
    private static final RowMapper<Job> JOB = (rs, n) -> new Job(rs.getString(1), rs.getString(2), rs.getString(3), rs.getString(4),
            rs.getString(5), rs.getString(6), rs.getString(7), Status.of(rs.getString(8)), instant(rs.getObject(9, OffsetDateTime.class)),
            instant(rs.getObject(10, OffsetDateTime.class)), instant(rs.getObject(11, OffsetDateTime.class)), rs.getString(12),
            rs.getString(13), rs.getLong(14), rs.getString(15));
    private static final RowMapper<File> FILE = (rs, n) -> new File(rs.getInt(1), rs.getString(2), rs.getString(3), rs.getString(4),
            rs.getLong(5), rs.getString(6));

    private final JdbcTemplate jdbc;
    private final TransactionTemplate tx;
    private final Clock clock;

    ExportJobs(JdbcTemplate jdbc, TransactionTemplate tx, Clock clock) {
        this.jdbc = jdbc;
        this.tx = tx;
        this.clock = clock;
    }

    void create(Job job) {
        Instant now = clock.instant();
        jdbc.update("insert into export_job (" + COLUMNS + ", created_at) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                job.id(), job.ownerKey(), job.requester(), job.clientId(), job.requestJson(), job.requestUrl(), job.kekId(),
                job.status().code(), utc(job.transactionTime()), null, null, null, null, 0L, null, utc(now));
    }

    Optional<Job> find(String id) {
        return jdbc.query("select " + COLUMNS + " from export_job where job_id = ?", JOB, id).stream().findFirst();
    }

    /** Every job not yet finished (tests, destruction). */
    List<Job> all() {
        return jdbc.query("select " + COLUMNS + " from export_job order by created_at", JOB);
    }

    /**
     * Takes the oldest job that is waiting, or running under a lease that ran out (its node
     * died), for {@code node} until {@code lease} from now. Two nodes may race for it: the
     * conditional update lets one win.
     */
    Optional<Job> claim(String node, Duration lease) {
        Instant now = clock.instant();
        List<String> candidates = jdbc.queryForList("select job_id from export_job where status in ('accepted', 'running') "
                + "and (lease_until is null or lease_until < ?) order by created_at limit 5", String.class, utc(now));
        for (String id : candidates) {
            int won = jdbc.update("update export_job set status = 'running', lease_owner = ?, lease_until = ? where job_id = ? "
                    + "and status in ('accepted', 'running') and (lease_until is null or lease_until < ?)",
                    node, utc(now.plus(lease)), id, utc(now));
            if (won == 1) {
                return find(id);
            }
        }
        return Optional.empty();
    }

    /** Lets go of the jobs this node was running (it stops, or it restarted): they are claimed again at once. */
    void releaseLeases(String node) {
        jdbc.update("update export_job set lease_until = null where lease_owner = ? and status = 'running'", node);
    }

    /** Extends the lease; false when the job is no longer this node's to run (cancelled, or taken over). */
    boolean renew(String id, String node, Duration lease) {
        return jdbc.update("update export_job set lease_until = ? where job_id = ? and lease_owner = ? and status = 'running'",
                utc(clock.instant().plus(lease)), id, node) == 1;
    }

    /**
     * Records written files and the point the job resumes from, in one transaction; false (and
     * nothing recorded) when the job is no longer this node's: its files are then the caller's
     * to delete.
     */
    boolean recordFiles(String id, String node, List<File> files, String resumeType, String resumeAfterId, long resources,
                        Collection<String> newPatients) {
        Boolean recorded = tx.execute(status -> {
            int owned = jdbc.update("update export_job set resume_type = ?, resume_after_id = ?, resources = ? where job_id = ? "
                    + "and lease_owner = ? and status = 'running'", resumeType, resumeAfterId, resources, id, node);
            if (owned != 1) {
                return false;
            }
            jdbc.batchUpdate("insert into export_file (job_id, seq, resource_type, kind, object_key, resources, sha256) "
                    + "values (?, ?, ?, ?, ?, ?, ?)", files.stream().map(f -> new Object[] {id, f.seq(), f.type(), f.kind(),
                        f.objectKey(), f.resources(), f.sha256()}).toList());
            jdbc.batchUpdate("insert into export_patient (job_id, compartment) values (?, ?)",
                    newPatients.stream().map(p -> new Object[] {id, p}).toList());
            return true;
        });
        return Boolean.TRUE.equals(recorded);
    }

    /** Of these patient compartments, those no file of the job has held yet. */
    List<String> notYetExported(String id, Collection<String> compartments) {
        List<String> out = new ArrayList<>();
        for (String c : compartments) {
            if (jdbc.queryForObject("select count(*) from export_patient where job_id = ? and compartment = ?", Long.class, id, c) == 0) {
                out.add(c);
            }
        }
        return out;
    }

    List<File> files(String id) {
        return jdbc.query("select seq, resource_type, kind, object_key, resources, sha256 from export_file where job_id = ? "
                + "order by seq", FILE, id);
    }

    boolean complete(String id, String node, Instant expiresAt) {
        return jdbc.update("update export_job set status = 'completed', finished_at = ?, expires_at = ?, lease_owner = null, "
                + "lease_until = null where job_id = ? and lease_owner = ? and status = 'running'",
                utc(clock.instant()), utc(expiresAt), id, node) == 1;
    }

    void fail(String id, String node, String error, Instant expiresAt) {
        jdbc.update("update export_job set status = 'failed', error = ?, finished_at = ?, expires_at = ?, lease_owner = null, "
                + "lease_until = null where job_id = ? and lease_owner = ? and status = 'running'",
                error, utc(clock.instant()), utc(expiresAt), id, node);
    }

    /** Marks a job cancelled (or expired) unless it already is; true when this call did. */
    boolean end(String id, Status status) {
        return jdbc.update("update export_job set status = ?, finished_at = coalesce(finished_at, ?), lease_owner = null, "
                + "lease_until = null where job_id = ? and status not in ('cancelled', 'expired')",
                status.code(), utc(clock.instant()), id) == 1;
    }

    /** Forgets a job's files and patients, once their objects are deleted and its key destroyed. */
    void forgetFiles(String id) {
        tx.executeWithoutResult(s -> {
            jdbc.update("delete from export_file where job_id = ?", id);
            jdbc.update("delete from export_patient where job_id = ?", id);
        });
    }

    /** Finished jobs whose files are past their expiry. */
    List<Job> expired() {
        return jdbc.query("select " + COLUMNS + " from export_job where status in ('completed', 'failed') and expires_at < ?",
                JOB, utc(clock.instant()));
    }

    /** Cancelled or expired jobs that still have files (their clean-up was interrupted). */
    List<String> endedWithFiles() {
        return jdbc.queryForList("select distinct f.job_id from export_file f join export_job j on j.job_id = f.job_id "
                + "where j.status in ('cancelled', 'expired')", String.class);
    }

    /**
     * Records a status poll; false when the previous one was less than {@code interval} ago (the
     * client polls too fast). One conditional update: concurrent polls on two nodes count once.
     */
    boolean polled(String id, Duration interval) {
        Instant now = clock.instant();
        return jdbc.update("update export_job set polled_at = ? where job_id = ? and (polled_at is null or polled_at <= ?)",
                utc(now), id, utc(now.minus(interval))) == 1;
    }

    /** Jobs of one client still waiting or running (a client may not queue exports without end). */
    long active(String ownerKey) {
        return jdbc.queryForObject("select count(*) from export_job where owner_key = ? and status in ('accepted', 'running')",
                Long.class, ownerKey);
    }

    private static OffsetDateTime utc(Instant instant) {
        return instant == null ? null : OffsetDateTime.ofInstant(instant, ZoneOffset.UTC);
    }

    private static Instant instant(OffsetDateTime t) {
        return t == null ? null : t.toInstant();
    }
}
