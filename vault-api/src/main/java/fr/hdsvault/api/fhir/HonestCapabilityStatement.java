package fr.hdsvault.api.fhir;

import ca.uhn.fhir.interceptor.api.Hook;
import ca.uhn.fhir.interceptor.api.Interceptor;
import ca.uhn.fhir.interceptor.api.Pointcut;
import fr.hdsvault.api.resources.SearchTokens;
import org.hl7.fhir.instance.model.api.IBaseConformance;
import org.hl7.fhir.r4.model.CapabilityStatement;

/**
 * One provider class serves every type, so HAPI would list the same search parameters for
 * every type. This trims each type's list to the parameters it really supports (a type
 * without a {@code code} element does not offer {@code code}), matching what searches accept.
 */
@Interceptor
public final class HonestCapabilityStatement {

    private final SearchTokens tokens;

    public HonestCapabilityStatement(SearchTokens tokens) {
        this.tokens = tokens;
    }

    @Hook(Pointcut.SERVER_CAPABILITY_STATEMENT_GENERATED)
    public void trim(IBaseConformance statement) {
        if (!(statement instanceof CapabilityStatement cs)) {
            return;
        }
        for (CapabilityStatement.CapabilityStatementRestComponent rest : cs.getRest()) {
            for (CapabilityStatement.CapabilityStatementRestResourceComponent resource : rest.getResource()) {
                resource.getSearchParam().removeIf(p -> !tokens.supports(resource.getType(), p.getName()));
            }
        }
    }
}
