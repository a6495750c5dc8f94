package fr.hdsvault.api.resources;

import java.time.Instant;
import java.util.List;
import java.util.function.Predicate;
import org.hl7.fhir.instance.model.api.IBaseResource;

/**
 * What a search asks of the index, clause by clause; every clause must hold (AND), the values
 * inside one clause are alternatives (OR), as FHIR reads repeated parameters and commas.
 *
 * @param newestFirst order by lastUpdated descending (else ascending), then by id
 */
public record SearchCriteria(List<Clause> clauses, boolean newestFirst) {

    public SearchCriteria {
        clauses = List.copyOf(clauses);
    }

    public static final SearchCriteria EVERYTHING = new SearchCriteria(List.of(), false);

    public sealed interface Clause permits Ids, Updated, Tokens, Missing, Checked {
    }

    /** The checks on decrypted resources that the index alone cannot decide (see {@link Checked}). */
    public List<Predicate<IBaseResource>> checks() {
        return clauses.stream().filter(Checked.class::isInstance).map(c -> ((Checked) c).check()).toList();
    }

    /** Whether a clause can hold for no resource: one of no value. */
    static boolean matchesNothing(Clause clause) {
        return clause instanceof Tokens t && !t.negated() && t.anyOf().isEmpty()
                || clause instanceof Ids ids && !ids.negated() && ids.anyOf().isEmpty()
                || clause instanceof Checked c && c.candidates() != null && matchesNothing(c.candidates());
    }

    /** {@code _id}: the resource id is one of these, or with {@code negated} none of them. */
    public record Ids(List<String> anyOf, boolean negated) implements Clause {
    }

    /** {@code _lastUpdated}: within one of these ranges. */
    public record Updated(List<Range> anyOf) implements Clause {
    }

    /** A token or reference parameter: one of these blind tokens, or with {@code negated} none of them. */
    public record Tokens(String param, List<String> anyOf, boolean negated) implements Clause {
    }

    /** {@code param:missing}: the resource has no value (true) or some value (false) for the parameter. */
    public record Missing(String param, boolean missing) implements Clause {
    }

    /**
     * A string or date parameter: the index selects {@code candidates} (every resource when null),
     * then {@code check}, on the decrypted resource, decides. A superset is all a blind index can
     * give for a long prefix or a date range; the check makes the answer exact. A candidate holding
     * one of the {@code decisive} tokens (none when null) matches for sure, and is not decrypted.
     */
    public record Checked(String param, Tokens candidates, Tokens decisive, Predicate<IBaseResource> check) implements Clause {
    }

    /**
     * A range of instants [from, to), either end open when null; with {@code outside}, the
     * instants not in it (the {@code ne} prefix).
     */
    public record Range(Instant from, Instant to, boolean outside) {
    }
}
