package fr.hdsvault.api.security;

import java.util.Set;

/**
 * Which compartments a caller may touch for one interaction on one type.
 *
 * @param patientCompartments null when any compartment is visible; otherwise the patient
 *                            compartments ({@code Patient/<id>}) the caller is restricted to.
 *                            Resources outside every patient compartment (Practitioner,
 *                            Organization, Medication...) stay readable to a restricted caller,
 *                            never writable.
 */
public record Visibility(Set<String> patientCompartments) {

    public static final Visibility ALL = new Visibility(null);

    public static Visibility patient(String patientId) {
        return new Visibility(Set.of("Patient/" + patientId));
    }

    public boolean restricted() {
        return patientCompartments != null;
    }

    /** May a resource of this compartment be read? */
    public boolean canRead(String compartment) {
        return patientCompartments == null
                || compartment != null && (!compartment.startsWith("Patient/") || patientCompartments.contains(compartment));
    }

    /** May a resource be written into (or out of) this compartment? */
    public boolean canWrite(String compartment) {
        return patientCompartments == null || patientCompartments.contains(compartment);
    }
}
