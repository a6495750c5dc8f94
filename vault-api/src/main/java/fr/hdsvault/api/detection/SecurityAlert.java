package fr.hdsvault.api.detection;

import fr.hdsvault.api.audit.AuditEvents;
import java.time.Instant;
import org.hl7.fhir.r4.model.AuditEvent;
import org.hl7.fhir.r4.model.Coding;

/**
 * An alert as it leaves the vault for a SIEM or a webhook, read back from its AuditEvent: its
 * position in the trail (its id there, stable across deliveries, so that a receiver can drop a
 * repeat), the rule, the agent and what was measured. Never a patient, a record or a query.
 */
public record SecurityAlert(long id, String rule, String ruleName, String agent, String measured, Instant recorded, String source) {

    static SecurityAlert of(long seq, AuditEvent event) {
        Coding rule = event.getSubtype().stream().filter(c -> AuditEvents.ALERT_SYSTEM.equals(c.getSystem())).findFirst()
                .orElseThrow(() -> new IllegalStateException("audit event " + seq + " is not a security alert"));
        return new SecurityAlert(seq, rule.getCode(), rule.getDisplay(), event.getAgentFirstRep().getWho().getIdentifier().getValue(),
                event.getOutcomeDesc(), event.getRecorded().toInstant(), event.getSource().getObserver().getDisplay());
    }

    /** Where the auditor finds it: the AuditEvent search of the rule's alerts about this agent. */
    public String search() {
        return "AuditEvent?subtype=" + AuditEvents.ALERT_SYSTEM + "|" + rule + "&agent=" + agent;
    }

    /** One line for a person: the rule's name, what was measured and by whom. */
    public String summary() {
        return ruleName + ": " + measured + " by " + agent;
    }
}
