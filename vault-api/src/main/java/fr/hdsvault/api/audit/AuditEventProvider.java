package fr.hdsvault.api.audit;

import ca.uhn.fhir.rest.annotation.Count;
import ca.uhn.fhir.rest.annotation.IdParam;
import ca.uhn.fhir.rest.annotation.OptionalParam;
import ca.uhn.fhir.rest.annotation.Read;
import ca.uhn.fhir.rest.annotation.Search;
import ca.uhn.fhir.rest.annotation.Sort;
import ca.uhn.fhir.rest.api.SortSpec;
import ca.uhn.fhir.rest.api.server.IBundleProvider;
import ca.uhn.fhir.rest.param.DateAndListParam;
import ca.uhn.fhir.rest.param.DateOrListParam;
import fr.hdsvault.api.resources.DateRanges;
import fr.hdsvault.api.resources.SearchCriteria;
import ca.uhn.fhir.rest.param.ReferenceParam;
import ca.uhn.fhir.rest.param.StringParam;
import ca.uhn.fhir.rest.param.TokenParam;
import ca.uhn.fhir.rest.server.IResourceProvider;
import ca.uhn.fhir.rest.server.exceptions.InvalidRequestException;
import ca.uhn.fhir.rest.server.exceptions.ResourceNotFoundException;
import fr.hdsvault.api.resources.CallerBoundResults;
import fr.hdsvault.api.security.AccessPolicy;
import fr.hdsvault.api.security.Permission;
import fr.hdsvault.api.security.Visibility;
import java.util.List;
import org.hl7.fhir.instance.model.api.IBaseResource;
import org.hl7.fhir.instance.model.api.IIdType;
import org.hl7.fhir.r4.model.AuditEvent;

/**
 * {@code /fhir/AuditEvent}: the audit trail, read-only. Auditors see every event; a patient sees
 * the events about its own record ("who accessed my record"); practitioners and operators see
 * none (403, from {@link AccessPolicy}). Searches run on HMAC tokens: {@code patient}
 * (Patient/id), {@code agent} (the user's token subject), {@code entity} (Type/id),
 * {@code action} (C R U D E), {@code outcome} (0 4 8 12), {@code date} (a range at its precision,
 * prefixes eq gt ge lt le sa eb, repeated for a range),
 * {@code _sort=[-]date}, {@code _count}. The event id is its position in the Merkle log.
 */
public final class AuditEventProvider implements IResourceProvider {

    private final AuditLog trail;
    private final AccessPolicy access;

    public AuditEventProvider(AuditLog trail, AccessPolicy access) {
        this.trail = trail;
        this.access = access;
    }

    @Override
    public Class<? extends IBaseResource> getResourceType() {
        return AuditEvent.class;
    }

    @Read
    public AuditEvent read(@IdParam IIdType id) {
        Visibility visibility = access.visibility(AccessPolicy.AUDIT_EVENT, Permission.READ);
        long seq = position(id.getIdPart());
        boolean visible = trail.exists(seq) && (!visibility.restricted()
                || trail.patientTokenAt(seq).map(t -> visibility.patientCompartments().stream()
                        .anyMatch(p -> t.equals(trail.token("patient", p)))).orElse(false));
        if (!visible) {
            throw new ResourceNotFoundException("Resource AuditEvent/" + id.getIdPart() + " is not known");
        }
        return trail.read(List.of(seq)).get(0);
    }

    /** The trail is written by the vault alone: every write through the API is refused. */
    @ca.uhn.fhir.rest.annotation.Create
    public ca.uhn.fhir.rest.api.MethodOutcome create(@ca.uhn.fhir.rest.annotation.ResourceParam AuditEvent event) {
        access.visibility(AccessPolicy.AUDIT_EVENT, Permission.CREATE); // always 403, with the reason
        throw new IllegalStateException("unreachable");
    }

    @ca.uhn.fhir.rest.annotation.Update
    public ca.uhn.fhir.rest.api.MethodOutcome update(@IdParam IIdType id, @ca.uhn.fhir.rest.annotation.ResourceParam AuditEvent event) {
        access.visibility(AccessPolicy.AUDIT_EVENT, Permission.UPDATE);
        throw new IllegalStateException("unreachable");
    }

    @ca.uhn.fhir.rest.annotation.Delete
    public void delete(@IdParam IIdType id) {
        access.visibility(AccessPolicy.AUDIT_EVENT, Permission.DELETE);
        throw new IllegalStateException("unreachable");
    }

    @Search(allowUnknownParams = true) // refused or dropped before this runs: fhir.StrictParameters
    public IBundleProvider search(@OptionalParam(name = "patient") ReferenceParam patient,
                                  @OptionalParam(name = "agent") StringParam agent,
                                  @OptionalParam(name = "entity") ReferenceParam entity,
                                  @OptionalParam(name = "action") TokenParam action,
                                  @OptionalParam(name = "outcome") TokenParam outcome,
                                  @OptionalParam(name = "date") DateAndListParam date,
                                  @OptionalParam(name = "subtype") TokenParam subtype,
                                  @Sort SortSpec sort,
                                  @Count Integer count) {
        Visibility visibility = access.visibility(AccessPolicy.AUDIT_EVENT, Permission.SEARCH);
        String patientToken = patient == null ? null : trail.token("patient", "Patient/" + patient.getIdPart());
        if (visibility.restricted()) {
            String own = trail.token("patient", visibility.patientCompartments().iterator().next());
            if (patientToken != null && !patientToken.equals(own)) {
                return results(List.of(), count); // another patient's events: nothing, as if there were none
            }
            patientToken = own;
        }
        Integer outcomeCode = null;
        if (outcome != null) {
            try {
                outcomeCode = Integer.valueOf(outcome.getValue());
            } catch (NumberFormatException e) {
                throw new InvalidRequestException("outcome is one of 0, 4, 8, 12");
            }
        }
        String entityToken = entity == null ? null : trail.token("entity", entity.getResourceType() + "/" + entity.getIdPart());
        String subtypeColumn = null;
        if (subtype != null) { // the vault's security alerts (docs/detection.md); other subtypes are not indexed
            if (!AuditEvents.ALERT_SYSTEM.equals(subtype.getSystem()) || entity != null) {
                throw new InvalidRequestException("subtype searches the security alerts only: subtype=" + AuditEvents.ALERT_SYSTEM
                        + "|[rule] (or | alone for every rule), without entity");
            }
            entityToken = trail.token("entity", AuditEvents.ALERT_ENTITY);
            subtypeColumn = subtype.getValue() == null || subtype.getValue().isEmpty() ? null : AuditEvents.alertSubtype(subtype.getValue());
        }
        boolean newestFirst = fr.hdsvault.api.resources.VaultResourceProvider.newestFirst(sort, "date", "_lastUpdated");
        SearchCriteria.Range during = recordedDuring(date);
        AuditLog.Query query = new AuditLog.Query(patientToken, agent == null ? null : trail.token("agent", agent.getValue()),
                entityToken, action == null ? null : action.getValue(), outcomeCode, subtypeColumn,
                during.from(), during.to(),
                newestFirst);
        return results(trail.search(query), count);
    }

    /**
     * The recorded instants the {@code date} parameters allow: each value a range at its precision
     * (eq gt ge lt le sa eb), repeated parameters intersected. {@code ne} and alternatives (commas)
     * would need more than one range: refused.
     */
    static SearchCriteria.Range recordedDuring(DateAndListParam date) {
        java.time.Instant from = null;
        java.time.Instant to = null;
        if (date != null) {
            for (DateOrListParam or : date.getValuesAsQueryTokens()) {
                if (or.getValuesAsQueryTokens().size() != 1) {
                    throw new InvalidRequestException("date takes one value per parameter: repeat the parameter for a range");
                }
                SearchCriteria.Range r = DateRanges.of(or.getValuesAsQueryTokens().get(0));
                if (r.outside()) {
                    throw new InvalidRequestException("date does not support the prefix ne");
                }
                from = r.from() == null ? from : from == null || r.from().isAfter(from) ? r.from() : from;
                to = r.to() == null ? to : to == null || r.to().isBefore(to) ? r.to() : to;
            }
        }
        return new SearchCriteria.Range(from, to, false);
    }

    private IBundleProvider results(List<Long> positions, Integer count) {
        return new AuditResults(kind(trail), positions, count);
    }

    /** Audit events by position, read and opened page by page. */
    private static final class AuditResults extends CallerBoundResults<Long> {
        private final AuditLog trail;

        AuditResults(Kind<Long> kind, List<Long> positions, Integer count) {
            super(kind, positions, count);
            this.trail = ((AuditKind) kind).trail;
        }

        @Override
        protected List<IBaseResource> load(List<Long> page) {
            return List.copyOf(trail.read(page));
        }
    }

    private record AuditKind(AuditLog trail) implements CallerBoundResults.Kind<Long> {
        @Override
        public String name() {
            return "audit-events";
        }

        @Override
        public String encode(Long position) {
            return position.toString();
        }

        @Override
        public Long decode(String line) {
            return Long.valueOf(line);
        }

        @Override
        public CallerBoundResults<Long> rebuild(List<Long> matches, Integer pageSize, String header) {
            return new AuditResults(this, matches, pageSize);
        }
    }

    /** How audit search results are kept between pages (registered with the paging provider). */
    public static CallerBoundResults.Kind<Long> kind(AuditLog trail) {
        return new AuditKind(trail);
    }

    private static long position(String id) {
        try {
            return Long.parseLong(id);
        } catch (NumberFormatException e) {
            throw new ResourceNotFoundException("Resource AuditEvent/" + id + " is not known");
        }
    }
}
