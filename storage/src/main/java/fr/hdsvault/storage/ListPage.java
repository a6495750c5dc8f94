package fr.hdsvault.storage;

import java.util.List;

/**
 * One page of a listing, in key order. Pass {@code nextStartAfter} to the next call; it is
 * null on the last page. Paging by key (not by offset) stays correct while objects are added.
 */
public record ListPage(List<ObjectInfo> objects, String nextStartAfter) {
    public ListPage {
        objects = List.copyOf(objects);
    }

    public boolean isLast() {
        return nextStartAfter == null;
    }
}
