package fr.hdsvault.api.resources;

import ca.uhn.fhir.context.FhirContext;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.function.Predicate;
import org.hl7.fhir.instance.model.api.IBaseResource;
import org.hl7.fhir.r4.model.OperationOutcome;

/**
 * The step of a search that blind tokens cannot take: the candidates the index selected are
 * decrypted, as reads would, kept when they pass every check (a long string prefix, a date
 * range) and ordered by a date parameter when {@code _sort} asks for one. The index holds no
 * order of dates (docs/search-leakage.md), so a sort by date is done here, on the whole match
 * list before paging. A damaged record stays, for its page to show it as damaged.
 */
final class DecryptedRefinement {

    private static final int CHUNK = 64;

    /** A sort by a date parameter: ascending by each resource's earliest date, descending by its latest; none last. */
    record DateOrder(FhirContext fhir, List<String> paths, boolean descending) {

        Instant key(IBaseResource resource) {
            List<DateSearch.Span> spans = DateSearch.spans(fhir, resource, paths);
            Instant best = null;
            for (DateSearch.Span span : spans) {
                Instant candidate = descending ? (span.high() == null ? Instant.MAX : span.high())
                        : (span.low() == null ? Instant.MIN : span.low());
                if (best == null || (descending ? candidate.isAfter(best) : candidate.isBefore(best))) {
                    best = candidate;
                }
            }
            return best;
        }
    }

    private DecryptedRefinement() {
    }

    static List<VersionRef> refine(VaultRepository repository, ExecutorService loaders, List<ResourceSearch.Candidate> candidates,
                                   List<Predicate<IBaseResource>> checks, DateOrder order) {
        record Kept(int position, VersionRef ref, Instant key) {
        }
        List<Kept> kept = new ArrayList<>();
        // Only what the index could not decide is decrypted, unless the order needs every resource's dates.
        List<Integer> toLoad = new ArrayList<>();
        for (int i = 0; i < candidates.size(); i++) {
            if (order == null && candidates.get(i).decided()) {
                kept.add(new Kept(i, candidates.get(i).ref(), null));
            } else {
                toLoad.add(i);
            }
        }
        for (int from = 0; from < toLoad.size(); from += CHUNK) {
            List<Integer> positions = toLoad.subList(from, Math.min(toLoad.size(), from + CHUNK));
            List<IBaseResource> loaded = repository.load(positions.stream().map(i -> candidates.get(i).ref()).toList(), loaders);
            for (int i = 0; i < positions.size(); i++) {
                IBaseResource resource = loaded.get(i);
                ResourceSearch.Candidate candidate = candidates.get(positions.get(i));
                boolean damaged = resource instanceof OperationOutcome;
                if (damaged || candidate.decided() || checks.stream().allMatch(c -> c.test(resource))) {
                    kept.add(new Kept(positions.get(i), candidate.ref(), damaged || order == null ? null : order.key(resource)));
                }
            }
        }
        kept.sort(Comparator.comparingInt(Kept::position)); // the index's order
        if (order != null) {
            Comparator<Instant> byDate = order.descending() ? Comparator.reverseOrder() : Comparator.naturalOrder();
            kept.sort(Comparator.comparing(Kept::key, Comparator.nullsLast(byDate))); // stable: ties keep the index's order
        }
        return kept.stream().map(Kept::ref).toList();
    }
}
