package fr.hdsvault.api.audit;

import fr.hdsvault.api.security.Caller;
import jakarta.servlet.ServletRequest;
import java.util.LinkedHashSet;
import java.util.Optional;
import java.util.Set;

/**
 * What one request touched, gathered while it runs and turned into AuditEvents before the
 * response leaves: the authenticated caller, the patients whose data was read or written, the
 * resources, and whether the request was a transaction or a batch.
 */
public final class AuditContext {

    private static final String ATTRIBUTE = AuditContext.class.getName();
    static final int MAX_ENTITIES = 200;

    private volatile Caller caller;
    private final Set<String> patients = new LinkedHashSet<>();
    /** Each resource touched, with the patient compartment it belongs to ("Patient/x", or null for none). */
    private final java.util.Map<String, String> entities = new java.util.LinkedHashMap<>();
    private volatile String bundleType;
    private volatile boolean recorded;

    static AuditContext attach(ServletRequest request) {
        AuditContext context = new AuditContext();
        request.setAttribute(ATTRIBUTE, context);
        return context;
    }

    public static Optional<AuditContext> of(ServletRequest request) {
        return request.getAttribute(ATTRIBUTE) instanceof AuditContext c ? Optional.of(c) : Optional.empty();
    }

    public void caller(Caller caller) {
        this.caller = caller;
    }

    Caller caller() {
        return caller;
    }

    /** A resource the request read or wrote, and the patient compartment it belongs to ("Patient/x" or null). */
    public synchronized void touched(String reference, String compartment) {
        if (compartment != null && compartment.startsWith("Patient/")) {
            patients.add(compartment);
        }
        if (reference != null && entities.size() < MAX_ENTITIES) {
            entities.putIfAbsent(reference, compartment != null && compartment.startsWith("Patient/") ? compartment : null);
        }
    }

    /**
     * Marks the request's events as recorded by whoever serves it: a response streamed without
     * being held (an export file) records its event before the first byte, and the filter does
     * not record it again.
     */
    public void recorded() {
        this.recorded = true;
    }

    boolean isRecorded() {
        return recorded;
    }

    public void bundleType(String type) {
        this.bundleType = type;
    }

    String bundleType() {
        return bundleType;
    }

    synchronized Set<String> patients() {
        return new LinkedHashSet<>(patients);
    }

    synchronized Set<String> entities() {
        return new LinkedHashSet<>(entities.keySet());
    }

    /**
     * The resources an event about {@code patient} names: that patient's, and those of no patient.
     * Another patient's resources touched by the same request are in that patient's own event,
     * never in this one: a patient reading its trail learns nothing about anyone else.
     */
    synchronized Set<String> entitiesOf(String patient) {
        Set<String> out = new LinkedHashSet<>();
        entities.forEach((reference, compartment) -> {
            if (compartment == null || compartment.equals(patient)) {
                out.add(reference);
            }
        });
        return out;
    }
}
