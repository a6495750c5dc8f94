package fr.hdsvault.api.detection;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import fr.hdsvault.api.audit.AuditEvents;
import fr.hdsvault.api.resources.SearchTokens;
import fr.hdsvault.api.resources.VaultRepository;
import fr.hdsvault.api.security.Visibility;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.function.Function;
import org.hl7.fhir.r4.model.HumanName;
import org.hl7.fhir.r4.model.Practitioner;
import org.springframework.jdbc.core.JdbcTemplate;

/**
 * The rules that look at what the records say, through the blind index only: a patient whose
 * record is labelled restricted ({@code meta.security} R or V of v3-Confidentiality), and a
 * practitioner reading the record of a patient with its own family name ({@code same-family-name})
 * or its own family and given names ({@code self-access}). Names are compared as keyed hashes:
 * the practitioner's names (from its Practitioner resource, named by the token's {@code fhirUser})
 * are turned into the index's exact-string tokens, which are looked up among the patient's. No
 * name is read from or written to anything in clear.
 */
final class RecordRules {

    static final String SAME_FAMILY_NAME = "same-family-name";
    static final String SELF_ACCESS = "self-access";
    static final String CONFIDENTIALITY = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality";
    private static final Duration DAY = Duration.ofDays(1);

    /** A practitioner's names as index tokens (a few spellings of each: as written, upper case, capitalised). */
    record NameTokens(Set<String> family, Set<String> given) {
        static final NameTokens NONE = new NameTokens(Set.of(), Set.of());
    }

    private final JdbcTemplate jdbc;
    private final SearchTokens tokens;
    private final String tenant;
    private final Function<String, Practitioner> practitioners;
    private final boolean labels;
    private final boolean names;
    private final List<String> restricted;
    private final Cache<String, Boolean> labelled = Caffeine.newBuilder().maximumSize(10_000).expireAfterWrite(Duration.ofSeconds(30))
            .build();
    private final Cache<String, NameTokens> practitionerNames = Caffeine.newBuilder().maximumSize(10_000)
            .expireAfterWrite(Duration.ofMinutes(10)).build();
    /** Whether a (practitioner, patient) pair's names match: 0 no, 1 family name, 2 family and given; a practitioner reads the same few patients over and over. */
    private final Cache<String, Integer> nameMatches = Caffeine.newBuilder().maximumSize(100_000)
            .expireAfterWrite(Duration.ofSeconds(30)).build();

    RecordRules(JdbcTemplate jdbc, VaultRepository repository, String tenant, DetectionProperties properties) {
        this(jdbc, repository.searchTokens(), tenant, id -> (Practitioner) repository.read("Practitioner", id, Visibility.ALL),
                properties);
    }

    RecordRules(JdbcTemplate jdbc, SearchTokens tokens, String tenant, Function<String, Practitioner> practitioners,
                DetectionProperties properties) {
        this.jdbc = jdbc;
        this.tokens = tokens;
        this.tenant = tenant;
        this.practitioners = practitioners;
        this.labels = properties.sensitiveLabels();
        this.names = properties.sameFamilyName();
        this.restricted = List.of(tokens.tokenQuery("_security", CONFIDENTIALITY, "R"), tokens.tokenQuery("_security", CONFIDENTIALITY, "V"));
    }

    List<EventRules.Finding> check(AuditEvents.Entry e) {
        if (e.patient() == null || e.outcome() != 0 || !e.patient().startsWith("Patient/")) {
            return List.of();
        }
        String patientId = e.patient().substring("Patient/".length());
        String role = e.agentRole();
        List<EventRules.Finding> found = new ArrayList<>(1);
        if (labels && !"patient".equals(role) && !"auditor".equals(role)
                && labelled.get(patientId, id -> has(id, "_security", restricted))) {
            found.add(new EventRules.Finding(EventRules.SENSITIVE_PATIENT, "Access to a sensitive patient's record", e.patient(),
                    "access to the record of a patient labelled restricted (meta.security R or V)", DAY));
        }
        String fhirUser = e.fhirUser();
        if (names && "practitioner".equals(role) && fhirUser != null && fhirUser.startsWith("Practitioner/")) {
            int match = nameMatches.get(fhirUser + " " + patientId, k -> nameMatch(fhirUser.substring("Practitioner/".length()),
                    patientId));
            if (match > 0) {
                found.add(match == 2
                        ? new EventRules.Finding(SELF_ACCESS, "A practitioner reading what may be its own record", e.patient(),
                        "the practitioner's family and given names (keyed hashes) equal the patient's", DAY)
                        : new EventRules.Finding(SAME_FAMILY_NAME, "A practitioner reading the record of a patient with its family name",
                        e.patient(), "the practitioner's family name (keyed hash) equals the patient's", DAY));
            }
        }
        return found;
    }

    private int nameMatch(String practitionerId, String patientId) {
        NameTokens own = practitionerNames.get(practitionerId, this::nameTokens);
        if (own.family().isEmpty() || !has(patientId, "family", own.family())) {
            return 0;
        }
        return !own.given().isEmpty() && has(patientId, "given", own.given()) ? 2 : 1;
    }

    /** Whether the patient's index holds one of these tokens for the parameter (primary key lookups). */
    private boolean has(String patientId, String param, java.util.Collection<String> wanted) {
        String marks = String.join(", ", java.util.Collections.nCopies(wanted.size(), "?"));
        List<Object> args = new ArrayList<>(List.of(tenant, param, patientId));
        args.addAll(wanted);
        Long n = jdbc.queryForObject("select count(*) from search_token where tenant = ? and resource_type = 'Patient' and param = ? "
                + "and resource_id = ? and token in (" + marks + ")", Long.class, args.toArray());
        return n != null && n > 0;
    }

    private NameTokens nameTokens(String practitionerId) {
        Practitioner p;
        try {
            p = practitioners.apply(practitionerId);
        } catch (RuntimeException unknown) { // no such Practitioner (or not readable): nothing to compare
            return NameTokens.NONE;
        }
        Set<String> family = new LinkedHashSet<>();
        Set<String> given = new LinkedHashSet<>();
        for (HumanName name : p.getName()) {
            if (name.hasFamily()) {
                spellings(name.getFamily()).forEach(s -> family.add(tokens.exactStringToken("family", s)));
            }
            name.getGiven().forEach(g -> spellings(g.getValue()).forEach(s -> given.add(tokens.exactStringToken("given", s))));
        }
        return new NameTokens(family, given);
    }

    /** How a name is commonly written: as is, in capitals (French usage for family names), capitalised. */
    private static Set<String> spellings(String name) {
        Set<String> out = new LinkedHashSet<>();
        if (name == null || name.isBlank()) {
            return out;
        }
        String s = name.strip();
        out.add(s);
        out.add(s.toUpperCase(Locale.ROOT));
        out.add(s.substring(0, 1).toUpperCase(Locale.ROOT) + s.substring(1).toLowerCase(Locale.ROOT));
        return out;
    }
}
