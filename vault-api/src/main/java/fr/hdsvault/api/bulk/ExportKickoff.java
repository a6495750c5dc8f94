package fr.hdsvault.api.bulk;

import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.parser.DataFormatException;
import ca.uhn.fhir.rest.server.exceptions.InvalidRequestException;
import fr.hdsvault.api.resources.FhirIds;
import fr.hdsvault.api.resources.SearchClauses;
import fr.hdsvault.api.security.AccessPolicy;
import jakarta.servlet.http.HttpServletRequest;
import java.io.IOException;
import java.io.InputStream;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import fr.hdsvault.api.resources.SearchCriteria;
import org.hl7.fhir.r4.model.InstantType;
import org.hl7.fhir.r4.model.Parameters;
import org.hl7.fhir.r4.model.Reference;

/**
 * Reads a Bulk Data kick-off request (FHIR Bulk Data Access IG v2.0.0) into an
 * {@link ExportRequest}, or refuses it with 400 and what is wrong: {@code Prefer: respond-async}
 * missing, an {@code _outputFormat} other than NDJSON, a {@code _since} that is not an instant or
 * is in the future, an unknown {@code _type}, a {@code _typeFilter} the vault's search does not
 * evaluate, a parameter the vault does not support ({@code _elements},
 * {@code includeAssociatedData}...): an export that silently ignored one would hand out more than
 * was asked. GET takes the parameters in the query; POST in a Parameters body, which alone may
 * name {@code patient}s.
 */
final class ExportKickoff {

    static final Set<String> NDJSON = Set.of("application/fhir+ndjson", "application/ndjson", "ndjson");
    private static final Set<String> PARAMETERS = Set.of("_outputFormat", "_since", "_type", "_typeFilter", "patient");
    private static final int MAX_BODY = 1024 * 1024;

    private final FhirContext fhir;
    private final SearchClauses clauses;
    private final Clock clock;

    ExportKickoff(FhirContext fhir, SearchClauses clauses, Clock clock) {
        this.fhir = fhir;
        this.clauses = clauses;
        this.clock = clock;
    }

    ExportRequest read(HttpServletRequest request, ExportRequest.Level level, String groupId) throws IOException {
        String prefer = request.getHeader("Prefer");
        if (prefer == null || !prefer.toLowerCase(Locale.ROOT).contains("respond-async")) {
            throw new InvalidRequestException("A bulk export is asynchronous: send the header Prefer: respond-async");
        }
        String accept = request.getHeader("Accept");
        if (accept != null && !accept.isBlank() && !accept.contains("json") && !accept.contains("*/*")) {
            throw new InvalidRequestException("The kick-off answers in application/fhir+json, which Accept does not allow");
        }
        List<String[]> given = "POST".equals(request.getMethod()) ? fromBody(request) : fromQuery(request.getQueryString());
        String outputFormat = null;
        Instant since = null;
        Set<String> types = new LinkedHashSet<>();
        List<String> typeFilters = new ArrayList<>();
        Set<String> patients = new LinkedHashSet<>();
        for (String[] p : given) {
            String name = p[0];
            String value = p[1];
            if (!PARAMETERS.contains(name)) {
                throw new InvalidRequestException("The bulk export parameter " + safe(name) + " is not supported by this vault");
            }
            switch (name) {
                case "_outputFormat" -> {
                    if (outputFormat != null || !NDJSON.contains(value)) {
                        throw new InvalidRequestException("_outputFormat: the vault exports application/fhir+ndjson only");
                    }
                    outputFormat = value;
                }
                case "_since" -> since = since(value);
                case "_type" -> {
                    for (String type : value.split(",")) {
                        types.add(type(type.strip(), "_type"));
                    }
                }
                case "_typeFilter" -> typeFilters.add(value);
                case "patient" -> {
                    if (level == ExportRequest.Level.SYSTEM) {
                        throw new InvalidRequestException("patient applies to Patient/$export and Group/[id]/$export only");
                    }
                    patients.add(value);
                }
                default -> throw new IllegalStateException(name);
            }
        }
        Map<String, Integer> checked = new java.util.HashMap<>();
        Map<String, Integer> filtered = new java.util.HashMap<>();
        for (String filter : typeFilters) {
            int question = filter.indexOf('?');
            if (question <= 0) {
                throw new InvalidRequestException("_typeFilter takes Type?query, e.g. Observation?code=http://loinc.org|8867-4");
            }
            String type = type(filter.substring(0, question), "_typeFilter");
            if (!types.isEmpty() && !types.contains(type)) {
                throw new InvalidRequestException("_typeFilter names " + type + ", which _type does not ask for");
            }
            SearchCriteria criteria = clauses.parse("_typeFilter", type, filter.substring(question + 1)); // refused here, not in the job
            checked.merge(type, criteria.checks().isEmpty() ? 0 : 1, Integer::sum);
            filtered.merge(type, 1, Integer::sum);
        }
        for (String type : checked.keySet()) {
            // A date or long string criterion is decided on each resource: the export can do so for one query of a type,
            // not tell which of several alternatives the index matched.
            if (checked.get(type) > 0 && filtered.get(type) > 1) {
                throw new InvalidRequestException("_typeFilter: a query on " + type + " with a date or a string longer than "
                        + fr.hdsvault.api.resources.StringSearch.PREFIX + " characters must be the only _typeFilter on " + type);
            }
        }
        return new ExportRequest(level, groupId, List.copyOf(types), since, typeFilters, List.copyOf(patients));
    }

    private Instant since(String value) {
        Instant since;
        try {
            InstantType instant = new InstantType(value);
            since = instant.getValue().toInstant();
        } catch (DataFormatException | IllegalArgumentException | NullPointerException e) {
            throw new InvalidRequestException("_since must be a FHIR instant, e.g. 2026-01-01T00:00:00Z");
        }
        if (since.isAfter(clock.instant())) {
            throw new InvalidRequestException("_since is in the future");
        }
        return since;
    }

    private String type(String type, String where) {
        if (!fhir.getResourceTypes().contains(type)) {
            throw new InvalidRequestException(where + ": " + safe(type) + " is not a FHIR R4 resource type");
        }
        if (AccessPolicy.AUDIT_EVENT.equals(type)) {
            throw new InvalidRequestException(where + ": the audit trail is not exported here (see vault restitution)");
        }
        return type;
    }

    private static List<String[]> fromQuery(String query) {
        List<String[]> out = new ArrayList<>();
        if (query == null) {
            return out;
        }
        for (String pair : query.split("&")) {
            if (pair.isEmpty()) {
                continue;
            }
            int eq = pair.indexOf('=');
            try {
                out.add(new String[] {URLDecoder.decode(eq < 0 ? pair : pair.substring(0, eq), StandardCharsets.UTF_8),
                    eq < 0 ? "" : URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8)});
            } catch (IllegalArgumentException e) {
                throw new InvalidRequestException("The query is not a valid URL query (a malformed %-escape)");
            }
        }
        return out;
    }

    private List<String[]> fromBody(HttpServletRequest request) throws IOException {
        if (request.getQueryString() != null) {
            throw new InvalidRequestException("A POST kick-off takes its parameters in a Parameters body, not in the URL");
        }
        String contentType = request.getContentType();
        if (contentType == null || !contentType.contains("json")) {
            throw new InvalidRequestException("A POST kick-off takes a Parameters resource in application/fhir+json");
        }
        byte[] body;
        try (InputStream in = request.getInputStream()) {
            body = in.readNBytes(MAX_BODY + 1);
        }
        if (body.length > MAX_BODY) {
            throw new InvalidRequestException("The Parameters body is larger than " + MAX_BODY + " bytes");
        }
        Parameters parameters;
        try {
            parameters = fhir.newJsonParser().parseResource(Parameters.class, new String(body, StandardCharsets.UTF_8));
        } catch (DataFormatException | ClassCastException e) {
            throw new InvalidRequestException("The body is not a FHIR Parameters resource in JSON");
        }
        List<String[]> out = new ArrayList<>();
        for (Parameters.ParametersParameterComponent p : parameters.getParameter()) {
            String name = p.getName();
            if ("patient".equals(name)) {
                if (!(p.getValue() instanceof Reference ref) || ref.getReferenceElement().getIdPart() == null
                        || !"Patient".equals(ref.getReferenceElement().getResourceType())
                        || !FhirIds.valid(ref.getReferenceElement().getIdPart())) {
                    throw new InvalidRequestException("patient takes a valueReference to Patient/[id]");
                }
                out.add(new String[] {name, ref.getReferenceElement().getIdPart()});
            } else if (p.getValue() == null || !p.getValue().isPrimitive()) {
                throw new InvalidRequestException("The bulk export parameter " + safe(name) + " needs a primitive value");
            } else {
                out.add(new String[] {name == null ? "" : name, p.getValue().primitiveValue()});
            }
        }
        return out;
    }

    private static String safe(String name) {
        return name != null && name.matches("[A-Za-z_][A-Za-z0-9_.-]{0,63}") ? name : "(invalid name)";
    }
}
