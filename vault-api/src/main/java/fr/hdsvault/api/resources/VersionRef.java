package fr.hdsvault.api.resources;

import java.time.Instant;

/** One stored version, as the index lists it: a search match, a history entry, a compartment member. */
public record VersionRef(String type, String id, long version, boolean deleted, Instant lastUpdated) {

    /** The version's reference, Type/id/_history/version. */
    public String reference() {
        return type + "/" + id + "/_history/" + version;
    }
}
