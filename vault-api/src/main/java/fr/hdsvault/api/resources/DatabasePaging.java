package fr.hdsvault.api.resources;

import ca.uhn.fhir.rest.api.server.IBundleProvider;
import ca.uhn.fhir.rest.api.server.RequestDetails;
import ca.uhn.fhir.rest.server.IPagingProvider;
import fr.hdsvault.api.security.AccessPolicy;
import fr.hdsvault.crypto.EncryptionContext;
import fr.hdsvault.crypto.EnvelopeCipher;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.zip.GZIPInputStream;
import java.util.zip.GZIPOutputStream;
import org.springframework.jdbc.core.JdbcTemplate;

/**
 * Search results kept between pages in the index database ({@code search_result}), so that
 * any vault node serves the next page of a search another node ran, and pages do not shift
 * under concurrent writes. Each list is sealed (the matches name records: which resources a
 * search found is itself clinical information) under the paging KEK, bound to its opaque id,
 * and served back only to the grants that ran the search (their key's SHA-256 is stored): a
 * paging link replayed with another user's token, or after {@code lifetime}, answers 410 as if
 * the search had expired, and reveals nothing.
 */
public final class DatabasePaging implements IPagingProvider {

    private static final String HEADER = "#";
    private static final java.util.regex.Pattern UUID_TEXT = java.util.regex.Pattern.compile("[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}");

    private final JdbcTemplate jdbc;
    private final EnvelopeCipher envelopes;
    private final String tenant;
    private final Duration lifetime;
    private final Clock clock;
    private final Map<String, CallerBoundResults.Kind<?>> kinds = new ConcurrentHashMap<>();
    private int defaultPageSize = 20;
    private int maximumPageSize = 1000;
    private volatile Instant lastPurge = Instant.EPOCH;

    public DatabasePaging(JdbcTemplate jdbc, EnvelopeCipher envelopes, String tenant, Duration lifetime, Clock clock) {
        this.jdbc = jdbc;
        this.envelopes = envelopes;
        this.tenant = tenant;
        this.lifetime = lifetime;
        this.clock = clock;
    }

    /** A kind of result list this provider keeps (its name is stored with each list). */
    public DatabasePaging register(CallerBoundResults.Kind<?> kind) {
        kinds.put(kind.name(), kind);
        return this;
    }

    public void setDefaultPageSize(int size) {
        defaultPageSize = size;
    }

    public void setMaximumPageSize(int size) {
        maximumPageSize = size;
    }

    @Override
    public int getDefaultPageSize() {
        return defaultPageSize;
    }

    @Override
    public int getMaximumPageSize() {
        return maximumPageSize;
    }

    @Override
    public String storeResultList(RequestDetails request, IBundleProvider list) {
        if (!(list instanceof CallerBoundResults<?> results) || !kinds.containsKey(results.kind().name())) {
            // HAPI hands histories over wrapped in its own provider; their pages are linked by _offset and never read back.
            return null;
        }
        String id = UUID.randomUUID().toString();
        Instant now = clock.instant();
        byte[] sealed = envelopes.seal(kek(), context(id), gzip(lines(results)));
        jdbc.update("insert into search_result (id, owner, kind, page_size, created_at, expires_at, matches) values (?, ?, ?, ?, ?, ?, ?)",
                id, ownerHash(results.owner()), results.kind().name(), results.preferredPageSize(),
                OffsetDateTime.ofInstant(now, ZoneOffset.UTC), OffsetDateTime.ofInstant(now.plus(lifetime), ZoneOffset.UTC), sealed);
        purgeExpired(now);
        return id;
    }

    @Override
    public IBundleProvider retrieveResultList(RequestDetails request, String id) {
        if (!UUID_TEXT.matcher(id).matches()) {
            return null;
        }
        List<Map<String, Object>> rows = jdbc.queryForList("select owner, kind, page_size, matches from search_result "
                + "where id = ? and expires_at > ?", id, OffsetDateTime.ofInstant(clock.instant(), ZoneOffset.UTC));
        if (rows.isEmpty()) {
            return null;
        }
        Map<String, Object> row = rows.get(0);
        if (!MessageDigest.isEqual(((String) column(row, "owner")).getBytes(StandardCharsets.US_ASCII),
                ownerHash(AccessPolicy.currentCaller().grantKey()).getBytes(StandardCharsets.US_ASCII))) {
            return null;
        }
        CallerBoundResults.Kind<?> kind = kinds.get((String) column(row, "kind"));
        if (kind == null) {
            return null;
        }
        Number pageSize = (Number) column(row, "page_size");
        String text = new String(gunzip(envelopes.open(context(id), (byte[]) column(row, "matches"))), StandardCharsets.UTF_8);
        return rebuild(kind, text, pageSize == null ? null : pageSize.intValue());
    }

    /** A list's text: its header, if any, on a first line starting with '#', then a match a line. */
    private static <T> IBundleProvider rebuild(CallerBoundResults.Kind<T> kind, String text, Integer pageSize) {
        List<T> matches = new ArrayList<>();
        String header = null;
        for (String line : text.split("\n")) {
            if (line.startsWith(HEADER)) {
                header = line.substring(HEADER.length());
            } else if (!line.isEmpty()) {
                matches.add(kind.decode(line));
            }
        }
        return kind.rebuild(matches, pageSize, header);
    }

    private static <T> byte[] lines(CallerBoundResults<T> results) {
        StringBuilder text = new StringBuilder();
        if (results.header() != null) {
            text.append(HEADER).append(results.header()).append('\n');
        }
        for (T match : results.matches()) {
            text.append(results.kind().encode(match)).append('\n');
        }
        return text.toString().getBytes(StandardCharsets.UTF_8);
    }

    /** Expired lists are removed, at most once a minute, by whichever node stores a list. */
    private void purgeExpired(Instant now) {
        if (Duration.between(lastPurge, now).toSeconds() >= 60) {
            lastPurge = now;
            jdbc.update("delete from search_result where expires_at <= ?", OffsetDateTime.ofInstant(now, ZoneOffset.UTC));
        }
    }

    private String kek() {
        return "paging:" + tenant;
    }

    private EncryptionContext context(String id) {
        return new EncryptionContext(tenant, "SearchResult", id, "1");
    }

    private static Object column(Map<String, Object> row, String name) {
        return row.containsKey(name) ? row.get(name) : row.get(name.toUpperCase(java.util.Locale.ROOT));
    }

    private static String ownerHash(String grantKey) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(grantKey.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static byte[] gzip(byte[] bytes) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (GZIPOutputStream z = new GZIPOutputStream(out)) {
            z.write(bytes);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    private static byte[] gunzip(byte[] bytes) {
        try (GZIPInputStream z = new GZIPInputStream(new ByteArrayInputStream(bytes))) {
            return z.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
