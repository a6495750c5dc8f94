package fr.hdsvault.crypto;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentSkipListMap;

/** A {@link KekRegistry} held in memory: for tests and tools; the vault persists its registry in the index database. */
public final class InMemoryKekRegistry implements KekRegistry {

    private record Key(String kekId, int version) {
    }

    private static final Comparator<Key> ORDER =
            Comparator.comparing(Key::kekId).thenComparingInt(Key::version);

    private final ConcurrentSkipListMap<Key, KekRecord> records = new ConcurrentSkipListMap<>(ORDER);

    @Override
    public Optional<KekRecord> find(String kekId, int version) {
        return Optional.ofNullable(records.get(new Key(kekId, version)));
    }

    @Override
    public Optional<KekRecord> latest(String kekId) {
        Map.Entry<Key, KekRecord> last = records.floorEntry(new Key(kekId, Integer.MAX_VALUE));
        return last != null && last.getKey().kekId().equals(kekId) ? Optional.of(last.getValue()) : Optional.empty();
    }

    @Override
    public boolean insert(KekRecord record) {
        return records.putIfAbsent(new Key(record.kekId(), record.version()), record) == null;
    }

    @Override
    public boolean replace(KekRecord record, int expectedRootKeyVersion) {
        Key key = new Key(record.kekId(), record.version());
        KekRecord current = records.get(key);
        if (current == null || current.destroyed() || current.rootKeyVersion() != expectedRootKeyVersion) {
            return false;
        }
        return records.replace(key, current, record);
    }

    @Override
    public List<KekRecord> listAfter(String afterKekId, int afterVersion, int limit) {
        List<KekRecord> page = new ArrayList<>(Math.min(limit, 1024));
        for (KekRecord r : records.tailMap(new Key(afterKekId, afterVersion), false).values()) {
            if (page.size() == limit) {
                break;
            }
            page.add(r);
        }
        return page;
    }

    @Override
    public List<KekRecord> versions(String kekId) {
        return new ArrayList<>(records.subMap(new Key(kekId, 0), true, new Key(kekId, Integer.MAX_VALUE), true).values());
    }
}
