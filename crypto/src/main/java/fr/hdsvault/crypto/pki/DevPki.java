package fr.hdsvault.crypto.pki;

import fr.hdsvault.crypto.root.OwnerOnlyFiles;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.Reader;
import java.io.StringWriter;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.HexFormat;
import java.util.List;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.operator.ContentSigner;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * The single-node development PKI: a local certification authority and a server certificate
 * for HTTPS, ECDSA P-256, written as PEM and PKCS#12 into one directory:
 *
 * <pre>
 * ca.pem          CA certificate: give it to clients (curl --cacert)
 * ca-key.pem      CA private key, PKCS#8, owner-only: only used to renew server.pem
 * server.pem      server certificate followed by the CA certificate
 * server-key.pem  server private key, PKCS#8, owner-only
 * server.p12      server key and chain, for the HTTPS connector
 * </pre>
 *
 * {@link #ensure} creates what is missing and renews the server certificate when it expires
 * within 30 days or lacks a requested name; an existing CA is kept, so clients keep trusting it.
 */
public final class DevPki {

    public static final String CA_CERT = "ca.pem";
    public static final String CA_KEY = "ca-key.pem";
    public static final String SERVER_CERT = "server.pem";
    public static final String SERVER_KEY = "server-key.pem";
    public static final String SERVER_PKCS12 = "server.p12";
    public static final String PKCS12_ALIAS = "server";

    private static final Duration CA_VALIDITY = Duration.ofDays(3650);
    /** The CA/Browser Forum maximum for server certificates. */
    private static final Duration SERVER_VALIDITY = Duration.ofDays(397);
    private static final Duration RENEW_BEFORE = Duration.ofDays(30);
    private static final Duration BACKDATE = Duration.ofHours(1);

    private final Clock clock;
    private final SecureRandom random = new SecureRandom();

    public DevPki(Clock clock) {
        this.clock = clock;
    }

    /** What {@link #ensure} found or made. */
    public record Material(Path directory, X509Certificate ca, X509Certificate server, boolean caCreated, boolean serverIssued) {
        public Path pkcs12() {
            return directory.resolve(SERVER_PKCS12);
        }
    }

    /**
     * @param dnsNames  subject alternative DNS names, e.g. localhost
     * @param addresses subject alternative IP addresses, e.g. 127.0.0.1 and ::1
     */
    public Material ensure(Path dir, char[] pkcs12Password, List<String> dnsNames, List<String> addresses)
            throws IOException, GeneralSecurityException {
        Files.createDirectories(dir);
        boolean caCreated = false;
        X509Certificate ca;
        PrivateKey caKey;
        if (Files.exists(dir.resolve(CA_CERT)) && Files.exists(dir.resolve(CA_KEY))) {
            ca = readCertificates(dir.resolve(CA_CERT)).get(0);
            caKey = readPrivateKey(dir.resolve(CA_KEY));
        } else {
            KeyPair pair = newKeyPair();
            ca = issueCa(pair);
            caKey = pair.getPrivate();
            OwnerOnlyFiles.writeAtomically(dir.resolve(CA_KEY), pkcs8Pem(caKey));
            Files.writeString(dir.resolve(CA_CERT), pem(ca));
            caCreated = true;
        }
        X509Certificate server = null;
        if (!caCreated && Files.exists(dir.resolve(SERVER_CERT)) && Files.exists(dir.resolve(SERVER_PKCS12))) {
            server = readCertificates(dir.resolve(SERVER_CERT)).get(0);
            if (!stillGood(server, ca, dnsNames, addresses)) {
                server = null;
            }
        }
        boolean issued = server == null;
        if (issued) {
            KeyPair pair = newKeyPair();
            server = issueServer(pair.getPublic(), ca, caKey, dnsNames, addresses);
            OwnerOnlyFiles.writeAtomically(dir.resolve(SERVER_KEY), pkcs8Pem(pair.getPrivate()));
            Files.writeString(dir.resolve(SERVER_CERT), pem(server) + pem(ca));
            KeyStore p12 = KeyStore.getInstance("PKCS12");
            p12.load(null, null);
            p12.setKeyEntry(PKCS12_ALIAS, pair.getPrivate(), pkcs12Password, new X509Certificate[] {server, ca});
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            p12.store(out, pkcs12Password);
            OwnerOnlyFiles.writeAtomically(dir.resolve(SERVER_PKCS12), out.toByteArray());
        }
        return new Material(dir, ca, server, caCreated, issued);
    }

    private boolean stillGood(X509Certificate server, X509Certificate ca, List<String> dnsNames, List<String> addresses) {
        try {
            server.verify(ca.getPublicKey());
            server.checkValidity(Date.from(clock.instant().plus(RENEW_BEFORE)));
            List<String> names = new ArrayList<>();
            if (server.getSubjectAlternativeNames() != null) {
                server.getSubjectAlternativeNames().forEach(n -> names.add(String.valueOf(n.get(1))));
            }
            return names.containsAll(dnsNames) && addresses.stream().allMatch(a -> names.stream().anyMatch(n -> sameAddress(n, a)));
        } catch (GeneralSecurityException e) {
            return false;
        }
    }

    private static boolean sameAddress(String a, String b) {
        try {
            return java.net.InetAddress.getByName(a).equals(java.net.InetAddress.getByName(b));
        } catch (java.net.UnknownHostException e) {
            return false;
        }
    }

    private KeyPair newKeyPair() throws GeneralSecurityException {
        KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
        generator.initialize(new ECGenParameterSpec("secp256r1"), random);
        return generator.generateKeyPair();
    }

    private X509Certificate issueCa(KeyPair pair) throws GeneralSecurityException {
        Instant now = clock.instant();
        byte[] tag = new byte[4];
        random.nextBytes(tag);
        X500Name name = new X500Name("CN=hds-vault local CA " + HexFormat.of().formatHex(tag) + ",O=hds-vault");
        JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
        try {
            X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(name, serial(), Date.from(now.minus(BACKDATE)),
                    Date.from(now.plus(CA_VALIDITY)), name, pair.getPublic())
                    .addExtension(Extension.basicConstraints, true, new BasicConstraints(0))
                    .addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign))
                    .addExtension(Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(pair.getPublic()));
            return sign(b, pair.getPrivate());
        } catch (IOException e) {
            throw new GeneralSecurityException("cannot build the CA certificate", e);
        }
    }

    private X509Certificate issueServer(PublicKey key, X509Certificate ca, PrivateKey caKey,
                                        List<String> dnsNames, List<String> addresses) throws GeneralSecurityException {
        Instant now = clock.instant();
        List<GeneralName> names = new ArrayList<>();
        dnsNames.forEach(n -> names.add(new GeneralName(GeneralName.dNSName, n)));
        addresses.forEach(a -> names.add(new GeneralName(GeneralName.iPAddress, a)));
        JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
        String cn = dnsNames.isEmpty() ? addresses.get(0) : dnsNames.get(0);
        try {
            X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(ca, serial(), Date.from(now.minus(BACKDATE)),
                    Date.from(now.plus(SERVER_VALIDITY)), new X500Name("CN=" + cn + ",O=hds-vault"), key)
                    .addExtension(Extension.basicConstraints, true, new BasicConstraints(false))
                    .addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature))
                    .addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(KeyPurposeId.id_kp_serverAuth))
                    .addExtension(Extension.subjectAlternativeName, false, new GeneralNames(names.toArray(GeneralName[]::new)))
                    .addExtension(Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(key))
                    .addExtension(Extension.authorityKeyIdentifier, false, ext.createAuthorityKeyIdentifier(ca));
            return sign(b, caKey);
        } catch (IOException e) {
            throw new GeneralSecurityException("cannot build the server certificate", e);
        }
    }

    private X509Certificate sign(X509v3CertificateBuilder builder, PrivateKey key) throws GeneralSecurityException {
        try {
            ContentSigner signer = new JcaContentSignerBuilder("SHA256withECDSA").build(key);
            return new JcaX509CertificateConverter().getCertificate(builder.build(signer));
        } catch (OperatorCreationException e) {
            throw new GeneralSecurityException("cannot sign certificate", e);
        }
    }

    private BigInteger serial() {
        return new BigInteger(127, random).add(BigInteger.ONE); // positive, unpredictable
    }

    /**
     * A TLS 1.3 client context that trusts only the CA of {@code caPem}: what a client of a
     * single-node vault uses (the command line, tests, benchmarks) instead of the system trust store.
     */
    public static javax.net.ssl.SSLContext clientContext(Path caPem) throws IOException, GeneralSecurityException {
        KeyStore trust = KeyStore.getInstance("PKCS12");
        trust.load(null, null);
        trust.setCertificateEntry("ca", readCertificates(caPem).get(0));
        javax.net.ssl.TrustManagerFactory tmf = javax.net.ssl.TrustManagerFactory.getInstance("PKIX");
        tmf.init(trust);
        javax.net.ssl.SSLContext ctx = javax.net.ssl.SSLContext.getInstance("TLSv1.3");
        ctx.init(null, tmf.getTrustManagers(), null);
        return ctx;
    }

    public static List<X509Certificate> readCertificates(Path pemFile) throws IOException, GeneralSecurityException {
        CertificateFactory factory = CertificateFactory.getInstance("X.509");
        try (var in = Files.newInputStream(pemFile)) {
            List<X509Certificate> certs = new ArrayList<>();
            factory.generateCertificates(in).forEach(c -> certs.add((X509Certificate) c));
            return certs;
        }
    }

    static PrivateKey readPrivateKey(Path pemFile) throws IOException {
        try (Reader reader = Files.newBufferedReader(pemFile, StandardCharsets.US_ASCII);
             PEMParser parser = new PEMParser(reader)) {
            Object o = parser.readObject();
            if (!(o instanceof PrivateKeyInfo info)) {
                throw new IOException(pemFile + " does not hold a PKCS#8 private key");
            }
            return new JcaPEMKeyConverter().getPrivateKey(info);
        }
    }

    private static String pem(Object o) throws IOException {
        StringWriter w = new StringWriter();
        try (JcaPEMWriter writer = new JcaPEMWriter(w)) {
            writer.writeObject(o);
        }
        return w.toString();
    }

    private static byte[] pkcs8Pem(PrivateKey key) throws IOException {
        StringWriter w = new StringWriter();
        try (JcaPEMWriter writer = new JcaPEMWriter(w)) {
            writer.writeObject(new JcaPKCS8Generator(key, null));
        }
        return w.toString().getBytes(StandardCharsets.US_ASCII);
    }
}
