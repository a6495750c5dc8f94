package fr.hdsvault.api.resources;

/** Search results that belong to the caller that ran the search (its grant key). */
public interface CallerOwned {
    String owner();
}
