package fr.hdsvault.api.resources;

import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.context.RuntimeResourceDefinition;
import fr.hdsvault.api.security.AccessPolicy;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The one list of what a search may ask for, per resource type: each parameter the vault
 * evaluates, its kind, and the modifiers it evaluates. The CapabilityStatement, the strict
 * parameter check and the search providers all read it, so that what is announced, what is
 * accepted and what is evaluated cannot drift apart. Anything not listed is refused (400).
 */
public final class SearchParameters {

    /** How a parameter's values are read and matched. */
    public enum Kind {
        /** {@code _id}: logical ids; {@code :not}. */
        ID(Set.of("not")),
        /** {@code _lastUpdated}: an instant compared with a date at its precision; prefixes eq ne gt lt ge le sa eb. */
        LAST_UPDATED(Set.of()),
        /** identifier, code: blind tokens of {@code system|code} and {@code code}; {@code :not}, {@code :missing}. */
        TOKEN(Set.of("not", "missing")),
        /** patient, subject: blind tokens of {@code Type/id}; {@code :missing} and a {@code :Type} modifier. */
        REFERENCE(Set.of("missing")),
        /** AuditEvent's own parameters (agent, action, outcome, patient, entity, date): no modifier. */
        AUDIT(Set.of());

        private final Set<String> modifiers;

        Kind(Set<String> modifiers) {
            this.modifiers = modifiers;
        }
    }

    /** The parameters of the result, valid on every search (their values are checked by the strict check). */
    public static final Set<String> RESULT_PARAMETERS = Set.of("_count", "_sort", "_total", "_summary", "_elements",
            "_format", "_pretty");

    private static final Map<String, Kind> AUDIT_EVENT = Map.of("patient", Kind.AUDIT, "agent", Kind.AUDIT, "entity", Kind.AUDIT,
            "action", Kind.AUDIT, "outcome", Kind.AUDIT, "date", Kind.AUDIT);

    private final FhirContext fhir;

    public SearchParameters(FhirContext fhir) {
        this.fhir = fhir;
    }

    /** The kind of a parameter on a type, or empty when the vault does not evaluate it there. */
    public Optional<Kind> kind(String type, String param) {
        if (AccessPolicy.AUDIT_EVENT.equals(type)) {
            return Optional.ofNullable(AUDIT_EVENT.get(param));
        }
        RuntimeResourceDefinition def = fhir.getResourceDefinition(type);
        return Optional.ofNullable(switch (param) {
            case "_id" -> Kind.ID;
            case "_lastUpdated" -> Kind.LAST_UPDATED;
            case "identifier", "code" -> has(def, param) ? Kind.TOKEN : null;
            case "subject" -> has(def, "subject") ? Kind.REFERENCE : null;
            case "patient" -> !type.equals("Patient") && (has(def, "subject") || has(def, "patient") || has(def, "beneficiary"))
                    ? Kind.REFERENCE : null;
            default -> null;
        });
    }

    /** Whether {@code modifier} (without the colon) is evaluated for this parameter. */
    public boolean evaluates(String type, String param, String modifier) {
        Optional<Kind> kind = kind(type, param);
        if (kind.isEmpty()) {
            return false;
        }
        if (kind.get().modifiers.contains(modifier)) {
            return true;
        }
        // A reference parameter's type modifier (subject:Patient=123); patient refers to Patients only.
        return kind.get() == Kind.REFERENCE && fhir.getResourceTypes().contains(modifier)
                && (!param.equals("patient") || modifier.equals("Patient"));
    }

    private static boolean has(RuntimeResourceDefinition def, String child) {
        return def.getChildByName(child) != null;
    }
}
