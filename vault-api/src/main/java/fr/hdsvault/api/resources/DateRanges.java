package fr.hdsvault.api.resources;

import ca.uhn.fhir.rest.param.DateParam;
import ca.uhn.fhir.rest.param.ParamPrefixEnum;
import ca.uhn.fhir.rest.server.exceptions.InvalidRequestException;
import java.time.Instant;

/**
 * A date search value as the range of instants it matches. A value stands for the whole period
 * of its precision ({@code 2026-12} is December), [start, end); an instant (lastUpdated) matches:
 * <pre>
 * eq  start <= t < end        ne  t < start or t >= end
 * gt  t >= end                sa  t >= end (a point starts after the period)
 * ge  t >= start              le  t < end
 * lt  t < start               eb  t < start (a point ends before the period)
 * </pre>
 * {@code ap} (approximately) is refused: its tolerance is the server's to choose, and the vault
 * does not pretend to one.
 */
public final class DateRanges {

    private DateRanges() {
    }

    public static SearchCriteria.Range of(DateParam param) {
        if (param.getValue() == null) {
            throw new InvalidRequestException("A date parameter needs a value");
        }
        Instant start = param.getValue().toInstant();
        Instant end = param.getPrecision().add(param.getValue(), 1).toInstant();
        ParamPrefixEnum prefix = param.getPrefix() == null ? ParamPrefixEnum.EQUAL : param.getPrefix();
        return switch (prefix) {
            case EQUAL -> new SearchCriteria.Range(start, end, false);
            case NOT_EQUAL -> new SearchCriteria.Range(start, end, true);
            case GREATERTHAN, STARTS_AFTER -> new SearchCriteria.Range(end, null, false);
            case GREATERTHAN_OR_EQUALS -> new SearchCriteria.Range(start, null, false);
            case LESSTHAN, ENDS_BEFORE -> new SearchCriteria.Range(null, start, false);
            case LESSTHAN_OR_EQUALS -> new SearchCriteria.Range(null, end, false);
            case APPROXIMATE -> throw new InvalidRequestException("The date prefix ap (approximately) is not supported");
        };
    }
}
