package fr.hdsvault.api.detection;

import fr.hdsvault.api.audit.AuditEvents;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * The rules judged on one event as it is recorded, without counting: break-glass (each use, and
 * a reason that says nothing), access to a patient the security officer listed as sensitive, and
 * changes of privileges, keys or custody of the data. The detector raises each finding at most
 * once per rule, agent and patient within the finding's window (null: every time), and counts the
 * agent's break-glass alerts for {@link #BREAK_GLASS_FREQUENT} (docs/detection.md).
 */
final class EventRules {

    /** What one event shows; {@code patient} is named in the alert (so the patient sees it), never sent to a SIEM. */
    record Finding(String rule, String display, String patient, String measured, Duration once) {
    }

    static final String BREAK_GLASS = "break-glass";
    static final String BREAK_GLASS_REASON = "break-glass-reason";
    static final String BREAK_GLASS_FREQUENT = "break-glass-frequent";
    static final String BREAK_GLASS_FREQUENT_DISPLAY = "Break-glass used too often";
    static final String SENSITIVE_PATIENT = "sensitive-patient";
    static final String PRIVILEGED_CHANGE = "privileged-change";
    /** The operations (AuditEvents.operation subtypes) that change who may do what, the keys, or where the data is. */
    static final Set<String> PRIVILEGED_OPERATIONS = Set.of("backend-client", "root-key-rotation", "patient-erasure", "vault-destruction",
            "restitution");
    private static final Duration DAY = Duration.ofDays(1);

    private final DetectionProperties.BreakGlass breakGlass;
    private final Set<String> sensitive;
    private final boolean privilegedChanges;

    EventRules(DetectionProperties properties) {
        this.breakGlass = properties.breakGlass();
        this.sensitive = properties.sensitivePatients().stream().map(String::strip).filter(s -> !s.isEmpty())
                .map(s -> s.startsWith("Patient/") ? s : "Patient/" + s).collect(Collectors.toUnmodifiableSet());
        this.privilegedChanges = properties.privilegedChanges();
    }

    List<Finding> check(AuditEvents.Entry e) {
        List<Finding> found = new ArrayList<>(1);
        String reason = e.breakGlassReason();
        if (reason != null && e.outcome() == 0 && e.patient() != null) {
            if (breakGlass.alertEach()) {
                found.add(new Finding(BREAK_GLASS, "Break-glass access to a patient's record", e.patient(),
                        "break-glass access to a patient's record (reviewed a posteriori)", DAY));
            }
            int length = reason.strip().length();
            if (length < breakGlass.minReason()) {
                found.add(new Finding(BREAK_GLASS_REASON, "Break-glass without a real reason", e.patient(),
                        "a break-glass reason of " + length + " characters (at least " + breakGlass.minReason() + " expected)", DAY));
            }
        }
        if (e.patient() != null && e.outcome() == 0 && sensitive.contains(e.patient()) && !"patient".equals(e.agentRole())
                && !"auditor".equals(e.agentRole())) {
            found.add(new Finding(SENSITIVE_PATIENT, "Access to a sensitive patient's record", e.patient(),
                    "access to the record of a patient on the sensitive list", DAY));
        }
        if (privilegedChanges && PRIVILEGED_OPERATIONS.contains(e.subtype())) {
            found.add(new Finding(PRIVILEGED_CHANGE, "Change of privileges, keys or custody of the data", null,
                    e.subtype() + (e.outcome() == 0 ? " succeeded" : " failed"), null));
        }
        return found;
    }

    /** Whether break-glass alerts are counted, and the count past which an agent uses it too often. */
    boolean countsBreakGlass() {
        return breakGlass.alertEach() && breakGlass.patients() > 0;
    }

    DetectionProperties.BreakGlass breakGlass() {
        return breakGlass;
    }
}
