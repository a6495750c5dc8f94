package fr.hdsvault.api.resources;

import ca.uhn.fhir.context.FhirContext;
import fr.hdsvault.api.security.AccessPolicy;
import fr.hdsvault.api.security.Permission;
import fr.hdsvault.api.security.Visibility;
import ca.uhn.fhir.rest.server.exceptions.BaseServerResponseException;
import ca.uhn.fhir.rest.server.exceptions.InvalidRequestException;
import ca.uhn.fhir.rest.server.exceptions.PreconditionFailedException;
import ca.uhn.fhir.util.FhirTerser;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import org.hl7.fhir.r4.model.Bundle;
import org.hl7.fhir.r4.model.IdType;
import org.hl7.fhir.r4.model.OperationOutcome;
import org.hl7.fhir.r4.model.Reference;
import org.hl7.fhir.r4.model.Resource;

/**
 * Transaction and batch bundles posted to the base URL.
 *
 * <p>A transaction is all-or-nothing: every entry is checked, ids are assigned, references to
 * the bundle's own {@code fullUrl}s (such as {@code urn:uuid:}) are rewritten to the assigned
 * ids, conditional references ({@code Patient?identifier=system|value}) are resolved by a search
 * among what the caller may see (exactly one match, else 412), then all envelopes are sealed and
 * stored in parallel, and only then are all entries indexed in one database transaction. A
 * failure before that commit leaves nothing visible. Two entries with the same {@code fullUrl}
 * are a 400. A batch runs each entry on its own and reports each entry's outcome.
 */
public final class BundleProcessor {

    private final FhirContext fhir;
    private final VaultRepository repository;
    private final ResourceSearch search;
    private final ExecutorService writers;
    private final AccessPolicy access;

    public BundleProcessor(FhirContext fhir, VaultRepository repository, ResourceSearch search, ExecutorService writers,
                           AccessPolicy access) {
        this.fhir = fhir;
        this.repository = repository;
        this.search = search;
        this.writers = writers;
        this.access = access;
    }

    /** The response bundle, and the writes it made (with their assigned ids and compartments), for the audit trail. */
    public record Processed(Bundle response, List<VaultRepository.Prepared> written) {
    }

    /** One entry, checked, with what the caller may touch for it. */
    private record Planned(Bundle.BundleEntryComponent entry, Bundle.HTTPVerb method, String type, String id,
                           Visibility visibility) {
    }

    public Processed process(Bundle bundle) {
        if (bundle.getType() == Bundle.BundleType.TRANSACTION) {
            return transaction(bundle);
        }
        if (bundle.getType() == Bundle.BundleType.BATCH) {
            return batch(bundle);
        }
        throw new InvalidRequestException("Only transaction and batch bundles can be posted to the base URL, not "
                + (bundle.getType() == null ? "a bundle without type" : bundle.getType().toCode()));
    }

    private Processed transaction(Bundle bundle) {
        List<Planned> plan = new ArrayList<>();
        Map<String, String> assigned = new HashMap<>();
        Set<String> touched = new HashSet<>();
        Set<String> fullUrls = new HashSet<>();
        int index = 0;
        for (Bundle.BundleEntryComponent entry : bundle.getEntry()) {
            if (entry.hasFullUrl() && !fullUrls.add(entry.getFullUrl())) {
                throw new InvalidRequestException("Transaction entry " + index + " has the same fullUrl as an earlier entry: "
                        + "each entry's fullUrl must be unique");
            }
            Planned p = plan(entry, index++);
            if (!touched.add(p.type() + "/" + p.id())) {
                throw new InvalidRequestException("Transaction entry " + (index - 1) + ": " + p.type() + "/" + p.id()
                        + " appears twice in the transaction");
            }
            if (p.method() != Bundle.HTTPVerb.DELETE && entry.hasFullUrl()) {
                assigned.put(entry.getFullUrl(), p.type() + "/" + p.id());
            }
            plan.add(p);
        }
        rewriteReferences(plan, assigned);
        List<VaultRepository.Prepared> prepared = prepareAll(plan);
        repository.commit(prepared);

        Bundle response = new Bundle().setType(Bundle.BundleType.TRANSACTIONRESPONSE);
        for (VaultRepository.Prepared w : prepared) {
            response.addEntry().setResponse(responseFor(w, w.previous() == null && !w.deleted()));
        }
        return new Processed(response, prepared);
    }

    private Processed batch(Bundle bundle) {
        Bundle response = new Bundle().setType(Bundle.BundleType.BATCHRESPONSE);
        List<VaultRepository.Prepared> written = new ArrayList<>();
        int index = 0;
        for (Bundle.BundleEntryComponent entry : bundle.getEntry()) {
            Bundle.BundleEntryResponseComponent result;
            try {
                Planned p = plan(entry, index);
                rewriteReferences(List.of(p), Map.of());
                VaultRepository.Prepared w = prepareAll(List.of(p)).get(0);
                repository.commit(List.of(w));
                written.add(w);
                result = responseFor(w, w.previous() == null && !w.deleted());
            } catch (BaseServerResponseException e) {
                OperationOutcome outcome = new OperationOutcome();
                outcome.addIssue().setSeverity(OperationOutcome.IssueSeverity.ERROR)
                        .setCode(OperationOutcome.IssueType.PROCESSING).setDiagnostics(e.getMessage());
                result = new Bundle.BundleEntryResponseComponent().setStatus(String.valueOf(e.getStatusCode()))
                        .setOutcome(outcome);
            }
            response.addEntry().setResponse(result);
            index++;
        }
        return new Processed(response, written);
    }

    /** Checks one entry and decides its target; assigns a new id to a create. */
    private Planned plan(Bundle.BundleEntryComponent entry, int index) {
        String where = "Bundle entry " + index;
        if (!entry.hasRequest() || entry.getRequest().getMethod() == null) {
            throw new InvalidRequestException(where + " has no request method");
        }
        Bundle.HTTPVerb method = entry.getRequest().getMethod();
        if (entry.getRequest().hasIfNoneExist() || entry.getRequest().hasIfMatch() || entry.getRequest().getUrl().contains("?")) {
            throw new InvalidRequestException(where + ": conditional requests in bundles are not supported");
        }
        String[] url = entry.getRequest().getUrl().split("/");
        String type = url[0];
        if (fhir.getResourceTypes().stream().noneMatch(type::equals)) {
            throw new InvalidRequestException(where + ": unknown resource type in request URL");
        }
        return switch (method) {
            case POST -> {
                requireResource(entry, type, where);
                if (url.length != 1) {
                    throw new InvalidRequestException(where + ": a create is posted to the type, e.g. \"Patient\"");
                }
                yield new Planned(entry, method, type, UUID.randomUUID().toString(), access.visibility(type, Permission.CREATE));
            }
            case PUT -> {
                requireResource(entry, type, where);
                if (url.length != 2) {
                    throw new InvalidRequestException(where + ": an update is put to \"Type/id\"");
                }
                String bodyId = entry.getResource().getIdElement().getIdPart();
                if (bodyId != null && !bodyId.equals(url[1])) {
                    throw new InvalidRequestException(where + ": the resource's id differs from the id in the request URL");
                }
                yield new Planned(entry, method, type, url[1], access.visibility(type, Permission.UPDATE));
            }
            case DELETE -> {
                if (url.length != 2) {
                    throw new InvalidRequestException(where + ": a delete targets \"Type/id\"");
                }
                yield new Planned(entry, method, type, url[1], access.visibility(type, Permission.DELETE));
            }
            default -> throw new InvalidRequestException(where + ": " + method.toCode() + " is not supported in bundles");
        };
    }

    private void requireResource(Bundle.BundleEntryComponent entry, String type, String where) {
        if (!entry.hasResource()) {
            throw new InvalidRequestException(where + " has no resource");
        }
        if (!entry.getResource().fhirType().equals(type)) {
            throw new InvalidRequestException(where + ": the resource is a " + entry.getResource().fhirType()
                    + " but the request URL names " + type);
        }
    }

    /**
     * Points references to the bundle's own entries at the ids just assigned, and conditional
     * references at the one resource their criteria match; an unresolved urn: fails the bundle.
     */
    private void rewriteReferences(List<Planned> plan, Map<String, String> assigned) {
        FhirTerser terser = fhir.newTerser();
        Map<String, String> resolved = new HashMap<>(); // each conditional reference is searched once
        for (Planned p : plan) {
            Resource resource = p.entry().getResource();
            if (resource == null) {
                continue;
            }
            for (Reference ref : terser.getAllPopulatedChildElementsOfType(resource, Reference.class)) {
                String target = ref.getReference();
                if (target == null) {
                    continue;
                }
                String replacement = assigned.get(target);
                if (replacement != null) {
                    ref.setReference(replacement);
                } else if (target.startsWith("urn:")) {
                    throw new InvalidRequestException("A reference points to " + (target.startsWith("urn:uuid:") ? "a urn:uuid" : "a urn")
                            + " that is not the fullUrl of any entry of this bundle");
                } else if (conditional(target)) {
                    ref.setReference(resolved.computeIfAbsent(target, this::resolve));
                }
            }
        }
    }

    /** {@code Type?criteria}: a conditional reference (R4 transactions, 3.1.0.11.2). */
    private boolean conditional(String reference) {
        int q = reference.indexOf('?');
        return q > 0 && fhir.getResourceTypes().contains(reference.substring(0, q));
    }

    /** The one resource a conditional reference's criteria match among what the caller may see, as Type/id; else 412. */
    private String resolve(String reference) {
        String type = reference.substring(0, reference.indexOf('?'));
        List<VersionRef> matches = search.search(type, ConditionalCriteria.parse("A conditional reference", reference,
                repository.searchTokens()), access.visibility(type, Permission.SEARCH));
        if (matches.size() != 1) {
            throw new PreconditionFailedException("A conditional reference to a " + type + " matches " + matches.size()
                    + " resources; it must match exactly one");
        }
        return type + "/" + matches.get(0).id();
    }

    /** Seals and stores every entry in parallel; nothing is indexed yet. */
    private List<VaultRepository.Prepared> prepareAll(List<Planned> plan) {
        List<Future<VaultRepository.Prepared>> futures = new ArrayList<>();
        for (Planned p : plan) {
            futures.add(writers.submit(() -> switch (p.method()) {
                case DELETE -> repository.prepareDelete(p.type(), p.id(), p.visibility());
                default -> repository.prepare(p.type(), p.id(), p.entry().getResource(), null, p.visibility());
            }));
        }
        List<VaultRepository.Prepared> prepared = new ArrayList<>();
        try {
            for (Future<VaultRepository.Prepared> f : futures) {
                prepared.add(f.get());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InvalidRequestException("interrupted while storing the bundle");
        } catch (ExecutionException e) {
            futures.forEach(f -> f.cancel(true));
            if (e.getCause() instanceof RuntimeException r) {
                throw r;
            }
            throw new IllegalStateException(e.getCause());
        }
        return prepared;
    }

    private static Bundle.BundleEntryResponseComponent responseFor(VaultRepository.Prepared w, boolean created) {
        Bundle.BundleEntryResponseComponent r = new Bundle.BundleEntryResponseComponent();
        if (w.deleted()) {
            return r.setStatus("204 No Content");
        }
        IdType id = new IdType(w.type(), w.id(), String.valueOf(w.version()));
        return r.setStatus(created ? "201 Created" : "200 OK").setLocation(id.getValue()).setEtag("W/\"" + w.version() + "\"")
                .setLastModified(java.util.Date.from(w.lastUpdated()));
    }

}
