package fr.hdsvault.api.detection;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;

/**
 * Alerts to a SIEM as RFC 5424 syslog messages over TLS (RFC 5425: octet-counting framing, port
 * 6514 by default), on one connection kept open and made again when it fails. The collector's
 * certificate must name its host (checked as HTTPS does). Format in docs/detection.md.
 */
final class SyslogSink implements AlertSink {

    /** authpriv (10) and severity alert (1): security messages that ask for action now. */
    static final int PRI = 10 * 8 + 1;
    /** The SD-ID of the alert's parameters; 32473 is the enterprise number IANA reserves for examples (RFC 5612). */
    static final String SD_ID = "alert@32473";

    private final String host;
    private final int port;
    private final SSLContext tls;
    private final String hostname;
    private SSLSocket socket;

    SyslogSink(String host, int port, SSLContext tls, String hostname) {
        this.host = host;
        this.port = port;
        this.tls = tls;
        this.hostname = hostname;
    }

    @Override
    public String name() {
        return "syslog";
    }

    @Override
    public synchronized void deliver(SecurityAlert alert) throws IOException {
        byte[] message = format(alert, hostname).getBytes(StandardCharsets.UTF_8);
        try {
            OutputStream out = connection().getOutputStream();
            out.write((message.length + " ").getBytes(StandardCharsets.US_ASCII));
            out.write(message);
            out.flush();
        } catch (IOException e) {
            close();
            throw e;
        }
    }

    /** The open connection, or a new one when there is none or the collector closed it since the last alert. */
    private SSLSocket connection() throws IOException {
        if (socket != null && closedByPeer(socket)) {
            close();
        }
        if (socket == null) {
            SSLSocket s = (SSLSocket) tls.getSocketFactory().createSocket();
            try {
                s.connect(new InetSocketAddress(host, port), 5_000);
                s.setSoTimeout(10_000);
                SSLParameters params = s.getSSLParameters();
                params.setEndpointIdentificationAlgorithm("HTTPS");
                params.setProtocols(SinkTls.PROTOCOLS);
                s.setSSLParameters(params);
                s.startHandshake();
            } catch (IOException e) {
                s.close();
                throw e;
            }
            socket = s;
        }
        return socket;
    }

    /**
     * A collector sends nothing on this protocol: a read that returns at all (its close_notify, the
     * end of the stream, a reset) means the session is not one to write into; a read that times out
     * means it is open.
     */
    private static boolean closedByPeer(SSLSocket s) {
        try {
            s.setSoTimeout(1);
            s.getInputStream().read();
            return true;
        } catch (SocketTimeoutException open) {
            try {
                s.setSoTimeout(10_000);
                return false;
            } catch (IOException e) {
                return true;
            }
        } catch (IOException e) {
            return true;
        }
    }

    @Override
    public synchronized void close() {
        if (socket != null) {
            try {
                socket.close();
            } catch (IOException ignored) { // closing a broken connection
            }
            socket = null;
        }
    }

    /** The RFC 5424 message: header, one structured-data element of the alert's fields, and its summary as the message. */
    static String format(SecurityAlert a, String hostname) {
        String timestamp = DateTimeFormatter.ISO_INSTANT.format(a.recorded().truncatedTo(ChronoUnit.MILLIS));
        return "<" + PRI + ">1 " + timestamp + " " + header(hostname, 255) + " hds-vault - " + header(a.rule(), 32)
                + " [" + SD_ID + " id=\"" + a.id() + "\" rule=\"" + param(a.rule()) + "\" agent=\"" + param(a.agent())
                + "\" measured=\"" + param(a.measured()) + "\" source=\"" + param(a.source()) + "\" search=\"" + param(a.search())
                + "\"] \uFEFF" + printable(a.summary());
    }

    /** A header field: printable US-ASCII without spaces, bounded, or the nil value. */
    private static String header(String value, int max) {
        if (value == null || value.isEmpty()) {
            return "-";
        }
        StringBuilder b = new StringBuilder();
        value.codePoints().limit(max).forEach(c -> b.append(c > 32 && c < 127 ? (char) c : '_'));
        return b.toString();
    }

    /** A PARAM-VALUE: '"', '\' and ']' escaped (RFC 5424, 6.3.3); control characters replaced. */
    private static String param(String value) {
        return value == null ? "" : printable(value).replace("\\", "\\\\").replace("\"", "\\\"").replace("]", "\\]");
    }

    private static String printable(String value) {
        StringBuilder b = new StringBuilder();
        value.codePoints().forEach(c -> b.appendCodePoint(Character.isISOControl(c) ? '?' : c));
        return b.toString();
    }
}
