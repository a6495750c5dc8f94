package fr.hdsvault.backup;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * What a backup set holds: its identity, the point in time it captures, and every item with its
 * SHA-256 and size. The objects are listed in the item {@value #OBJECT_LIST}, one line per object
 * ({@code key sha256 size}), so that this text stays small and its hash covers them all.
 *
 * <p>A line-based text, signed as bytes (the signature is over exactly what is stored):
 * <pre>
 * hds-vault backup set 1
 * id 20261128T020000Z-3f9a1c
 * vault 6f1c...                       the vault's identity
 * point-in-time 2026-11-28T02:00:00.123Z
 * started 2026-11-28T02:00:00.101Z
 * schema 5                            the index schema version of the snapshot
 * objects 1234 5678901                count and bytes of the referenced objects
 * item &lt;name&gt; &lt;sha256 hex&gt; &lt;size&gt;     one per item, in writing order
 * </pre>
 */
public record Manifest(String id, String vaultId, Instant pointInTime, Instant startedAt, int schemaVersion,
                       long objectCount, long objectBytes, List<Item> items) {

    public static final String HEADER = "hds-vault backup set 1";
    /** The item listing every referenced object. */
    public static final String OBJECT_LIST = "objects";
    private static final Pattern NAME = Pattern.compile("[a-z0-9][a-z0-9.-]{0,63}");
    private static final Pattern HEX64 = Pattern.compile("[0-9a-f]{64}");

    /** One item: a file of the set, stored under {@code sets/<id>/items/<name>}. */
    public record Item(String name, String sha256, long size) {
        public Item {
            if (!NAME.matcher(name).matches() || !HEX64.matcher(sha256).matches() || size < 0) {
                throw new IllegalArgumentException("invalid manifest item");
            }
        }
    }

    public Manifest {
        items = List.copyOf(items);
        if (!BackupTarget.isSetId(id)) {
            throw new IllegalArgumentException("invalid backup set id");
        }
    }

    public Optional<Item> item(String name) {
        return items.stream().filter(i -> i.name().equals(name)).findFirst();
    }

    public byte[] render() {
        StringBuilder out = new StringBuilder(HEADER).append('\n')
                .append("id ").append(id).append('\n')
                .append("vault ").append(vaultId).append('\n')
                .append("point-in-time ").append(pointInTime).append('\n')
                .append("started ").append(startedAt).append('\n')
                .append("schema ").append(schemaVersion).append('\n')
                .append("objects ").append(objectCount).append(' ').append(objectBytes).append('\n');
        for (Item item : items) {
            out.append("item ").append(item.name()).append(' ').append(item.sha256()).append(' ').append(item.size()).append('\n');
        }
        return out.toString().getBytes(StandardCharsets.UTF_8);
    }

    /** Parses a manifest; any deviation from the format is a {@link BackupException}. */
    public static Manifest parse(byte[] bytes) {
        String[] lines = new String(bytes, StandardCharsets.UTF_8).split("\n", -1);
        try {
            if (lines.length < 8 || !lines[0].equals(HEADER) || !lines[lines.length - 1].isEmpty()) {
                throw new IllegalArgumentException("header");
            }
            String id = field(lines[1], "id");
            String vault = field(lines[2], "vault");
            Instant pit = Instant.parse(field(lines[3], "point-in-time"));
            Instant started = Instant.parse(field(lines[4], "started"));
            int schema = Integer.parseInt(field(lines[5], "schema"));
            String[] objects = field(lines[6], "objects").split(" ");
            List<Item> items = new ArrayList<>();
            for (int i = 7; i < lines.length - 1; i++) {
                String[] parts = field(lines[i], "item").split(" ");
                if (parts.length != 3) {
                    throw new IllegalArgumentException("item");
                }
                items.add(new Item(parts[0], parts[1], Long.parseLong(parts[2])));
            }
            return new Manifest(id, vault, pit, started, schema, Long.parseLong(objects[0]), Long.parseLong(objects[1]), items);
        } catch (RuntimeException e) {
            throw new BackupException("the manifest is not a valid hds-vault backup manifest", e);
        }
    }

    private static String field(String line, String name) {
        if (!line.startsWith(name + " ")) {
            throw new IllegalArgumentException(name);
        }
        return line.substring(name.length() + 1);
    }
}
