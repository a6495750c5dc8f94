package fr.hdsvault.backup;

import java.time.Instant;
import java.time.ZoneId;
import java.time.ZonedDateTime;
import java.time.temporal.IsoFields;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Which complete sets to keep, as restic's {@code forget} does: the newest {@code keepLast},
 * plus the newest set of each of the last {@code keepDaily} days, {@code keepWeekly} ISO weeks
 * and {@code keepMonthly} months that have one (by point in time, in the given zone). A set kept
 * by any rule stays. The newest complete set is always kept, whatever the counts.
 */
public record Retention(int keepLast, int keepDaily, int keepWeekly, int keepMonthly, ZoneId zone) {

    private static final Logger log = LoggerFactory.getLogger(Retention.class);

    public Retention {
        if (keepLast < 1 || keepDaily < 0 || keepWeekly < 0 || keepMonthly < 0) {
            throw new IllegalArgumentException("retention keeps at least the last set, and no negative counts");
        }
    }

    /** One set as retention sees it. */
    public record Candidate(String id, Instant pointInTime) {
    }

    /** The ids to keep among these complete sets. */
    public Set<String> keep(List<Candidate> sets) {
        List<Candidate> newestFirst = new ArrayList<>(sets);
        newestFirst.sort(Comparator.comparing(Candidate::pointInTime).thenComparing(Candidate::id).reversed());
        Set<String> keep = new LinkedHashSet<>();
        for (int i = 0; i < Math.min(keepLast, newestFirst.size()); i++) {
            keep.add(newestFirst.get(i).id());
        }
        keepNewestPer(newestFirst, keepDaily, t -> t.toLocalDate(), keep);
        keepNewestPer(newestFirst, keepWeekly, t -> t.get(IsoFields.WEEK_BASED_YEAR) * 100 + t.get(IsoFields.WEEK_OF_WEEK_BASED_YEAR), keep);
        keepNewestPer(newestFirst, keepMonthly, t -> t.getYear() * 100 + t.getMonthValue(), keep);
        return keep;
    }

    private void keepNewestPer(List<Candidate> newestFirst, int count, Function<ZonedDateTime, Object> period, Set<String> keep) {
        Set<Object> seen = new HashSet<>();
        for (Candidate c : newestFirst) {
            if (seen.size() >= count) {
                return;
            }
            if (seen.add(period.apply(c.pointInTime().atZone(zone)))) {
                keep.add(c.id());
            }
        }
    }

    /** What one application removed. */
    public record Outcome(List<String> deletedSets, long deletedObjects) {
    }

    /**
     * Deletes the complete sets this policy does not keep, then the objects no remaining set
     * references. Runs under the backup lock: no set is being written meanwhile.
     */
    public Outcome apply(BackupTarget target) {
        List<BackupTarget.SetInfo> complete = target.sets().stream().filter(BackupTarget.SetInfo::complete).toList();
        Set<String> keep = keep(complete.stream().map(s -> new Candidate(s.id(), s.manifest().pointInTime())).toList());
        List<String> deleted = new ArrayList<>();
        for (BackupTarget.SetInfo set : complete) {
            if (!keep.contains(set.id())) {
                target.deleteSet(set.id());
                deleted.add(set.id());
            }
        }
        if (deleted.isEmpty()) {
            return new Outcome(deleted, 0);
        }
        Set<String> referenced = new HashSet<>();
        for (String id : keep) {
            SetReader.unverified(target, id).objects().forEach(e -> referenced.add(e.key()));
        }
        long objects = 0;
        for (String key : target.presentObjects().keySet()) {
            if (!referenced.contains(key)) {
                target.deleteObject(key);
                objects++;
            }
        }
        log.info("retention: deleted {} set(s) {} and {} object(s) no kept set references; {} set(s) kept",
                deleted.size(), deleted, objects, keep.size());
        return new Outcome(deleted, objects);
    }
}
