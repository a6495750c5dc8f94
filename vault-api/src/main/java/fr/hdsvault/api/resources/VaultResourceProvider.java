package fr.hdsvault.api.resources;

import ca.uhn.fhir.rest.annotation.Create;
import ca.uhn.fhir.rest.annotation.Delete;
import ca.uhn.fhir.rest.annotation.History;
import ca.uhn.fhir.rest.annotation.IdParam;
import ca.uhn.fhir.rest.annotation.Read;
import ca.uhn.fhir.rest.annotation.ResourceParam;
import ca.uhn.fhir.rest.annotation.Update;
import ca.uhn.fhir.rest.api.MethodOutcome;
import ca.uhn.fhir.rest.server.IResourceProvider;
import java.util.List;
import org.hl7.fhir.instance.model.api.IBaseResource;
import org.hl7.fhir.instance.model.api.IIdType;

/**
 * The REST interactions of one resource type, bound by HAPI. One instance per R4 type, all
 * backed by the same {@link VaultRepository}.
 */
public final class VaultResourceProvider implements IResourceProvider {

    private final Class<? extends IBaseResource> type;
    private final String typeName;
    private final VaultRepository repository;

    public VaultResourceProvider(Class<? extends IBaseResource> type, String typeName, VaultRepository repository) {
        this.type = type;
        this.typeName = typeName;
        this.repository = repository;
    }

    @Override
    public Class<? extends IBaseResource> getResourceType() {
        return type;
    }

    @Read(version = true)
    public IBaseResource read(@IdParam IIdType id) {
        return id.hasVersionIdPart() ? repository.vread(typeName, id.getIdPart(), versionOf(id))
                : repository.read(typeName, id.getIdPart());
    }

    @Create
    public MethodOutcome create(@ResourceParam IBaseResource resource) {
        VaultRepository.Written written = repository.create(typeName, resource);
        return outcome(written);
    }

    /** The version in the id, when present, comes from an If-Match header. */
    @Update
    public MethodOutcome update(@IdParam IIdType id, @ResourceParam IBaseResource resource) {
        Long expected = id.hasVersionIdPart() ? versionOf(id) : null;
        return outcome(repository.update(typeName, id.getIdPart(), resource, expected));
    }

    @Delete
    public MethodOutcome delete(@IdParam IIdType id) {
        repository.delete(typeName, id.getIdPart());
        return new MethodOutcome();
    }

    @History
    public List<IBaseResource> history(@IdParam IIdType id) {
        return repository.history(typeName, id.getIdPart());
    }

    private static MethodOutcome outcome(VaultRepository.Written written) {
        MethodOutcome outcome = new MethodOutcome(written.resource().getIdElement());
        outcome.setCreated(written.created());
        outcome.setResource(written.resource());
        return outcome;
    }

    private static long versionOf(IIdType id) {
        try {
            return Long.parseLong(id.getVersionIdPart());
        } catch (NumberFormatException e) {
            throw new ca.uhn.fhir.rest.server.exceptions.InvalidRequestException("Invalid version id: " + id.getVersionIdPart());
        }
    }
}
