package fr.hdsvault.api.resources;

/** A stored version as the index knows it: where its envelope is, and the compartment it was written in. */
public record StoredVersion(String type, String id, long version, String objectKey, String compartment) {
}
