package fr.hdsvault.api.cli;

import fr.hdsvault.api.security.Role;
import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import java.util.zip.GZIPInputStream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import tools.jackson.databind.json.JsonMapper;

/**
 * {@code vault import [--preserve-meta] FILE|DIR...} or {@code vault import --source s3://bucket/prefix}:
 * migrates NDJSON into a running vault (operators). Files are sent in parts of whole lines (a
 * part is one request, within the vault's request size), with progress after each part and a
 * summary at the end. Importing again what is already there changes nothing, so an import cut
 * short is resumed by running the same command again.
 */
@Command(name = "import", mixinStandardHelpOptions = true,
        description = "Import NDJSON (FHIR Bulk Data files: one resource per line, .ndjson or .ndjson.gz) into a running vault, "
                + "keeping ids; with --preserve-meta also versions and lastUpdated. Run again to resume.")
public final class ImportCommand implements Callable<Integer> {

    private static final JsonMapper JSON = JsonMapper.builder().build();
    static final int PART_BYTES = 8 * 1024 * 1024;
    static final int PART_LINES = 2000;

    @Spec
    CommandSpec spec;
    @Mixin
    AdminClient client;
    @Parameters(paramLabel = "FILE", arity = "0..*", description = "NDJSON files, or directories of them (read in name order).")
    List<Path> inputs = new ArrayList<>();
    @Option(names = "--source", paramLabel = "s3://BUCKET/PREFIX", description = "Import every object under this prefix on the "
            + "vault's own S3 endpoint instead (read by the vault).")
    String source;
    @Option(names = "--preserve-meta", description = "Keep each resource's meta.versionId and meta.lastUpdated (a migration "
            + "between vaults); otherwise each is written as a new version, now.")
    boolean preserveMeta;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        if (source != null) {
            AdminClient.Answer a = client.sendBody("/admin/import", Role.OPERATOR, "application/json",
                    JSON.writeValueAsBytes(Map.of("source", source, "preserveMeta", preserveMeta)), Duration.ofHours(12));
            if (a.status() != 200) {
                return BackupCommand.refused(spec, a);
            }
            return summary(new Totals().add(a.object()));
        }
        if (inputs.isEmpty()) {
            return BackupCommand.report(spec, false, "give NDJSON files or directories, or --source s3://bucket/prefix");
        }
        Totals totals = new Totals();
        String run = fr.hdsvault.api.bulk.ImportController.newImportId(); // the parts of this run are one import in the trail
        for (Path file : files()) {
            try (InputStream raw = Files.newInputStream(file);
                 InputStream in = file.toString().endsWith(".gz") ? new GZIPInputStream(raw) : raw;
                 BufferedReader lines = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
                ByteArrayOutputStream part = new ByteArrayOutputStream();
                int count = 0;
                long first = 1;
                long line = 0;
                String text;
                while ((text = lines.readLine()) != null) {
                    line++;
                    part.write(text.getBytes(StandardCharsets.UTF_8));
                    part.write('\n');
                    count++;
                    if (count >= PART_LINES || part.size() >= PART_BYTES) {
                        if (!send(run, file, first, part, totals, out)) {
                            return 2;
                        }
                        part.reset();
                        count = 0;
                        first = line + 1;
                    }
                }
                if (count > 0 && !send(run, file, first, part, totals, out)) {
                    return 2;
                }
            }
        }
        return summary(totals);
    }

    /** One part: lines from {@code first}; refusals name the file and the line in it. */
    private boolean send(String run, Path file, long first, ByteArrayOutputStream part, Totals totals, PrintWriter out)
            throws Exception {
        String name = file.getFileName().toString();
        AdminClient.Answer a = client.sendBody("/admin/import?import=" + run + "&preserveMeta=" + preserveMeta + "&source="
                + java.net.URLEncoder.encode(name, StandardCharsets.UTF_8), Role.OPERATOR, "application/fhir+ndjson",
                part.toByteArray(), Duration.ofMinutes(30));
        if (a.status() != 200) {
            out.flush();
            BackupCommand.refused(spec, a);
            spec.commandLine().getErr().println("stopped in " + file + " at line " + first + "; run the same command again to resume");
            return false;
        }
        Map<String, Object> report = a.object();
        totals.add(report);
        @SuppressWarnings("unchecked")
        List<Map<String, Object>> refusals = (List<Map<String, Object>>) report.get("refusals");
        for (Map<String, Object> r : refusals) {
            long line = first - 1 + ((Number) r.get("line")).longValue();
            spec.commandLine().getErr().println("refused: " + name + " line " + line + (r.get("resource") == null ? "" : " ("
                    + r.get("resource") + ")") + ": " + r.get("reason"));
        }
        out.printf("%s: lines %d-%d: %s imported, %s unchanged, %s refused (total %d imported)%n", name, first,
                first - 1 + ((Number) report.get("lines")).longValue(), report.get("imported"), report.get("unchanged"),
                report.get("refused"), totals.imported);
        out.flush();
        return true;
    }

    private List<Path> files() throws Exception {
        List<Path> out = new ArrayList<>();
        for (Path input : inputs) {
            if (Files.isDirectory(input)) {
                try (Stream<Path> listed = Files.list(input)) {
                    listed.filter(f -> f.toString().endsWith(".ndjson") || f.toString().endsWith(".ndjson.gz")).sorted().forEach(out::add);
                }
            } else {
                out.add(input);
            }
        }
        return out;
    }

    private int summary(Totals t) {
        return BackupCommand.report(spec, t.refused == 0, "import finished: " + t.lines + " lines, " + t.imported + " imported, "
                + t.unchanged + " unchanged, " + t.refused + " refused");
    }

    private static final class Totals {
        long lines;
        long imported;
        long unchanged;
        long refused;

        Totals add(Map<String, Object> report) {
            lines += ((Number) report.get("lines")).longValue();
            imported += ((Number) report.get("imported")).longValue();
            unchanged += ((Number) report.get("unchanged")).longValue();
            refused += ((Number) report.get("refused")).longValue();
            return this;
        }
    }
}
