package fr.hdsvault.api.detection;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.time.LocalTime;
import java.time.ZoneId;
import org.junit.jupiter.api.Test;

/** The off-hours shifts: a night across midnight, a weekend day, working hours, in Paris time (summer and winter). */
class OffHoursTest {

    static final DetectionProperties.OffHours PARIS = new DetectionProperties.OffHours(40, LocalTime.of(20, 0), LocalTime.of(7, 0), true,
            ZoneId.of("Europe/Paris"));

    static Instant paris(String local) {
        return java.time.LocalDateTime.parse(local).atZone(ZoneId.of("Europe/Paris")).toInstant();
    }

    @Test
    void aNightShiftStartsAtTheEveningBeforeEvenAfterMidnight() {
        assertThat(PARIS.shiftStart(paris("2026-12-02T22:30"))).isEqualTo(paris("2026-12-02T20:00")); // Wednesday evening
        assertThat(PARIS.shiftStart(paris("2026-12-03T03:10"))).isEqualTo(paris("2026-12-02T20:00")); // after midnight
        assertThat(PARIS.shiftStart(paris("2026-07-01T06:59"))).isEqualTo(paris("2026-06-30T20:00")); // summer time
    }

    @Test
    void workingHoursAreNoShiftAndWeekendDaysAre() {
        assertThat(PARIS.shiftStart(paris("2026-12-03T07:00"))).isNull();
        assertThat(PARIS.shiftStart(paris("2026-12-03T19:59"))).isNull();
        assertThat(PARIS.shiftStart(paris("2026-12-05T11:00"))).isEqualTo(paris("2026-12-05T07:00")); // Saturday
        assertThat(PARIS.shiftStart(paris("2026-12-06T21:00"))).isEqualTo(paris("2026-12-06T20:00")); // Sunday night
        var weekdaysOnly = new DetectionProperties.OffHours(40, LocalTime.of(20, 0), LocalTime.of(7, 0), false, ZoneId.of("Europe/Paris"));
        assertThat(weekdaysOnly.shiftStart(paris("2026-12-05T11:00"))).isNull();
    }
}
