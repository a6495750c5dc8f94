package fr.hdsvault.api.evidence;

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;

/**
 * What a TLS endpoint really accepts, found by trying as a scanner does (testssl.sh, sslyze):
 * for SSL 3.0 to TLS 1.2, a ClientHello written here byte by byte offering every cipher suite
 * code, the server's choice removed and offered again until it refuses, so that the answer does
 * not depend on what this JDK is willing to offer; for TLS 1.3, the JDK's own client, one suite
 * at a time, which also checks the certificate chain against the CA given and the host name.
 * No cryptography happens in the hand-written hellos: the probe stops at the server's first
 * answer.
 */
public final class TlsProbe {

    /** The versions a hand-written hello asks for. */
    private static final Map<String, Integer> LEGACY = new LinkedHashMap<>();
    private static final List<String> TLS13_SUITES = List.of("TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384",
            "TLS_CHACHA20_POLY1305_SHA256");
    /** TLS 1.2 suites with forward secrecy (ECDHE, DHE) and authenticated encryption (GCM, ChaCha20-Poly1305, CCM). */
    private static final Set<Integer> STRONG_TLS12 = Set.of(0x009E, 0x009F, 0xC02B, 0xC02C, 0xC02F, 0xC030, 0xCCA8, 0xCCA9, 0xCCAA,
            0xC0AC, 0xC0AD, 0xC0AE, 0xC0AF, 0xC09E, 0xC09F);
    private static final Map<Integer, String> NAMES = Map.ofEntries(
            Map.entry(0x009E, "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256"), Map.entry(0x009F, "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384"),
            Map.entry(0xC02B, "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"), Map.entry(0xC02C, "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"),
            Map.entry(0xC02F, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"), Map.entry(0xC030, "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"),
            Map.entry(0xCCA8, "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"),
            Map.entry(0xCCA9, "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"),
            Map.entry(0xCCAA, "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256"),
            Map.entry(0xC023, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256"), Map.entry(0xC024, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384"),
            Map.entry(0xC027, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256"), Map.entry(0xC028, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384"),
            Map.entry(0xC009, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA"), Map.entry(0xC00A, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA"),
            Map.entry(0xC013, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"), Map.entry(0xC014, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA"),
            Map.entry(0x009C, "TLS_RSA_WITH_AES_128_GCM_SHA256"), Map.entry(0x009D, "TLS_RSA_WITH_AES_256_GCM_SHA384"),
            Map.entry(0x003C, "TLS_RSA_WITH_AES_128_CBC_SHA256"), Map.entry(0x003D, "TLS_RSA_WITH_AES_256_CBC_SHA256"),
            Map.entry(0x002F, "TLS_RSA_WITH_AES_128_CBC_SHA"), Map.entry(0x0035, "TLS_RSA_WITH_AES_256_CBC_SHA"),
            Map.entry(0x000A, "TLS_RSA_WITH_3DES_EDE_CBC_SHA"), Map.entry(0x0005, "TLS_RSA_WITH_RC4_128_SHA"));

    static {
        LEGACY.put("SSLv3", 0x0300);
        LEGACY.put("TLSv1", 0x0301);
        LEGACY.put("TLSv1.1", 0x0302);
        LEGACY.put("TLSv1.2", 0x0303);
    }

    /**
     * What was found.
     * @param accepted   protocol to the suites the server chose under it
     * @param weak       accepted protocols below TLS 1.2, and TLS 1.2 suites without forward secrecy or AEAD
     * @param certificate what the TLS 1.3 handshake found of the server's certificate, or why it failed
     */
    public record Result(Map<String, List<String>> accepted, List<String> refused, List<String> weak, String certificate,
                         boolean certificateValid) {

        public boolean passed() {
            return weak.isEmpty() && certificateValid && accepted.values().stream().anyMatch(s -> !s.isEmpty());
        }

        public String describe() {
            StringBuilder s = new StringBuilder();
            accepted.forEach((p, suites) -> s.append(p).append(" accepted with ").append(String.join(", ", suites)).append("; "));
            s.append("refused: ").append(refused.isEmpty() ? "none" : String.join(", ", refused)).append("; ");
            s.append(weak.isEmpty() ? "nothing weak accepted" : "WEAK: " + String.join(", ", weak)).append("; ").append(certificate);
            return s.toString();
        }
    }

    private final String host;
    private final int port;
    private final SSLContext trusting;
    private final SecureRandom random = new SecureRandom();

    /** @param trusting a client context trusting the CA the endpoint's certificate must chain to */
    public TlsProbe(String host, int port, SSLContext trusting) {
        this.host = host;
        this.port = port;
        this.trusting = trusting;
    }

    public Result probe() throws IOException {
        Map<String, List<String>> accepted = new LinkedHashMap<>();
        List<String> refused = new ArrayList<>();
        List<String> weak = new ArrayList<>();
        for (Map.Entry<String, Integer> v : LEGACY.entrySet()) {
            List<Integer> chosen = legacySuites(v.getValue());
            if (chosen.isEmpty()) {
                refused.add(v.getKey());
                continue;
            }
            accepted.put(v.getKey(), chosen.stream().map(TlsProbe::name).toList());
            if (v.getValue() < 0x0303) {
                weak.add(v.getKey());
            } else {
                chosen.stream().filter(c -> !STRONG_TLS12.contains(c)).forEach(c -> weak.add("TLSv1.2 " + name(c)));
            }
        }
        List<String> tls13 = new ArrayList<>();
        for (String suite : TLS13_SUITES) {
            try (SSLSocket socket = connect(new String[] {"TLSv1.3"}, new String[] {suite})) {
                tls13.add(suite);
            } catch (IOException e) {
                // refused, or the connection closed: not accepted (a certificate problem is reported below)
            }
        }
        if (tls13.isEmpty()) {
            refused.add("TLSv1.3");
        } else {
            accepted.put("TLSv1.3", tls13);
        }
        String certificate;
        boolean certificateValid = false;
        try (SSLSocket socket = connect(new String[] {"TLSv1.3", "TLSv1.2"}, null)) {
            X509Certificate leaf = (X509Certificate) socket.getSession().getPeerCertificates()[0];
            long days = Duration.between(Instant.now(), leaf.getNotAfter().toInstant()).toDays();
            certificateValid = days >= 0;
            certificate = "certificate for " + host + " chains to the trusted CA, " + leaf.getPublicKey().getAlgorithm()
                    + ", expires in " + days + " days";
        } catch (IOException e) {
            certificate = "the certificate could not be verified for " + host + ": " + e.getMessage();
        }
        return new Result(accepted, refused, weak, certificate, certificateValid);
    }

    /** A handshake of the JDK's client, which checks the certificate chain against the trusted CA and the host name. */
    private SSLSocket connect(String[] protocols, String[] suites) throws IOException {
        SSLSocket socket = (SSLSocket) trusting.getSocketFactory().createSocket();
        try {
            socket.connect(new InetSocketAddress(host, port), 10_000);
            socket.setSoTimeout(10_000);
            SSLParameters params = socket.getSSLParameters();
            params.setProtocols(protocols);
            if (suites != null) {
                params.setCipherSuites(suites);
            }
            params.setEndpointIdentificationAlgorithm("HTTPS");
            socket.setSSLParameters(params);
            socket.startHandshake();
            return socket;
        } catch (IOException | RuntimeException e) {
            socket.close();
            throw e;
        }
    }

    /** The suites the server chooses under a version, one per hello, each removed from the next offer. */
    private List<Integer> legacySuites(int version) throws IOException {
        List<Integer> offer = new ArrayList<>();
        for (int c = 0x0001; c <= 0x00FE; c++) {
            offer.add(c);
        }
        for (int c = 0xC001; c <= 0xC0FF; c++) {
            offer.add(c);
        }
        for (int c = 0xCCA8; c <= 0xCCAE; c++) {
            offer.add(c);
        }
        List<Integer> chosen = new ArrayList<>();
        for (int round = 0; round < 64; round++) {
            Integer c = serverChoice(version, offer);
            if (c == null || !offer.remove(c)) {
                break;
            }
            chosen.add(c);
        }
        return chosen;
    }

    /** The suite of the server's ServerHello at exactly {@code version}, or null when it answers otherwise or not at all. */
    private Integer serverChoice(int version, List<Integer> suites) throws IOException {
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress(host, port), 10_000);
            socket.setSoTimeout(10_000);
            socket.getOutputStream().write(clientHello(version, suites));
            socket.getOutputStream().flush();
            DataInputStream in = new DataInputStream(socket.getInputStream());
            int type = in.readUnsignedByte();
            in.readUnsignedShort();
            int length = in.readUnsignedShort();
            if (type != 0x16 || length < 40) { // an alert, or anything but a handshake record
                return null;
            }
            byte[] record = in.readNBytes(length);
            if (record.length < 40 || record[0] != 2) { // not a ServerHello
                return null;
            }
            int chosenVersion = u16(record, 4);
            int sessionIdLength = record[38] & 0xFF;
            int at = 39 + sessionIdLength;
            if (chosenVersion != version || record.length < at + 2) {
                return null;
            }
            return u16(record, at);
        } catch (java.io.EOFException | java.net.SocketException | java.net.SocketTimeoutException e) {
            return null; // the server closed the connection rather than choose
        }
    }

    private byte[] clientHello(int version, List<Integer> suites) {
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        u16(body, version);
        byte[] clientRandom = new byte[32];
        random.nextBytes(clientRandom);
        body.writeBytes(clientRandom);
        body.write(0); // no session id
        u16(body, suites.size() * 2);
        suites.forEach(s -> u16(body, s));
        body.write(1);
        body.write(0); // null compression only
        ByteArrayOutputStream ext = new ByteArrayOutputStream();
        byte[] name = host.getBytes(StandardCharsets.US_ASCII);
        if (!host.matches("[0-9.]+|.*:.*")) { // server_name, for a host name (not an address)
            extension(ext, 0x0000, out -> {
                u16(out, name.length + 3);
                out.write(0);
                u16(out, name.length);
                out.writeBytes(name);
            });
        }
        extension(ext, 0x000A, out -> { // supported_groups: x25519, P-256, P-384, P-521, ffdhe2048
            int[] groups = {0x001D, 0x0017, 0x0018, 0x0019, 0x0100};
            u16(out, groups.length * 2);
            for (int g : groups) {
                u16(out, g);
            }
        });
        extension(ext, 0x000B, out -> { // ec_point_formats: uncompressed
            out.write(1);
            out.write(0);
        });
        if (version >= 0x0303) {
            extension(ext, 0x000D, out -> { // signature_algorithms
                int[] algorithms = {0x0804, 0x0805, 0x0806, 0x0403, 0x0503, 0x0603, 0x0401, 0x0501, 0x0601, 0x0201, 0x0203};
                u16(out, algorithms.length * 2);
                for (int a : algorithms) {
                    u16(out, a);
                }
            });
        }
        extension(ext, 0xFF01, out -> out.write(0)); // renegotiation_info, empty
        u16(body, ext.size());
        body.writeBytes(ext.toByteArray());
        ByteArrayOutputStream handshake = new ByteArrayOutputStream();
        handshake.write(1); // ClientHello
        handshake.write(body.size() >>> 16);
        u16(handshake, body.size() & 0xFFFF);
        handshake.writeBytes(body.toByteArray());
        ByteArrayOutputStream record = new ByteArrayOutputStream();
        record.write(0x16);
        u16(record, Math.min(version, 0x0301)); // the record version most servers expect in a first hello
        u16(record, handshake.size());
        record.writeBytes(handshake.toByteArray());
        return record.toByteArray();
    }

    private static void extension(ByteArrayOutputStream ext, int type, java.util.function.Consumer<ByteArrayOutputStream> data) {
        ByteArrayOutputStream d = new ByteArrayOutputStream();
        data.accept(d);
        u16(ext, type);
        u16(ext, d.size());
        ext.writeBytes(d.toByteArray());
    }

    private static void u16(ByteArrayOutputStream out, int v) {
        out.write(v >>> 8 & 0xFF);
        out.write(v & 0xFF);
    }

    private static int u16(byte[] b, int at) {
        return (b[at] & 0xFF) << 8 | b[at + 1] & 0xFF;
    }

    static String name(int code) {
        return NAMES.getOrDefault(code, String.format("0x%04X", code));
    }
}
