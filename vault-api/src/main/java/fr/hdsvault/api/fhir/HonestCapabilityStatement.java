package fr.hdsvault.api.fhir;

import ca.uhn.fhir.interceptor.api.Hook;
import ca.uhn.fhir.interceptor.api.Interceptor;
import ca.uhn.fhir.interceptor.api.Pointcut;
import fr.hdsvault.api.resources.SearchParameters;
import java.util.List;
import org.hl7.fhir.instance.model.api.IBaseConformance;
import org.hl7.fhir.r4.model.CapabilityStatement;
import org.hl7.fhir.r4.model.Enumerations;

/**
 * One provider class serves every type, through one search method that takes its parameters
 * from the request, so HAPI lists none: each type's list is written here from
 * {@link SearchParameters}, the list searches accept (a type without a {@code code} element
 * does not offer {@code code}).
 * HAPI also derives {@code _revinclude} targets from every reference parameter of every type
 * (a 2.4 MB statement); the vault lists what it follows: each type's reference parameters for
 * {@code _include}, the reference parameters it indexes for {@code _revinclude}. The software
 * is the vault, not HAPI.
 */
@Interceptor
public final class HonestCapabilityStatement {

    private static final String VERSION = versionOrDevelopment();

    private final SearchParameters parameters;
    private final int maxPageSize;

    public HonestCapabilityStatement(SearchParameters parameters, int maxPageSize) {
        this.parameters = parameters;
        this.maxPageSize = maxPageSize;
    }

    @Hook(Pointcut.SERVER_CAPABILITY_STATEMENT_GENERATED)
    public void trim(IBaseConformance statement) {
        if (!(statement instanceof CapabilityStatement cs)) {
            return;
        }
        cs.setName("HdsVault").setPublisher("hds-vault");
        cs.getSoftware().setName("hds-vault").setVersion(VERSION);
        for (CapabilityStatement.CapabilityStatementRestComponent rest : cs.getRest()) {
            rest.setDocumentation("Search parameters, modifiers and prefixes not listed here are refused with 400 (or ignored "
                    + "with Prefer: handling=lenient). Pages hold at most " + maxPageSize + " entries: a larger _count is "
                    + "lowered to " + maxPageSize + ".");
            for (CapabilityStatement.CapabilityStatementRestResourceComponent resource : rest.getResource()) {
                if (!resource.getType().equals("AuditEvent")) { // one search method serves every type: list what each evaluates
                    resource.getSearchParam().clear();
                    parameters.all(resource.getType()).forEach((name, kind) -> resource.addSearchParam().setName(name).setType(
                            switch (kind) {
                                case ID, TOKEN -> Enumerations.SearchParamType.TOKEN;
                                case LAST_UPDATED, DATE -> Enumerations.SearchParamType.DATE;
                                case STRING -> Enumerations.SearchParamType.STRING;
                                case URI -> Enumerations.SearchParamType.URI;
                                case REFERENCE -> Enumerations.SearchParamType.REFERENCE;
                                case AUDIT -> throw new IllegalStateException("AuditEvent's are its provider's");
                            }).setDocumentation(modifiers(resource.getType(), name)));
                }
                resource.getSearchParam().removeIf(p -> parameters.kind(resource.getType(), p.getName()).isEmpty());
                resource.getSearchInclude().clear();
                resource.getSearchRevInclude().clear();
                if (!resource.getType().equals("AuditEvent")) {
                    parameters.includes(resource.getType()).forEach(resource::addSearchInclude);
                    parameters.reverseIncludes(resource.getType()).forEach(resource::addSearchRevInclude);
                }
            }
        }
    }

    /** R4's searchParam has no field for modifiers: they are named in its documentation. */
    private String modifiers(String type, String param) {
        List<String> modifiers = parameters.modifiers(type, param);
        return modifiers.isEmpty() ? "No modifier." : "Modifiers: :" + String.join(", :", modifiers) + ".";
    }

    private static String versionOrDevelopment() {
        String v = HonestCapabilityStatement.class.getPackage().getImplementationVersion();
        return v != null ? v : "development";
    }
}
