package fr.hdsvault.api.audit;

import ca.uhn.fhir.context.FhirContext;
import fr.hdsvault.crypto.EncryptionContext;
import fr.hdsvault.crypto.EnvelopeCipher;
import fr.hdsvault.crypto.tlog.CompactRange;
import fr.hdsvault.crypto.tlog.PrunedTree;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Function;
import org.hl7.fhir.r4.model.AuditEvent;
import org.springframework.jdbc.core.JdbcTemplate;

/**
 * The read side of the audit log: searches by blind tokens, decrypted events, and the tree
 * behind proofs (pruned prefix included). The write side is {@link AuditTrail}.
 */
public final class AuditLog {

    public static final int MAX_MATCHES = 10_000;

    /**
     * What an audit search asks for; null members are not constrained. Tokens come from
     * {@link #token}; events recorded in [from, to).
     */
    public record Query(String patientToken, String agentToken, String entityToken, String action, Integer outcome,
                        String subtype, Instant from, Instant to, boolean newestFirst) {
    }

    private final JdbcTemplate jdbc;
    private final EnvelopeCipher envelopes;
    private final FhirContext fhir;
    private final Function<String, String> blind;
    private final String tenant;

    /** @param blind the HMAC tokens of the searchable columns (agent, patient, entity), as the trail writes them */
    public AuditLog(JdbcTemplate jdbc, EnvelopeCipher envelopes, FhirContext fhir, Function<String, String> blind, String tenant) {
        this.jdbc = jdbc;
        this.envelopes = envelopes;
        this.fhir = fhir;
        this.blind = blind;
        this.tenant = tenant;
    }

    /** The searchable token of a value: kind is agent, patient or entity. */
    public String token(String kind, String value) {
        return value == null ? null : blind.apply(kind + ":" + value);
    }

    /** How an event is sealed: its position is its id. */
    EncryptionContext context(long seq) {
        return new EncryptionContext(tenant, "AuditEvent", String.valueOf(seq), "1");
    }

    /** Positions of the events matching a query, in order. */
    public List<Long> search(Query q) {
        StringBuilder sql = new StringBuilder("select seq from audit_event where 1 = 1");
        List<Object> args = new ArrayList<>();
        for (Object[] clause : new Object[][] {{"patient_token", q.patientToken()}, {"agent_token", q.agentToken()},
                {"entity_token", q.entityToken()}, {"action", q.action()}, {"outcome", q.outcome()}, {"subtype", q.subtype()}}) {
            if (clause[1] != null) {
                sql.append(" and ").append(clause[0]).append(" = ?");
                args.add(clause[1]);
            }
        }
        if (q.from() != null) {
            sql.append(" and recorded_at >= ?");
            args.add(OffsetDateTime.ofInstant(q.from(), ZoneOffset.UTC));
        }
        if (q.to() != null) {
            sql.append(" and recorded_at < ?");
            args.add(OffsetDateTime.ofInstant(q.to(), ZoneOffset.UTC));
        }
        sql.append(" order by seq").append(q.newestFirst() ? " desc" : "").append(" limit ").append(MAX_MATCHES);
        return jdbc.queryForList(sql.toString(), Long.class, args.toArray());
    }

    /** The events at these positions, decrypted, in the given order. */
    public List<AuditEvent> read(List<Long> positions) {
        if (positions.isEmpty()) {
            return List.of();
        }
        Map<Long, byte[]> sealed = new HashMap<>(); // one query per page, not per event
        jdbc.query("select seq, envelope from audit_event where seq in (" + String.join(", ", Collections.nCopies(positions.size(), "?"))
                + ")", rs -> {
                    sealed.put(rs.getLong(1), rs.getBytes(2));
                }, positions.toArray());
        List<AuditEvent> out = new ArrayList<>();
        for (Long seq : positions) {
            byte[] envelope = sealed.get(seq);
            if (envelope == null) {
                throw new IllegalStateException("audit event " + seq + " is no longer stored (pruned by retention)");
            }
            AuditEvent event = fhir.newJsonParser().parseResource(AuditEvent.class,
                    new String(envelopes.open(context(seq), envelope), StandardCharsets.UTF_8));
            event.setId(String.valueOf(seq)); // its position in the log, bound into the envelope's context and the leaf
            out.add(event);
        }
        return out;
    }

    /** A stored row as its Merkle leaf, and its event decrypted. */
    public record Leaf(AuditLeaf leaf, String eventJson) {
    }

    /** The stored rows from {@code from} to {@code to} (excluded), in order: what a restitution archive carries. */
    public List<Leaf> leaves(long from, long to) {
        return jdbc.query("select seq, recorded_at, action, outcome, subtype, agent_token, patient_token, entity_token, envelope "
                        + "from audit_event where seq >= ? and seq < ? order by seq", (rs, n) -> {
                    long seq = rs.getLong(1);
                    byte[] envelope = rs.getBytes(9);
                    AuditLeaf leaf = new AuditLeaf(seq, rs.getObject(2, OffsetDateTime.class).toInstant(), rs.getString(3), rs.getInt(4),
                            rs.getString(5), rs.getString(6), rs.getString(7), rs.getString(8), envelope);
                    return new Leaf(leaf, new String(envelopes.open(context(seq), envelope), StandardCharsets.UTF_8));
                }, from, to);
    }

    /** The leaves retention pruned, as the peaks of their subtrees (empty when nothing was pruned). */
    public CompactRange prunedPrefix() {
        return AuditRetention.prunedPrefix(jdbc).orElseGet(CompactRange::new);
    }

    /** The patient token of the event at a position, or empty when it has no patient (or does not exist). */
    public Optional<String> patientTokenAt(long seq) {
        return jdbc.query("select patient_token from audit_event where seq = ?", (rs, n) -> rs.getString(1), seq).stream()
                .filter(Objects::nonNull).findFirst();
    }

    public boolean exists(long seq) {
        return jdbc.queryForObject("select count(*) from audit_event where seq = ?", Integer.class, seq) == 1;
    }

    /**
     * The tree of the first {@code size} events as proofs need it: the peaks kept where retention
     * pruned, and the stored leaves after them.
     */
    public PrunedTree tree(long size) {
        CompactRange pruned = AuditRetention.prunedPrefix(jdbc).orElseGet(CompactRange::new);
        List<byte[]> leaves = jdbc.query("select leaf_hash from audit_event where seq >= ? and seq < ? order by seq",
                (rs, n) -> rs.getBytes(1), pruned.size(), size);
        return new PrunedTree(pruned, leaves);
    }
}
