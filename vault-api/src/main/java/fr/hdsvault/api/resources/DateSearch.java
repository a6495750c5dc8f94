package fr.hdsvault.api.resources;

import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.model.api.TemporalPrecisionEnum;
import ca.uhn.fhir.rest.param.DateParam;
import ca.uhn.fhir.rest.param.ParamPrefixEnum;
import ca.uhn.fhir.rest.server.exceptions.InvalidRequestException;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.YearMonth;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Predicate;
import org.hl7.fhir.instance.model.api.IBase;
import org.hl7.fhir.instance.model.api.IBaseResource;
import org.hl7.fhir.r4.model.BaseDateTimeType;
import org.hl7.fhir.r4.model.DateTimeType;
import org.hl7.fhir.r4.model.Period;

/**
 * Date search (birthdate, date, onset-date...) over blind tokens. Every value, a date at any
 * precision or a period, is the span of instants [low, high) it stands for (an open end is null);
 * a date without a time zone is read in UTC. FHIR's prefixes compare the search value's span S
 * with the resource's span T:
 * <pre>
 * eq  S contains T            ne  not eq
 * gt  T ends after S          lt  T starts before S
 * ge  gt or eq                le  lt or eq
 * sa  T starts after S ends   eb  T ends before S starts
 * ap  T overlaps S widened by a tenth of the time between S and now (a day at least)
 * </pre>
 * The index holds, per value, tokens of the years and months its span touches (UTC); a span
 * open at one end, or beyond 1800–2100, gets the one token "open". A query asks for the tokens
 * that cover where a match must lie, whole years as year tokens and the rest as months, and the
 * decrypted resource decides. What the tokens reveal is in docs/search-leakage.md.
 */
public final class DateSearch {

    /** Changes when the tokens change meaning; part of the parameter's definition, so a change reindexes. */
    static final String SCHEME = "date-year-month-within-v2";
    private static final Instant FIRST = LocalDate.of(1800, 1, 1).atStartOfDay(ZoneOffset.UTC).toInstant();
    private static final Instant LAST = LocalDate.of(2100, 1, 1).atStartOfDay(ZoneOffset.UTC).toInstant();
    static final String OPEN = "open";
    /** Marks the year or month a span lies wholly within: a match for sure of any query whose range holds that bucket. */
    static final String WITHIN = "in:";

    private DateSearch() {
    }

    /** A span of instants [low, high); null for an open end. */
    record Span(Instant low, Instant high) {
    }

    /** The spans of a resource's values at a parameter's paths. */
    static List<Span> spans(FhirContext fhir, IBaseResource resource, List<String> paths) {
        List<Span> out = new ArrayList<>();
        for (String path : paths) {
            for (IBase value : fhir.newTerser().getValues(resource, path)) {
                Span span = span(value);
                if (span != null) {
                    out.add(span);
                }
            }
        }
        return out;
    }

    static Span span(IBase value) {
        if (value instanceof BaseDateTimeType date && date.getValue() != null) {
            return of(date);
        }
        if (value instanceof Period period && (period.hasStart() || period.hasEnd())) {
            return new Span(period.hasStart() ? of(period.getStartElement()).low() : null,
                    period.hasEnd() ? of(period.getEndElement()).high() : null);
        }
        return null; // Timing, Age, Range, string: not dates the vault compares
    }

    /** The span of a date at its precision: 2026 is the year, 2026-12-04 the day (UTC without a zone), an instant its unit. */
    static Span of(BaseDateTimeType date) {
        String text = date.getValueAsString();
        TemporalPrecisionEnum precision = date.getPrecision();
        return switch (precision) {
            case YEAR -> {
                LocalDate start = LocalDate.of(Integer.parseInt(text.substring(0, 4)), 1, 1);
                yield new Span(utc(start), utc(start.plusYears(1)));
            }
            case MONTH -> {
                LocalDate start = YearMonth.parse(text.substring(0, 7)).atDay(1);
                yield new Span(utc(start), utc(start.plusMonths(1)));
            }
            case DAY -> {
                LocalDate start = LocalDate.parse(text.substring(0, 10));
                yield new Span(utc(start), utc(start.plusDays(1)));
            }
            default -> {
                Instant low = date.getValue().toInstant();
                yield new Span(low, precision.add(date.getValue(), 1).toInstant());
            }
        };
    }

    /** The bucket tokens' values for one stored span: the years and months it touches, or "open". */
    static Set<String> buckets(Span span) {
        Set<String> out = new LinkedHashSet<>();
        if (span.low() == null || span.high() == null || span.low().isBefore(FIRST) || span.high().isAfter(LAST)) {
            out.add(OPEN);
            return out;
        }
        YearMonth first = month(span.low());
        YearMonth last = month(span.high().minusNanos(1));
        for (YearMonth m = first; !m.isAfter(last); m = m.plusMonths(1)) {
            out.add(String.valueOf(m.getYear()));
            out.add(m.toString());
        }
        if (first.getYear() == last.getYear()) {
            out.add(WITHIN + first.getYear());
        }
        if (first.equals(last)) {
            out.add(WITHIN + first);
        }
        return out;
    }

    /** One query value: its prefix and its span. */
    record Query(ParamPrefixEnum prefix, Span span, Instant now) {

        static Query of(DateParam param, Instant now) {
            if (param.getValueAsString() == null || param.getValueAsString().isBlank()) {
                throw new InvalidRequestException("A date parameter needs a value");
            }
            DateTimeType value;
            try {
                value = new DateTimeType(param.getValueAsString());
            } catch (RuntimeException e) {
                throw new InvalidRequestException("A date parameter's value is not a FHIR date or dateTime");
            }
            return new Query(param.getPrefix() == null ? ParamPrefixEnum.EQUAL : param.getPrefix(), DateSearch.of(value), now);
        }

        /** Where a matching span must lie, [low, high) with null for open; null when it may lie anywhere (ne). */
        Span region() {
            Instant low = span.low();
            Instant high = span.high();
            return switch (prefix) {
                case EQUAL -> span;
                case NOT_EQUAL -> null;
                case GREATERTHAN, STARTS_AFTER -> new Span(high, null);
                case GREATERTHAN_OR_EQUALS -> new Span(low, null);
                case LESSTHAN, ENDS_BEFORE -> new Span(null, low);
                case LESSTHAN_OR_EQUALS -> new Span(null, high);
                case APPROXIMATE -> widened();
            };
        }

        private Span widened() {
            Duration gap = Duration.between(span.low(), now).abs().dividedBy(10);
            Duration margin = gap.compareTo(Duration.ofDays(1)) < 0 ? Duration.ofDays(1) : gap;
            return new Span(span.low().minus(margin), span.high().plus(margin));
        }

        boolean matches(Span t) {
            Instant sLo = span.low();
            Instant sHi = span.high();
            boolean eq = t.low() != null && !t.low().isBefore(sLo) && t.high() != null && !t.high().isAfter(sHi);
            boolean gt = t.high() == null || t.high().isAfter(sHi);
            boolean lt = t.low() == null || t.low().isBefore(sLo);
            return switch (prefix) {
                case EQUAL -> eq;
                case NOT_EQUAL -> !eq;
                case GREATERTHAN -> gt;
                case LESSTHAN -> lt;
                case GREATERTHAN_OR_EQUALS -> gt || eq;
                case LESSTHAN_OR_EQUALS -> lt || eq;
                case STARTS_AFTER -> t.low() != null && !t.low().isBefore(sHi);
                case ENDS_BEFORE -> t.high() != null && !t.high().isAfter(sLo);
                case APPROXIMATE -> {
                    Span w = widened();
                    yield (t.high() == null || t.high().isAfter(w.low())) && (t.low() == null || t.low().isBefore(w.high()));
                }
            };
        }

        /**
         * The "within" bucket values of the years and months wholly inside where a match must lie: a
         * span within one of them lies inside that region, and for every prefix such a span matches
         * (eq: contained; ge, gt, sa: starts at or after; le, lt, eb: ends at or before; ap: overlaps).
         * Empty for ne, whose region is everywhere.
         */
        Set<String> decisive() {
            Span region = region();
            Set<String> out = new LinkedHashSet<>();
            if (region == null) {
                return out;
            }
            Instant low = region.low() == null || region.low().isBefore(FIRST) ? FIRST : region.low();
            Instant high = region.high() == null || region.high().isAfter(LAST) ? LAST : region.high();
            if (!low.isBefore(high)) {
                return out;
            }
            YearMonth first = month(low);
            YearMonth last = month(high.minusNanos(1));
            for (YearMonth m = first; !m.isAfter(last); m = m.plusMonths(1)) {
                Instant start = utc(m.atDay(1));
                boolean yearInside = !utc(LocalDate.of(m.getYear(), 1, 1)).isBefore(low)
                        && !utc(LocalDate.of(m.getYear() + 1, 1, 1)).isAfter(high);
                if (yearInside) {
                    out.add(WITHIN + m.getYear());
                    m = YearMonth.of(m.getYear(), 12);
                } else if (!start.isBefore(low) && !utc(m.plusMonths(1).atDay(1)).isAfter(high)) {
                    out.add(WITHIN + m);
                }
            }
            return out;
        }

        /** The bucket values whose tokens hold every match: whole years, the months of partial years, and "open". Null for all. */
        Set<String> buckets() {
            Span region = region();
            if (region == null) {
                return null;
            }
            Set<String> out = new LinkedHashSet<>();
            out.add(OPEN);
            Instant low = region.low() == null || region.low().isBefore(FIRST) ? FIRST : region.low();
            Instant high = region.high() == null || region.high().isAfter(LAST) ? LAST : region.high();
            if (!low.isBefore(high)) {
                return out;
            }
            YearMonth first = month(low);
            YearMonth last = month(high.minusNanos(1));
            for (int year = first.getYear(); year <= last.getYear(); year++) {
                Instant yearStart = utc(LocalDate.of(year, 1, 1));
                if (!yearStart.isBefore(low) && !utc(LocalDate.of(year + 1, 1, 1)).isAfter(high)) {
                    out.add(String.valueOf(year));
                    continue;
                }
                YearMonth from = year == first.getYear() ? first : YearMonth.of(year, 1);
                YearMonth to = year == last.getYear() ? last : YearMonth.of(year, 12);
                for (YearMonth m = from; !m.isAfter(to); m = m.plusMonths(1)) {
                    out.add(m.toString());
                }
            }
            return out;
        }
    }

    /** Whether a resource holds, at {@code paths}, a date that one of {@code anyOf} matches. */
    static Predicate<IBaseResource> check(FhirContext fhir, List<String> paths, List<Query> anyOf) {
        return resource -> spans(fhir, resource, paths).stream().anyMatch(t -> anyOf.stream().anyMatch(q -> q.matches(t)));
    }

    private static YearMonth month(Instant instant) {
        return YearMonth.from(instant.atZone(ZoneOffset.UTC));
    }

    private static Instant utc(LocalDate date) {
        return date.atStartOfDay(ZoneOffset.UTC).toInstant();
    }
}
