package fr.hdsvault.api.audit;

import fr.hdsvault.api.resources.FhirIds;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.Optional;
import java.util.Set;
import java.util.function.BiFunction;

/**
 * What a request asked for, read from its URL, for the audit of a request that served or wrote
 * nothing (refused, failed, or empty): the resource its path names ({@code /fhir/Type/id...}),
 * with the patient it belongs to when the vault holds it, and the patient a search names
 * ({@code patient=}, {@code subject=Patient/}). So a patient sees, in its own trail, the attempts
 * on its record that were refused; the event is internal, so naming the patient tells the caller
 * nothing. Only well-formed types and ids are taken; anything else names nothing.
 */
final class RequestedResources {

    private final Set<String> types;
    private final BiFunction<String, String, Optional<String>> storedCompartment;

    /**
     * @param types             the FHIR resource types
     * @param storedCompartment the compartment of a stored resource (type, id), if it is stored
     */
    RequestedResources(Set<String> types, BiFunction<String, String, Optional<String>> storedCompartment) {
        this.types = types;
        this.storedCompartment = storedCompartment;
    }

    void addTo(AuditContext context, String path, String query) {
        if (path.startsWith("/fhir/")) {
            addResource(context, path.substring("/fhir/".length()));
        }
        if (query == null) {
            return;
        }
        for (String pair : query.split("&")) {
            int eq = pair.indexOf('=');
            String name = eq < 0 ? pair : pair.substring(0, eq);
            if (eq < 0 || !name.equals("patient") && !name.equals("subject") && !name.equals("subject:Patient")) {
                continue;
            }
            for (String value : decode(pair.substring(eq + 1)).split(",")) {
                String id = value.startsWith("Patient/") ? value.substring("Patient/".length())
                        : name.equals("subject") ? null : value;
                if (id != null && FhirIds.valid(id)) {
                    context.touched(null, "Patient/" + id);
                }
            }
        }
    }

    /** The resource a relative URL names ({@code Type/id[/...]}), with the patient it belongs to; nothing otherwise. */
    void addResource(AuditContext context, String url) {
        String[] parts = url.split("/");
        if (parts.length >= 2 && types.contains(parts[0]) && FhirIds.valid(parts[1])) {
            String compartment = parts[0].equals("Patient") ? "Patient/" + parts[1]
                    : storedCompartment.apply(parts[0], parts[1]).orElse(null);
            context.touched(parts[0] + "/" + parts[1], compartment);
        }
    }

    private static String decode(String value) {
        try {
            return URLDecoder.decode(value, StandardCharsets.UTF_8);
        } catch (IllegalArgumentException e) {
            return "";
        }
    }
}
