package fr.hdsvault.api.detection;

import fr.hdsvault.crypto.pki.DevPki;
import java.io.IOException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/** The TLS a sink's connections use: the JDK's trust store, or only the CAs of a PEM file the host names. */
final class SinkTls {

    /** TLS 1.2 is still what many SIEM collectors offer; nothing older. */
    static final String[] PROTOCOLS = {"TLSv1.3", "TLSv1.2"};

    private SinkTls() {
    }

    static SSLContext context(Path trustedCa) {
        try {
            if (trustedCa == null) {
                return SSLContext.getDefault();
            }
            KeyStore trust = KeyStore.getInstance("PKCS12");
            trust.load(null, null);
            int i = 0;
            for (X509Certificate ca : DevPki.readCertificates(trustedCa)) {
                trust.setCertificateEntry("ca-" + i++, ca);
            }
            if (i == 0) {
                throw new IllegalStateException("no certificate in " + trustedCa);
            }
            TrustManagerFactory tmf = TrustManagerFactory.getInstance("PKIX");
            tmf.init(trust);
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(null, tmf.getTrustManagers(), null);
            return context;
        } catch (IOException | GeneralSecurityException e) {
            throw new IllegalStateException("cannot read the CA certificates of " + trustedCa + ": " + e.getMessage(), e);
        }
    }
}
