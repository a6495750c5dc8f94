package fr.hdsvault.backup;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Retention over a fixed calendar: which sets each rule keeps, and that the newest set always stays. */
class RetentionTest {

    static final Instant START = Instant.parse("2026-01-01T02:00:00Z");

    /** One set every 6 hours for 90 days. */
    static List<Retention.Candidate> sets() {
        List<Retention.Candidate> out = new ArrayList<>();
        for (int i = 0; i < 90 * 4; i++) {
            out.add(new Retention.Candidate(String.format("set-%04d", i), START.plus(Duration.ofHours(6L * i))));
        }
        return out;
    }

    @Test
    void keepsTheLastNAndTheNewestOfEachDayWeekAndMonth() {
        Set<String> keep = new Retention(3, 7, 4, 3, ZoneOffset.UTC).keep(sets());
        // last 3: sets 359, 358, 357; daily 7: newest of each of the last 7 days (359, 355, ..., 335);
        // weekly 4 and monthly 3 add the newest set of earlier weeks and months.
        assertThat(keep).contains("set-0359", "set-0358", "set-0357", "set-0355", "set-0335");
        assertThat(keep).doesNotContain("set-0356", "set-0331");
        // The newest set of January (31 Jan 20:00) is kept by the monthly rule: 2026-01-31T20:00 is index 30*4+3 = 123.
        assertThat(keep).contains("set-0123");
        assertThat(keep.size()).isLessThanOrEqualTo(3 + 7 + 4 + 3);
        assertThat(keep.size()).isGreaterThanOrEqualTo(10);
    }

    @Test
    void theNewestSetIsAlwaysKept() {
        Set<String> keep = new Retention(1, 0, 0, 0, ZoneOffset.UTC).keep(sets());
        assertThat(keep).containsExactly("set-0359");
        assertThatThrownBy(() -> new Retention(0, 7, 4, 12, ZoneOffset.UTC)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void nothingToKeepFromNothing() {
        assertThat(new Retention(7, 7, 5, 12, ZoneOffset.UTC).keep(List.of())).isEmpty();
    }
}
