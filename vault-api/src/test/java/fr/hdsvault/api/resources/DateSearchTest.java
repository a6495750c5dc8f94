package fr.hdsvault.api.resources;

import static org.assertj.core.api.Assertions.assertThat;

import ca.uhn.fhir.rest.param.DateParam;
import ca.uhn.fhir.rest.param.ParamPrefixEnum;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.HashSet;
import java.util.Random;
import java.util.Set;
import org.hl7.fhir.r4.model.DateTimeType;
import org.hl7.fhir.r4.model.DateType;
import org.hl7.fhir.r4.model.Period;
import org.junit.jupiter.api.Test;

/**
 * The date index may only narrow, and decide only what matches: for every prefix, every span that the check accepts shares a
 * bucket with the query's cover, or the index would hide a match. Checked on random spans (dates
 * at every precision, instants, periods, open ends, dates outside 1800-2100) and random queries.
 */
class DateSearchTest {

    private final Random random = new Random(20261204);
    private final Instant now = Instant.parse("2026-12-04T10:00:00Z");

    @Test
    void everyMatchIsAmongTheCandidatesAndEveryDecidedCandidateMatches() {
        int matched = 0;
        int excluded = 0;
        int decided = 0;
        for (int q = 0; q < 400; q++) {
            ParamPrefixEnum prefix = ParamPrefixEnum.values()[random.nextInt(ParamPrefixEnum.values().length)];
            DateSearch.Query query = DateSearch.Query.of(new DateParam(prefix, randomDate().getValueAsString()), now);
            Set<String> cover = query.buckets();
            Set<String> decisive = query.decisive();
            for (int t = 0; t < 200; t++) {
                DateSearch.Span span = randomSpan();
                Set<String> within = new HashSet<>(DateSearch.buckets(span));
                within.retainAll(decisive);
                if (!query.matches(span)) {
                    assertThat(within).as("decided without a match: %s %s against [%s, %s)", prefix, query.span(), span.low(),
                            span.high()).isEmpty();
                    continue;
                }
                decided += within.isEmpty() ? 0 : 1;
                matched++;
                if (cover == null) {
                    continue;
                }
                Set<String> shared = new HashSet<>(DateSearch.buckets(span));
                shared.retainAll(cover);
                assertThat(shared).as("%s %s against [%s, %s)", prefix, query.span(), span.low(), span.high()).isNotEmpty();
            }
            if (cover != null) {
                excluded += cover.size() < 400 ? 1 : 0;
            }
        }
        assertThat(matched).isGreaterThan(10_000);
        assertThat(decided).as("matches decided by the index alone").isGreaterThan(matched / 4);
        assertThat(excluded).isGreaterThan(100); // the cover is a narrowing, not everything
    }

    @Test
    void prefixesCompareSpansAsFhirDefines() {
        DateSearch.Span march1962 = DateSearch.span(new DateType("1962-03"));
        assertThat(query(ParamPrefixEnum.EQUAL, "1962").matches(march1962)).isTrue();
        assertThat(query(ParamPrefixEnum.EQUAL, "1962-03-10").matches(march1962)).isFalse();
        assertThat(query(ParamPrefixEnum.GREATERTHAN_OR_EQUALS, "1962-03-10").matches(march1962)).isTrue();
        assertThat(query(ParamPrefixEnum.GREATERTHAN, "1962-03").matches(march1962)).isFalse();
        assertThat(query(ParamPrefixEnum.STARTS_AFTER, "1962-02").matches(march1962)).isTrue();
        assertThat(query(ParamPrefixEnum.ENDS_BEFORE, "1962-04-01").matches(march1962)).isTrue();
        assertThat(query(ParamPrefixEnum.ENDS_BEFORE, "1962-03-31").matches(march1962)).isFalse();
        assertThat(query(ParamPrefixEnum.NOT_EQUAL, "1962").matches(march1962)).isFalse();
        Period open = new Period().setStartElement(new DateTimeType("2026-11-30T08:00:00Z"));
        assertThat(query(ParamPrefixEnum.GREATERTHAN, "2100").matches(DateSearch.span(open))).isTrue();
        assertThat(query(ParamPrefixEnum.EQUAL, "2026").matches(DateSearch.span(open))).isFalse();
        assertThat(DateSearch.buckets(DateSearch.span(open))).containsExactly("open");
        assertThat(DateSearch.buckets(march1962)).containsExactly("1962", "1962-03", "in:1962", "in:1962-03");
        assertThat(query(ParamPrefixEnum.GREATERTHAN_OR_EQUALS, "1962-03-10").decisive()).contains("in:1962-04", "in:1963")
                .doesNotContain("in:1962-03", "in:1962");
        assertThat(query(ParamPrefixEnum.NOT_EQUAL, "1962").decisive()).isEmpty();
    }

    private DateSearch.Query query(ParamPrefixEnum prefix, String value) {
        return DateSearch.Query.of(new DateParam(prefix, value), now);
    }

    private DateTimeType randomDate() {
        int year = 1750 + random.nextInt(400);
        LocalDate day = LocalDate.of(year, 1, 1).plusDays(random.nextInt(365));
        return switch (random.nextInt(4)) {
            case 0 -> new DateTimeType(String.valueOf(year));
            case 1 -> new DateTimeType(day.toString().substring(0, 7));
            case 2 -> new DateTimeType(day.toString());
            default -> new DateTimeType(day.atStartOfDay(ZoneOffset.UTC).plusSeconds(random.nextInt(86_400)).toInstant().toString());
        };
    }

    private DateSearch.Span randomSpan() {
        DateSearch.Span a = DateSearch.of(randomDate());
        if (random.nextInt(3) > 0) {
            return a;
        }
        DateSearch.Span b = DateSearch.of(randomDate());
        DateSearch.Span first = a.low().isBefore(b.low()) ? a : b;
        DateSearch.Span last = first == a ? b : a;
        return switch (random.nextInt(4)) {
            case 0 -> new DateSearch.Span(first.low(), null);
            case 1 -> new DateSearch.Span(null, last.high());
            default -> new DateSearch.Span(first.low(), last.high().isAfter(first.high()) ? last.high() : first.high());
        };
    }
}
