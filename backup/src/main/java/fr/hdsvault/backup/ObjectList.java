package fr.hdsvault.backup;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.io.OutputStreamWriter;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;

/** The {@value Manifest#OBJECT_LIST} item: one line per referenced object, {@code key sha256 size}, sorted by key. */
public final class ObjectList {

    /** One object of a set: its primary key, hex SHA-256 and size. */
    public record Entry(String key, String sha256, long size) {
    }

    private ObjectList() {
    }

    static void write(Collection<Entry> entries, OutputStream out) throws IOException {
        List<Entry> sorted = new ArrayList<>(entries);
        sorted.sort(Comparator.comparing(Entry::key));
        Writer w = new OutputStreamWriter(out, StandardCharsets.UTF_8);
        for (Entry e : sorted) {
            w.write(e.key() + " " + e.sha256() + " " + e.size() + "\n");
        }
        w.flush();
    }

    static List<Entry> read(InputStream in) {
        List<Entry> out = new ArrayList<>();
        // Not closed here: the caller reads on to the end, where the item's hash is checked.
        BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
        try {
            String line;
            while ((line = r.readLine()) != null) {
                String[] parts = line.split(" ");
                if (parts.length != 3) {
                    throw new BackupException("the object list has a malformed line");
                }
                out.add(new Entry(parts[0], parts[1], Long.parseLong(parts[2])));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (NumberFormatException e) {
            throw new BackupException("the object list has a malformed size");
        }
        return out;
    }
}
