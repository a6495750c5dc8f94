package fr.hdsvault.api.cli;

import fr.hdsvault.api.audit.AuditConfig;
import fr.hdsvault.api.audit.AuditKeys;
import fr.hdsvault.api.audit.AuditLeaf;
import fr.hdsvault.api.lifecycle.RestitutionController;
import fr.hdsvault.api.security.Role;
import fr.hdsvault.crypto.tlog.Checkpoint;
import fr.hdsvault.crypto.tlog.CompactRange;
import fr.hdsvault.crypto.tlog.MerkleTree;
import fr.hdsvault.crypto.tlog.PrunedTree;
import java.io.BufferedReader;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestOutputStream;
import java.security.MessageDigest;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.HashMap;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import tools.jackson.databind.json.JsonMapper;

/**
 * {@code vault restitution --out DIR}: at the end of a contract, everything the vault holds for
 * its client, in a self-contained archive (docs/reversibility.md): the FHIR Bulk Data export of
 * every resource (NDJSON, Binary content inline), the whole audit trail with the signed
 * checkpoint its leaves rebuild, and a manifest of every file with its SHA-256, attested (signed)
 * by the vault. With {@code --group ID}, the archive holds one Group's patients: their data, and
 * the events of the trail that name one of them, each with its inclusion proof in the checkpoint
 * (the rest of the trail names other patients). {@code vault restitution verify DIR --public-key
 * FILE} checks all of it offline.
 * The archive is in clear: hand it over as the contract says (an encrypted medium, in person).
 */
@Command(name = "restitution", mixinStandardHelpOptions = true, subcommands = RestitutionCommand.Verify.class,
        description = "Write the restitution archive of a running vault: every resource (FHIR Bulk Data NDJSON), the audit trail "
                + "with its checkpoint, a manifest of SHA-256s attested by the vault. 'restitution verify' checks one offline.")
public final class RestitutionCommand implements Callable<Integer> {

    static final String ARCHIVE_TYPE = "hds-vault restitution archive";
    static final String MANIFEST = "manifest.json";
    static final String ATTESTATION = "attestation.json";
    static final String EVENTS = "audit/events.ndjson";
    static final String CHECKPOINT = "audit/checkpoint.json";
    private static final JsonMapper JSON = JsonMapper.builder().build();
    private static final int LEAVES_PER_REQUEST = 1000;
    private static final java.util.regex.Pattern ID = java.util.regex.Pattern.compile("[A-Za-z0-9\\-.]{1,64}");

    @Spec
    CommandSpec spec;
    @Mixin
    AdminClient client;
    @Option(names = "--out", paramLabel = "DIR", description = "Where to write the archive (a new or empty directory); required.")
    Path out;
    @Option(names = "--group", paramLabel = "ID", description = "Only the patients of this Group: their data and the audit events "
            + "that name them, each with its proof of inclusion in the signed trail.")
    String group;

    @Override
    @SuppressWarnings("unchecked")
    public Integer call() throws Exception {
        PrintWriter log = spec.commandLine().getOut();
        if (out == null) {
            return BackupCommand.report(spec, false, "give --out DIR, a new or empty directory for the archive");
        }
        if (Files.exists(out) && (!Files.isDirectory(out) || Files.list(out).findAny().isPresent())) {
            return BackupCommand.report(spec, false, out + " is not a new or empty directory");
        }
        if (group != null && !ID.matcher(group).matches()) {
            return BackupCommand.report(spec, false, "--group takes a Group's id");
        }
        Files.createDirectories(out.resolve("data"));
        Files.createDirectories(out.resolve("audit"));

        // 1. The data: a system- or Group-level Bulk Data export, as the client's own backend service would run it.
        String kickoffPath = group == null ? "/fhir/$export" : "/fhir/Group/" + group + "/$export";
        HttpResponse<String> kickoff = client.exchange("GET", kickoffPath, Role.SERVICE, "Prefer", "respond-async",
                "Accept", "application/fhir+json");
        if (kickoff.statusCode() != 202) {
            return BackupCommand.refused(spec, new AdminClient.Answer(kickoff.statusCode(), kickoff.body()));
        }
        String status = kickoff.headers().firstValue("Content-Location").orElseThrow();
        HttpResponse<String> done;
        while (true) {
            done = client.exchange("GET", status, Role.SERVICE);
            if (done.statusCode() != 202 && done.statusCode() != 429) {
                break;
            }
            done.headers().firstValue("X-Progress").ifPresent(p -> log.println("export: " + p));
            log.flush();
            Thread.sleep(1000L * Long.parseLong(done.headers().firstValue("Retry-After").orElse("2")));
        }
        if (done.statusCode() != 200) {
            return BackupCommand.refused(spec, new AdminClient.Answer(done.statusCode(), done.body()));
        }
        Map<String, Object> exportManifest = JSON.readValue(done.body(), Map.class);
        List<Map<String, Object>> files = new ArrayList<>();
        Map<String, Long> counts = new TreeMap<>();
        Set<String> patients = new HashSet<>(); // "Patient/id" of the Group's members, as exported
        int n = 0;
        for (String kind : List.of("output", "error")) {
            for (Map<String, Object> item : (List<Map<String, Object>>) exportManifest.get(kind)) {
                String type = (String) item.get("type");
                String name = String.format("data/%04d-%s%s.ndjson", ++n, type, kind.equals("error") ? "-errors" : "");
                Map<String, Object> file = download((String) item.get("url"), name);
                file.put("resourceType", type);
                file.put("kind", kind);
                if (((Number) file.get("lines")).longValue() != ((Number) item.get("count")).longValue()) {
                    return BackupCommand.report(spec, false, name + ": the vault announced " + item.get("count") + " resources, "
                            + file.get("lines") + " arrived");
                }
                files.add(file);
                if (kind.equals("output")) {
                    counts.merge(type, ((Number) file.get("lines")).longValue(), Long::sum);
                    if (type.equals("Patient")) {
                        try (Stream<String> lines = Files.lines(out.resolve(name), StandardCharsets.UTF_8)) {
                            lines.filter(l -> !l.isBlank()).forEach(l -> patients.add("Patient/" + JSON.readTree(l).path("id").asString()));
                        }
                    }
                }
                log.println("data: " + name + " (" + file.get("lines") + " resources)");
                log.flush();
            }
        }
        client.exchange("DELETE", status, Role.SERVICE); // the export's own copy is no longer needed: its key is destroyed

        // 2. The audit trail: checkpointed and verified by the vault first, then every row up to that checkpoint.
        AdminClient.Answer verified = client.send("GET", "/admin/audit/verify", Role.AUDITOR, java.time.Duration.ofMinutes(30));
        if (verified.status() != 200 || !Boolean.TRUE.equals(verified.object().get("ok"))) {
            return BackupCommand.report(spec, false, "the vault's audit trail does not verify: " + verified.body());
        }
        Map<String, Object> latest = client.send("GET", "/admin/audit/checkpoints?limit=1", Role.AUDITOR,
                java.time.Duration.ofMinutes(1)).array().get(0);
        long treeSize = ((Number) latest.get("treeSize")).longValue();
        Map<String, Object> checkpoint = new LinkedHashMap<>();
        long events = 0;
        // For a Group: the events naming a member, kept until every leaf hash is known to prove them.
        List<Map<String, Object>> selected = new ArrayList<>();
        List<byte[]> leafHashes = new ArrayList<>();
        try (OutputStream eventsOut = Files.newOutputStream(out.resolve(EVENTS))) {
            for (long from = 0; from < treeSize; from += LEAVES_PER_REQUEST) {
                long to = Math.min(treeSize, from + LEAVES_PER_REQUEST);
                Map<String, Object> page = client.send("GET", "/admin/audit/leaves?from=" + from + "&to=" + to, Role.AUDITOR,
                        java.time.Duration.ofMinutes(5)).object();
                if (from == 0) {
                    checkpoint.put("prunedSize", page.get("prunedSize"));
                    checkpoint.put("prunedPeaks", page.get("prunedPeaks"));
                }
                for (Map<String, Object> leaf : (List<Map<String, Object>>) page.get("leaves")) {
                    if (group == null) {
                        eventsOut.write(JSON.writeValueAsBytes(leaf));
                        eventsOut.write('\n');
                        events++;
                        continue;
                    }
                    leafHashes.add(leafOf(leaf).hash());
                    if (leaf.get("event") instanceof String event && namesOneOf(JSON.readTree(event), patients)) {
                        selected.add(leaf);
                    }
                }
                if (group != null) {
                    log.println("audit: " + to + " of " + treeSize + " events read, " + selected.size() + " name the Group's patients");
                    log.flush();
                }
            }
            if (group != null) {
                MerkleTree.Subtrees tree = remembering(new PrunedTree(CompactRange.restore(((Number) checkpoint.get("prunedSize"))
                        .longValue(), ((List<String>) checkpoint.get("prunedPeaks")).stream().map(p -> Base64.getDecoder().decode(p))
                        .toList()), leafHashes));
                for (Map<String, Object> leaf : selected) {
                    leaf.put("inclusionProof", MerkleTree.inclusionProof(tree, ((Number) leaf.get("seq")).longValue(), treeSize).stream()
                            .map(h -> Base64.getEncoder().encodeToString(h)).toList());
                    eventsOut.write(JSON.writeValueAsBytes(leaf));
                    eventsOut.write('\n');
                    events++;
                }
            }
        }
        checkpoint.put("treeSize", treeSize);
        checkpoint.put("rootHash", latest.get("rootHash"));
        checkpoint.put("keyName", AuditConfig.KEY_NAME);
        checkpoint.put("note", latest.get("note"));
        Files.write(out.resolve(CHECKPOINT), JSON.writeValueAsBytes(checkpoint));
        log.println("audit: " + events + " events up to the checkpoint of tree size " + treeSize);
        for (String name : List.of(EVENTS, CHECKPOINT)) {
            Map<String, Object> file = describe(name);
            file.put("kind", "audit");
            files.add(file);
        }

        // 3. The manifest, attested by the vault.
        Map<String, Object> manifest = new LinkedHashMap<>();
        manifest.put("type", ARCHIVE_TYPE);
        manifest.put("format", 1);
        manifest.put("createdAt", Instant.now().toString());
        manifest.put("scope", group == null ? Map.of("level", "system") : Map.of("level", "group", "group", "Group/" + group));
        manifest.put("vault", client.base());
        manifest.put("export", Map.of("transactionTime", exportManifest.get("transactionTime"), "request",
                exportManifest.get("request")));
        manifest.put("counts", counts);
        manifest.put("audit", Map.of("treeSize", treeSize, "rootHash", latest.get("rootHash"), "events", events,
                "selection", group == null ? "all" : "events naming a patient of the group, each with its inclusion proof"));
        manifest.put("files", files);
        byte[] manifestBytes = JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(manifest);
        Files.write(out.resolve(MANIFEST), manifestBytes);
        AdminClient.Answer attested = client.sendBody("/admin/restitution/attest", Role.OPERATOR, "application/json", manifestBytes,
                java.time.Duration.ofMinutes(1));
        if (attested.status() != 200) {
            return BackupCommand.refused(spec, attested);
        }
        Files.writeString(out.resolve(ATTESTATION), attested.body());
        long resources = counts.values().stream().mapToLong(Long::longValue).sum();
        return BackupCommand.report(spec, true, "restitution archive written to " + out + ": " + resources + " resources of "
                + counts.size() + " types in " + (files.size() - 2) + " files, " + events + " audit events; manifest attested by the vault");
    }

    /** Whether an AuditEvent names one of these patients as an entity (the per-patient events of docs/audit.md). */
    static boolean namesOneOf(tools.jackson.databind.JsonNode event, Set<String> patients) {
        for (tools.jackson.databind.JsonNode entity : event.path("entity")) {
            if (patients.contains(entity.path("what").path("reference").asString(""))) {
                return true;
            }
        }
        return false;
    }

    /** An archived row's leaf: its columns and the SHA-256 of its sealed event, as the vault's trail hashes them. */
    static AuditLeaf leafOf(Map<String, Object> l) {
        return new AuditLeaf(((Number) l.get("seq")).longValue(), Instant.parse((String) l.get("recordedAt")), (String) l.get("action"),
                ((Number) l.get("outcome")).intValue(), (String) l.get("subtype"), (String) l.get("agentToken"),
                (String) l.get("patientToken"), (String) l.get("entityToken"), Base64.getDecoder().decode((String) l.get("envelope")));
    }

    /** Subtree hashes remembered: the proofs of many events share their larger subtrees. */
    private static MerkleTree.Subtrees remembering(MerkleTree.Subtrees tree) {
        Map<List<Long>, byte[]> known = new HashMap<>();
        return new MerkleTree.Subtrees() {
            @Override
            public byte[] hash(long from, long to) {
                return known.computeIfAbsent(List.of(from, to), k -> tree.hash(from, to)).clone();
            }

            @Override
            public long size() {
                return tree.size();
            }
        };
    }

    /** Streams a file of the export to {@code name}, with its SHA-256, size and line count. */
    private Map<String, Object> download(String url, String name) throws Exception {
        HttpResponse<InputStream> r = client.stream(url, Role.SERVICE);
        if (r.statusCode() != 200) {
            throw new IllegalStateException("the vault answered " + r.statusCode() + " for an export file");
        }
        try (InputStream in = r.body(); OutputStream file = Files.newOutputStream(out.resolve(name))) {
            in.transferTo(file);
        }
        return describe(name);
    }

    private Map<String, Object> describe(String name) throws Exception {
        Path file = out.resolve(name);
        Map<String, Object> d = new LinkedHashMap<>();
        d.put("path", name);
        d.put("sha256", sha256(file));
        d.put("bytes", Files.size(file));
        d.put("lines", lines(file));
        return d;
    }

    static String sha256(Path file) throws Exception {
        MessageDigest digest = MessageDigest.getInstance("SHA-256");
        try (InputStream in = Files.newInputStream(file); OutputStream sink = new DigestOutputStream(OutputStream.nullOutputStream(),
                digest)) {
            in.transferTo(sink);
        }
        return HexFormat.of().formatHex(digest.digest());
    }

    static long lines(Path file) throws Exception {
        try (Stream<String> lines = Files.lines(file, StandardCharsets.UTF_8)) {
            return lines.filter(l -> !l.isBlank()).count();
        }
    }

    @Command(name = "verify", mixinStandardHelpOptions = true,
            description = "Check a restitution archive offline: the vault's attestation of its manifest, every file's SHA-256, and "
                    + "that the audit trail's rows rebuild the root of its signed checkpoint.")
    static final class Verify implements Callable<Integer> {
        @Spec
        CommandSpec spec;
        @Parameters(paramLabel = "DIR")
        Path dir;
        @Option(names = "--public-key", required = true, paramLabel = "FILE",
                description = "The vault's audit signing public key (audit-signing.pub), obtained from the vault's host beforehand.")
        Path publicKey;

        @Override
        @SuppressWarnings("unchecked")
        public Integer call() throws Exception {
            try {
                byte[] key = AuditKeys.readPublic(publicKey);
                byte[] manifestBytes = Files.readAllBytes(dir.resolve(MANIFEST));
                Map<String, Object> attestation = RestitutionController.verify(Files.readString(dir.resolve(ATTESTATION)), manifestBytes,
                        key);
                Map<String, Object> manifest = JSON.readValue(manifestBytes, Map.class);
                if (!ARCHIVE_TYPE.equals(manifest.get("type"))) {
                    throw new IllegalArgumentException("manifest.json is not a restitution manifest");
                }
                List<Map<String, Object>> files = (List<Map<String, Object>>) manifest.get("files");
                java.util.Set<String> listed = new java.util.HashSet<>(List.of(MANIFEST, ATTESTATION));
                long resources = 0;
                for (Map<String, Object> f : files) {
                    String name = (String) f.get("path");
                    Path file = dir.resolve(name).normalize();
                    if (!file.startsWith(dir.normalize()) || !Files.isRegularFile(file)) {
                        throw new IllegalArgumentException(name + " is missing");
                    }
                    if (!sha256(file).equals(f.get("sha256")) || Files.size(file) != ((Number) f.get("bytes")).longValue()) {
                        throw new IllegalArgumentException(name + " is not the file the manifest names (SHA-256 or size differs)");
                    }
                    listed.add(name);
                    if ("output".equals(f.get("kind"))) {
                        resources += ((Number) f.get("lines")).longValue();
                    }
                }
                try (Stream<Path> all = Files.walk(dir)) {
                    for (Path p : all.filter(Files::isRegularFile).toList()) {
                        String name = dir.relativize(p).toString().replace('\\', '/');
                        if (!listed.contains(name)) {
                            throw new IllegalArgumentException(name + " is in the archive but not in its manifest");
                        }
                    }
                }
                boolean selection = manifest.get("scope") instanceof Map<?, ?> scope && "group".equals(scope.get("level"));
                long events = verifyTrail(dir, key, selection);
                return BackupCommand.report(spec, true, "restitution archive verified: attested by vault " + attestation.get("vault")
                        + " at " + attestation.get("attestedAt") + "; " + files.size() + " files match the manifest (" + resources
                        + " resources); " + events + (selection ? " audit events of the group's patients are each proven in"
                        : " audit events rebuild the root of") + " the signed checkpoint");
            } catch (IllegalArgumentException | java.nio.file.NoSuchFileException e) {
                return BackupCommand.report(spec, false, "restitution archive NOT verified: " + e.getMessage());
            }
        }

        /** The trail's rows rebuild, leaf by leaf after the pruned peaks, the root its checkpoint signs. */
        @SuppressWarnings("unchecked")
        static long verifyTrail(Path dir, byte[] key, boolean selection) throws Exception {
            Map<String, Object> c = JSON.readValue(Files.readAllBytes(dir.resolve(CHECKPOINT)), Map.class);
            Checkpoint signed = Checkpoint.verify((String) c.get("note"), (String) c.get("keyName"), key)
                    .orElseThrow(() -> new IllegalArgumentException("the audit checkpoint's signature does not verify"));
            long size = ((Number) c.get("treeSize")).longValue();
            if (signed.size() != size) {
                throw new IllegalArgumentException("the audit checkpoint's signed size is not the one the archive names");
            }
            if (selection) {
                return verifySelection(dir, size, signed.rootHash());
            }
            CompactRange range = CompactRange.restore(((Number) c.get("prunedSize")).longValue(),
                    ((List<String>) c.get("prunedPeaks")).stream().map(p -> Base64.getDecoder().decode(p)).toList());
            long events = 0;
            try (BufferedReader lines = Files.newBufferedReader(dir.resolve(EVENTS))) {
                String line;
                while ((line = lines.readLine()) != null) {
                    Map<String, Object> l = JSON.readValue(line, Map.class);
                    long seq = ((Number) l.get("seq")).longValue();
                    if (seq != range.size()) {
                        throw new IllegalArgumentException("audit event " + seq + " is out of order or one before it is missing");
                    }
                    range.append(leafOf(l).hash());
                    events++;
                }
            }
            if (range.size() != size || !Arrays.equals(range.root(), signed.rootHash())) {
                throw new IllegalArgumentException("the audit events do not rebuild the signed checkpoint (" + range.size() + " of "
                        + size + " events): the trail was altered or truncated");
            }
            return events;
        }

        /** A Group's events: each one's leaf, with its proof, leads to the signed root; none twice. */
        @SuppressWarnings("unchecked")
        private static long verifySelection(Path dir, long size, byte[] root) throws Exception {
            long events = 0;
            long last = -1;
            try (BufferedReader lines = Files.newBufferedReader(dir.resolve(EVENTS))) {
                String line;
                while ((line = lines.readLine()) != null) {
                    Map<String, Object> l = JSON.readValue(line, Map.class);
                    long seq = ((Number) l.get("seq")).longValue();
                    List<byte[]> proof = ((List<String>) l.getOrDefault("inclusionProof", List.of())).stream()
                            .map(p -> Base64.getDecoder().decode(p)).toList();
                    if (seq <= last) {
                        throw new IllegalArgumentException("audit event " + seq + " is out of order or repeated");
                    }
                    if (!MerkleTree.verifyInclusion(leafOf(l).hash(), seq, size, proof, root)) {
                        throw new IllegalArgumentException("audit event " + seq + " is not in the signed trail: altered, or its proof is");
                    }
                    last = seq;
                    events++;
                }
            }
            return events;
        }
    }
}
