package fr.hdsvault.backup;

import com.fasterxml.jackson.core.JsonEncoding;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.StreamWriteFeature;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Types;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

/**
 * Copies whole tables through a stream, portable between H2 and PostgreSQL: JSON, one object
 * per table with its column names and rows as arrays. Binary values are base64, timestamps
 * ISO-8601 with offset, booleans and integers native, everything else text. Loading converts
 * each value by the target column's type. Streams both ways in constant memory.
 *
 * <pre>{"format":"hds-vault-tables/1","tables":[{"name":"t","columns":["a","b"],"rows":[[1,"x"],...]},...]}</pre>
 */
public final class TableSnapshot {

    public static final String FORMAT = "hds-vault-tables/1";
    /** The caller owns the streams: it may go on reading (to check an item's hash at its end). */
    private static final JsonFactory JSON = JsonFactory.builder().disable(StreamReadFeature.AUTO_CLOSE_SOURCE)
            .disable(StreamWriteFeature.AUTO_CLOSE_TARGET).build();
    private static final int BATCH = 1000;

    private TableSnapshot() {
    }

    /** Writes the tables as the connection's transaction sees them (the caller chooses the isolation). */
    public static long dump(Connection c, List<String> tables, OutputStream out) throws IOException, SQLException {
        long rows = 0;
        try (JsonGenerator g = JSON.createGenerator(out, JsonEncoding.UTF8)) {
            g.writeStartObject();
            g.writeStringField("format", FORMAT);
            g.writeArrayFieldStart("tables");
            for (String table : tables) {
                requireName(table);
                try (Statement s = c.createStatement()) {
                    s.setFetchSize(BATCH);
                    try (ResultSet rs = s.executeQuery("select * from " + table)) {
                        ResultSetMetaData meta = rs.getMetaData();
                        g.writeStartObject();
                        g.writeStringField("name", table);
                        g.writeArrayFieldStart("columns");
                        for (int i = 1; i <= meta.getColumnCount(); i++) {
                            g.writeString(meta.getColumnLabel(i).toLowerCase(java.util.Locale.ROOT));
                        }
                        g.writeEndArray();
                        g.writeArrayFieldStart("rows");
                        while (rs.next()) {
                            g.writeStartArray();
                            for (int i = 1; i <= meta.getColumnCount(); i++) {
                                writeValue(g, rs, i, meta.getColumnType(i));
                            }
                            g.writeEndArray();
                            rows++;
                        }
                        g.writeEndArray();
                        g.writeEndObject();
                    }
                }
            }
            g.writeEndArray();
            g.writeEndObject();
        }
        return rows;
    }

    private static void writeValue(JsonGenerator g, ResultSet rs, int i, int type) throws IOException, SQLException {
        switch (type) {
            case Types.BINARY, Types.VARBINARY, Types.LONGVARBINARY, Types.BLOB -> {
                byte[] b = rs.getBytes(i);
                if (b == null) {
                    g.writeNull();
                } else {
                    g.writeString(Base64.getEncoder().encodeToString(b));
                }
            }
            case Types.TIMESTAMP, Types.TIMESTAMP_WITH_TIMEZONE -> {
                OffsetDateTime t = rs.getObject(i, OffsetDateTime.class);
                if (t == null) {
                    g.writeNull();
                } else {
                    g.writeString(t.toString());
                }
            }
            case Types.BOOLEAN, Types.BIT -> {
                boolean b = rs.getBoolean(i);
                if (rs.wasNull()) {
                    g.writeNull();
                } else {
                    g.writeBoolean(b);
                }
            }
            case Types.TINYINT, Types.SMALLINT, Types.INTEGER, Types.BIGINT -> {
                long v = rs.getLong(i);
                if (rs.wasNull()) {
                    g.writeNull();
                } else {
                    g.writeNumber(v);
                }
            }
            default -> {
                String s = rs.getString(i);
                if (s == null) {
                    g.writeNull();
                } else {
                    g.writeString(s);
                }
            }
        }
    }

    /** Receives a snapshot's tables: for each, a sink for its rows. */
    public interface Visitor {
        RowSink table(String name, List<String> columns) throws SQLException;
    }

    /** Receives rows as JSON values (String, Long, Boolean, or null), then {@link #end()}. */
    public interface RowSink {
        void row(Object[] values) throws SQLException;

        default void end() throws SQLException {
        }
    }

    /** Streams every table and row of a snapshot to the visitor. */
    public static void read(InputStream in, Visitor visitor) throws IOException, SQLException {
        try (JsonParser p = JSON.createParser(in)) {
            expect(p.nextToken(), JsonToken.START_OBJECT);
            expectField(p, "format");
            if (!FORMAT.equals(p.nextTextValue())) {
                throw new BackupException("not a " + FORMAT + " table snapshot");
            }
            expectField(p, "tables");
            expect(p.nextToken(), JsonToken.START_ARRAY);
            while (p.nextToken() == JsonToken.START_OBJECT) {
                expectField(p, "name");
                String table = requireName(p.nextTextValue());
                expectField(p, "columns");
                expect(p.nextToken(), JsonToken.START_ARRAY);
                List<String> columns = new ArrayList<>();
                while (p.nextToken() == JsonToken.VALUE_STRING) {
                    columns.add(requireName(p.getText()));
                }
                RowSink sink = visitor.table(table, columns);
                expectField(p, "rows");
                expect(p.nextToken(), JsonToken.START_ARRAY);
                while (p.nextToken() == JsonToken.START_ARRAY) {
                    Object[] values = new Object[columns.size()];
                    for (int i = 0; i < values.length; i++) {
                        values[i] = switch (p.nextToken()) {
                            case VALUE_NULL -> null;
                            case VALUE_TRUE, VALUE_FALSE -> p.getBooleanValue();
                            case VALUE_NUMBER_INT -> p.getLongValue();
                            case VALUE_STRING -> p.getText();
                            default -> throw new BackupException("malformed table snapshot: unexpected value");
                        };
                    }
                    expect(p.nextToken(), JsonToken.END_ARRAY);
                    sink.row(values);
                }
                sink.end();
                expect(p.nextToken(), JsonToken.END_OBJECT);
            }
        }
    }

    /**
     * Inserts every row of the stream into the same tables of the connection's database, which
     * must exist with those columns; each value is converted by its column's type. The caller
     * commits (or rolls back when the stream turns out corrupted at its end). Returns the number of rows.
     */
    public static long load(Connection c, InputStream in) throws IOException, SQLException {
        long[] rows = {0};
        read(in, (table, columns) -> {
            int[] types = columnTypes(c, table, columns);
            PreparedStatement insert = c.prepareStatement("insert into " + table + " (" + String.join(", ", columns)
                    + ") values (" + String.join(", ", java.util.Collections.nCopies(columns.size(), "?")) + ")");
            int[] pending = {0};
            return new RowSink() {
                @Override
                public void row(Object[] values) throws SQLException {
                    for (int i = 0; i < values.length; i++) {
                        setValue(insert, i + 1, types[i], values[i]);
                    }
                    insert.addBatch();
                    rows[0]++;
                    if (++pending[0] == BATCH) {
                        insert.executeBatch();
                        pending[0] = 0;
                    }
                }

                @Override
                public void end() throws SQLException {
                    try (insert) {
                        if (pending[0] > 0) {
                            insert.executeBatch();
                        }
                    }
                }
            };
        });
        return rows[0];
    }

    private static int[] columnTypes(Connection c, String table, List<String> columns) throws SQLException {
        try (Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("select " + String.join(", ", columns) + " from " + table + " where 1 = 0")) {
            ResultSetMetaData meta = rs.getMetaData();
            int[] types = new int[columns.size()];
            for (int i = 0; i < types.length; i++) {
                types[i] = meta.getColumnType(i + 1);
            }
            return types;
        }
    }

    private static void setValue(PreparedStatement s, int index, int type, Object value) throws SQLException {
        if (value == null) {
            s.setNull(index, type);
            return;
        }
        switch (type) {
            case Types.BINARY, Types.VARBINARY, Types.LONGVARBINARY, Types.BLOB -> s.setBytes(index, Base64.getDecoder().decode((String) value));
            case Types.TIMESTAMP, Types.TIMESTAMP_WITH_TIMEZONE -> s.setObject(index, OffsetDateTime.parse((String) value));
            case Types.BOOLEAN, Types.BIT -> s.setBoolean(index, (Boolean) value);
            case Types.TINYINT, Types.SMALLINT, Types.INTEGER, Types.BIGINT -> s.setLong(index, (Long) value);
            default -> s.setString(index, value.toString());
        }
    }

    private static String requireName(String name) {
        if (name == null || !name.matches("[a-z_][a-z0-9_]{0,62}")) {
            throw new BackupException("invalid table or column name in a table snapshot");
        }
        return name;
    }

    private static void expect(JsonToken actual, JsonToken expected) {
        if (actual != expected) {
            throw new BackupException("malformed table snapshot: expected " + expected + ", found " + actual);
        }
    }

    private static void expectField(JsonParser p, String name) throws IOException {
        if (p.nextToken() != JsonToken.FIELD_NAME || !name.equals(p.currentName())) {
            throw new BackupException("malformed table snapshot: expected field " + name);
        }
    }
}
