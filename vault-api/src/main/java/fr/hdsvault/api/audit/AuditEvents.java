package fr.hdsvault.api.audit;

import fr.hdsvault.api.security.Caller;
import fr.hdsvault.api.web.ClientAddress;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.Set;
import org.hl7.fhir.r4.model.AuditEvent;
import org.hl7.fhir.r4.model.CodeableConcept;
import org.hl7.fhir.r4.model.Coding;
import org.hl7.fhir.r4.model.Identifier;
import org.hl7.fhir.r4.model.Reference;

/**
 * Builds the FHIR R4 AuditEvents of one request following IHE Basic Audit Log Patterns (BALP),
 * "RESTful activity": type {@code rest}, subtype the FHIR interaction, action C/R/U/D/E,
 * outcome 0/4/8, the user agent (token subject, role, fhirUser, network address) and the client
 * application agent, the vault as source, and entities: the patient, the resources, the query.
 * One event per patient touched, as BALP requires; one event without patient otherwise.
 */
public final class AuditEvents {

    static final String TYPE_SYSTEM = "http://terminology.hl7.org/CodeSystem/audit-event-type";
    static final String SUBTYPE_SYSTEM = "http://hl7.org/fhir/restful-interaction";
    static final String ROLE_SYSTEM = "urn:hds-vault:role";
    static final String AGENT_TYPE_SYSTEM = "urn:hds-vault:agent-type";

    /** One event and the columns it is searched by. */
    public record Entry(AuditEvent event, String action, int outcome, String subtype, String agent, String patient, String entity) {

        /** The requesting user's role claim ({@code practitioner}, {@code patient}, ...), or null. */
        public String agentRole() {
            return event.getAgent().stream().filter(a -> a.getRequestor()).flatMap(a -> a.getRole().stream())
                    .flatMap(r -> r.getCoding().stream()).filter(c -> ROLE_SYSTEM.equals(c.getSystem())).map(Coding::getCode)
                    .findFirst().orElse(null);
        }

        /** The {@code jti} of the caller's token (BALP: the user agent's policy), or null. */
        public String tokenId() {
            return event.getAgent().stream().filter(a -> a.getRequestor() && !a.getPolicy().isEmpty()).map(a -> a.getPolicy().get(0)
                    .getValue()).findFirst().orElse(null);
        }

        /** The client's network address (the requestor's), or null. */
        public String address() {
            return event.getAgent().stream().filter(a -> a.getRequestor() && a.hasNetwork() && a.getNetwork().hasAddress())
                    .map(a -> a.getNetwork().getAddress()).findFirst().orElse(null);
        }

        /** The caller's fhirUser ({@code Practitioner/123}), or null. */
        public String fhirUser() {
            return event.getAgent().stream().filter(a -> a.getRequestor() && a.hasAltId()).map(a -> a.getAltId()).findFirst().orElse(null);
        }

        /** The reason a break-glass request gave (BALP's purpose of use BTG), or null when the request did not break the glass. */
        public String breakGlassReason() {
            return event.getPurposeOfEvent().stream().filter(p -> p.getCoding().stream().anyMatch(c -> BREAK_GLASS.equals(c.getCode())))
                    .map(p -> p.getText() == null ? "" : p.getText()).findFirst().orElse(null);
        }
    }

    /** The purpose of use of a break-glass access (v3 ActReason). */
    static final String BREAK_GLASS = "BTG";

    /** The code system of the vault's security alerts (type and subtype of their AuditEvents): docs/detection.md. */
    public static final String ALERT_SYSTEM = "urn:hds-vault:alert";
    /** The entity every alert names, indexed: all alerts are one index range, newest first. */
    public static final String ALERT_ENTITY = "urn:hds-vault:alert";

    /** What the filter saw of the request. */
    public record Request(String method, String path, String query, ClientAddress address, int status, String breakGlassReason) {
    }

    private final String observer;
    private final String site;

    /** @param observer who records: {@code VaultIdentity#observer()} */
    public AuditEvents(String observer, String site) {
        this.observer = observer;
        this.site = site;
    }

    public List<Entry> of(Request request, AuditContext context, Instant now) {
        String subtype = subtype(request, context);
        String action = action(subtype);
        int outcome = request.status() < 400 ? 0 : request.status() < 500 ? 4 : 8;
        Set<String> patients = context.patients();
        List<Entry> out = new ArrayList<>();
        List<String> perPatient = patients.isEmpty() ? java.util.Collections.singletonList(null) : List.copyOf(patients);
        for (String patient : perPatient) {
            Set<String> entities = patient == null ? context.entities() : context.entitiesOf(patient);
            AuditEvent e = new AuditEvent();
            e.setType(new Coding(TYPE_SYSTEM, "rest", "RESTful Operation"));
            e.addSubtype(new Coding(SUBTYPE_SYSTEM, subtype, null));
            e.setAction(AuditEvent.AuditEventAction.fromCode(action));
            e.setRecorded(Date.from(now));
            e.setOutcome(AuditEvent.AuditEventOutcome.fromCode(String.valueOf(outcome)));
            e.setOutcomeDesc("HTTP " + request.status());
            Caller caller = context.caller();
            AuditEvent.AuditEventAgentComponent user = e.addAgent().setRequestor(true);
            user.getType().addCoding(new Coding("http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "IRCP", "information recipient"));
            if (caller != null) {
                user.setWho(new Reference().setIdentifier(new Identifier().setSystem("urn:hds-vault:" + caller.method())
                        .setValue(caller.subject())));
                user.addRole(new CodeableConcept(new Coding(ROLE_SYSTEM, caller.role().claimValue(), null)));
                if (caller.fhirUser() != null) {
                    user.setAltId(caller.fhirUser());
                }
                if (caller.tokenId() != null) { // BALP: the token's identifier, which ties the accesses of one token together
                    user.addPolicy(caller.tokenId());
                }
            } else {
                user.setWho(new Reference().setDisplay("unauthenticated"));
            }
            user.getNetwork().setAddress(request.address().client()).setType(AuditEvent.AuditEventAgentNetworkType._2);
            if (request.address().forwarded()) { // the connection came from a trusted proxy, forwarding for the client above
                AuditEvent.AuditEventAgentComponent proxy = e.addAgent().setRequestor(false);
                proxy.getType().addCoding(new Coding(AGENT_TYPE_SYSTEM, "proxy", "trusted reverse proxy"));
                proxy.setWho(new Reference().setDisplay("trusted reverse proxy"));
                proxy.getNetwork().setAddress(request.address().peer()).setType(AuditEvent.AuditEventAgentNetworkType._2);
            }
            if (caller != null && caller.clientId() != null) {
                AuditEvent.AuditEventAgentComponent app = e.addAgent().setRequestor(false);
                app.getType().addCoding(new Coding("http://dicom.nema.org/resources/ontology/DCM", "110150", "Application"));
                app.setWho(new Reference().setIdentifier(new Identifier().setValue(caller.clientId())));
            }
            if (request.breakGlassReason() != null) {
                e.addPurposeOfEvent(new CodeableConcept(new Coding("http://terminology.hl7.org/CodeSystem/v3-ActReason", BREAK_GLASS,
                        "break the glass")).setText(request.breakGlassReason()));
            }
            e.getSource().setSite(site).setObserver(new Reference().setDisplay(observer))
                    .addType(new Coding("http://terminology.hl7.org/CodeSystem/security-source-type", "4", "Application Server"));
            if (patient != null) {
                e.addEntity().setWhat(new Reference(patient))
                        .setType(new Coding("http://terminology.hl7.org/CodeSystem/audit-entity-type", "1", "Person"))
                        .setRole(new Coding("http://terminology.hl7.org/CodeSystem/object-role", "1", "Patient"));
            }
            for (String entity : entities) {
                if (!entity.equals(patient)) {
                    e.addEntity().setWhat(new Reference(entity))
                            .setType(new Coding("http://terminology.hl7.org/CodeSystem/audit-entity-type", "2", "System Object"))
                            .setRole(new Coding("http://terminology.hl7.org/CodeSystem/object-role", "4", "Domain Resource"));
                }
            }
            if (request.query() != null && (subtype.startsWith("search") || subtype.startsWith("history"))) {
                e.addEntity().setQuery(request.query().getBytes(StandardCharsets.UTF_8))
                        .setType(new Coding("http://terminology.hl7.org/CodeSystem/audit-entity-type", "2", "System Object"))
                        .setRole(new Coding("http://terminology.hl7.org/CodeSystem/object-role", "24", "Query"));
            }
            String mainEntity = entities.stream().filter(x -> !x.equals(patient)).findFirst().orElse(patient);
            out.add(new Entry(e, action, outcome, subtype, caller == null ? null : caller.subject(), patient, mainEntity));
        }
        return out;
    }

    /**
     * An operation the vault runs itself or for an operator (a backup, a restore drill): type
     * "Application Activity", subtype the operation, the requester (an operator's subject, or
     * "scheduler"), its outcome, and the operation's id as entity. Never clinical content.
     */
    public Entry operation(String operation, String requester, boolean success, String outcomeDescription, String operationId,
                           Instant now) {
        AuditEvent e = new AuditEvent();
        e.setType(new Coding("http://dicom.nema.org/resources/ontology/DCM", "110100", "Application Activity"));
        e.addSubtype(new Coding("urn:hds-vault:operation", operation, null));
        e.setAction(AuditEvent.AuditEventAction.E);
        e.setRecorded(Date.from(now));
        int outcome = success ? 0 : 8;
        e.setOutcome(AuditEvent.AuditEventOutcome.fromCode(String.valueOf(outcome)));
        e.setOutcomeDesc(outcomeDescription);
        e.addAgent().setRequestor(true).setWho(new Reference().setIdentifier(new Identifier().setSystem("urn:hds-vault:operator")
                .setValue(requester)));
        e.getSource().setSite(site).setObserver(new Reference().setDisplay(observer))
                .addType(new Coding("http://terminology.hl7.org/CodeSystem/security-source-type", "4", "Application Server"));
        String entity = "urn:hds-vault:" + operation + ":" + operationId;
        e.addEntity().setWhat(new Reference().setIdentifier(new Identifier().setSystem("urn:hds-vault:" + operation)
                        .setValue(operationId)))
                .setType(new Coding("http://terminology.hl7.org/CodeSystem/audit-entity-type", "2", "System Object"));
        return new Entry(e, "E", outcome, operation, requester, null, entity);
    }

    /**
     * A security alert: a detection rule found an agent's recent accesses beyond its threshold.
     * Type and subtype name the rule ({@link #ALERT_SYSTEM}); the agent is the one the rule is
     * about, so that {@code AuditEvent?agent=} finds its alerts beside its accesses; the outcome
     * description says what was measured against which threshold (counts and durations only,
     * never a patient or a record). Its subtype column is {@code alert-} and the rule's code. An
     * alert about one patient's record (break-glass, a sensitive patient) names that patient, as
     * the accesses do, so that the patient sees it among the accesses to its record.
     */
    public Entry alert(String rule, String display, String agent, String patient, String measured, Instant now) {
        AuditEvent e = new AuditEvent();
        e.setType(new Coding(ALERT_SYSTEM, "alert", "Security alert"));
        e.addSubtype(new Coding(ALERT_SYSTEM, rule, display));
        e.setAction(AuditEvent.AuditEventAction.E);
        e.setRecorded(Date.from(now));
        e.setOutcome(AuditEvent.AuditEventOutcome._0);
        e.setOutcomeDesc(measured);
        e.addAgent().setRequestor(true).setWho(new Reference().setIdentifier(new Identifier().setSystem("urn:hds-vault:jwt")
                .setValue(agent)));
        e.getSource().setSite(site).setObserver(new Reference().setDisplay(observer))
                .addType(new Coding("http://terminology.hl7.org/CodeSystem/security-source-type", "4", "Application Server"));
        e.addEntity().setWhat(new Reference().setIdentifier(new Identifier().setSystem(ALERT_SYSTEM).setValue(rule)))
                .setType(new Coding("http://terminology.hl7.org/CodeSystem/audit-entity-type", "2", "System Object"));
        if (patient != null) {
            e.addEntity().setWhat(new Reference(patient))
                    .setType(new Coding("http://terminology.hl7.org/CodeSystem/audit-entity-type", "1", "Person"))
                    .setRole(new Coding("http://terminology.hl7.org/CodeSystem/object-role", "1", "Patient"));
        }
        return new Entry(e, "E", 0, alertSubtype(rule), agent, patient, ALERT_ENTITY);
    }

    /** The subtype column of a rule's alerts. */
    public static String alertSubtype(String rule) {
        return "alert-" + rule;
    }

    /** Data of many patients moved in one operation: out of the vault (export), or into it (import). */
    public enum Bulk {
        EXPORT("110106", "Export", "bulk-export", AuditEvent.AuditEventAction.R),
        IMPORT("110107", "Import", "bulk-import", AuditEvent.AuditEventAction.C);

        private final String code;
        private final String display;
        private final String subtype;
        private final AuditEvent.AuditEventAction action;

        Bulk(String code, String display, String subtype, AuditEvent.AuditEventAction action) {
            this.code = code;
            this.display = display;
            this.subtype = subtype;
            this.action = action;
        }
    }

    /**
     * A bulk export's read, or a bulk import's write, of one patient's data, naming who did it
     * and its client application: the patient sees in its own trail that its record left the
     * vault in an export, and to whom, or came in by migration. The job is the entity; nothing of
     * the data.
     */
    public Entry bulk(Bulk kind, String requester, String clientId, String patient, String jobId, Instant now) {
        AuditEvent e = new AuditEvent();
        e.setType(new Coding("http://dicom.nema.org/resources/ontology/DCM", kind.code, kind.display));
        e.addSubtype(new Coding("urn:hds-vault:operation", kind.subtype, null));
        e.setAction(kind.action);
        e.setRecorded(Date.from(now));
        e.setOutcome(AuditEvent.AuditEventOutcome._0);
        e.addAgent().setRequestor(true).setWho(new Reference().setIdentifier(new Identifier().setSystem("urn:hds-vault:jwt")
                .setValue(requester)));
        if (clientId != null) {
            e.addAgent().setRequestor(false).setWho(new Reference().setIdentifier(new Identifier().setValue(clientId)))
                    .getType().addCoding(new Coding("http://dicom.nema.org/resources/ontology/DCM", "110150", "Application"));
        }
        e.getSource().setSite(site).setObserver(new Reference().setDisplay(observer))
                .addType(new Coding("http://terminology.hl7.org/CodeSystem/security-source-type", "4", "Application Server"));
        e.addEntity().setWhat(new Reference(patient))
                .setType(new Coding("http://terminology.hl7.org/CodeSystem/audit-entity-type", "1", "Person"))
                .setRole(new Coding("http://terminology.hl7.org/CodeSystem/object-role", "1", "Patient"));
        String entity = "urn:hds-vault:" + kind.subtype + ":" + jobId;
        e.addEntity().setWhat(new Reference().setIdentifier(new Identifier().setSystem("urn:hds-vault:" + kind.subtype).setValue(jobId)))
                .setType(new Coding("http://terminology.hl7.org/CodeSystem/audit-entity-type", "2", "System Object"));
        return new Entry(e, kind.action.toCode(), 0, kind.subtype, requester, patient, entity);
    }

    /** The FHIR interaction, from the method and path (relative to the server root). */
    static String subtype(Request request, AuditContext context) {
        String path = request.path();
        if (path.startsWith("/admin")) {
            return "operation";
        }
        String rest = path.startsWith("/fhir") ? path.substring(5) : path;
        String[] parts = rest.replaceAll("^/+|/+$", "").split("/");
        String method = request.method();
        boolean base = rest.isBlank() || rest.equals("/");
        if (base && "POST".equals(method)) {
            return "batch".equals(context.bundleType()) ? "batch" : "transaction";
        }
        if (base && "GET".equals(method)) {
            return request.query() != null && request.query().contains("_getpages") ? "search-type" : "search-system";
        }
        if (java.util.Arrays.stream(parts).anyMatch(part -> part.startsWith("$"))) { // ids never start with $
            return "operation";
        }
        return switch (method) {
            case "POST" -> parts.length >= 2 && "_search".equals(parts[1]) ? "search-type" : "create";
            case "PUT" -> "update";
            case "PATCH" -> "patch";
            case "DELETE" -> "delete";
            default -> {
                if (parts.length == 1) {
                    yield "search-type";
                }
                if (parts.length == 2) {
                    yield "_history".equals(parts[1]) ? "history-type" : "read";
                }
                if (parts.length == 3 && "_history".equals(parts[2])) {
                    yield "history-instance";
                }
                yield parts.length == 4 && "_history".equals(parts[2]) ? "vread" : "read";
            }
        };
    }

    /** BALP action codes: create C, read R, update U, delete D, everything else (search, operations) E. */
    static String action(String subtype) {
        return switch (subtype) {
            case "create" -> "C";
            case "read", "vread", "history-instance" -> "R";
            case "update", "patch" -> "U";
            case "delete" -> "D";
            default -> "E";
        };
    }
}
