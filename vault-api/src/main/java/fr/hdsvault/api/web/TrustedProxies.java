package fr.hdsvault.api.web;

import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletRequestWrapper;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.net.URI;
import java.util.Collections;
import java.util.List;
import java.util.regex.Pattern;
import org.springframework.security.web.util.matcher.IpAddressMatcher;
import org.springframework.web.filter.OncePerRequestFilter;

/**
 * The first filter: decides who the client is and what the vault's own address is, from
 * configuration and the TCP connection only.
 * <ul>
 *   <li>{@code X-Forwarded-For} counts only when the peer is a configured proxy; the client is
 *       then the rightmost address of that header that is not itself a trusted proxy
 *       ({@link ClientAddress}). From anyone else, the header is ignored.</li>
 *   <li>Everything downstream (HAPI's links, Spring Security's bearer challenge and resource
 *       metadata, the SMART configuration) sees the request as addressed to the public base URL:
 *       the Host and X-Forwarded-Host/Proto/Port headers decide nothing.</li>
 * </ul>
 */
public final class TrustedProxies extends OncePerRequestFilter {

    /** IP literals only: an address is never looked up in the DNS. */
    private static final Pattern IP_LITERAL = Pattern.compile("[0-9.]{7,15}|[0-9A-Fa-f:.]{2,45}");

    private final List<IpAddressMatcher> proxies;
    private final URI publicBase;

    public TrustedProxies(HttpProperties properties) {
        this.proxies = properties.trustedProxies().stream().map(String::strip).filter(s -> !s.isEmpty())
                .map(IpAddressMatcher::new).toList();
        String base = properties.publicBaseUrl();
        this.publicBase = base == null || base.isBlank() ? null : URI.create(base.strip().replaceAll("/+$", ""));
    }

    /** The public base URL (scheme, host, port, path) of this request: the configured one, or https://localhost:port. */
    public URI publicBase(HttpServletRequest request) {
        return publicBase != null ? publicBase : URI.create("https://localhost:" + request.getLocalPort());
    }

    @Override
    protected void doFilterInternal(HttpServletRequest request, HttpServletResponse response, FilterChain chain)
            throws ServletException, IOException {
        String peer = request.getRemoteAddr();
        request.setAttribute(ClientAddress.ATTRIBUTE, new ClientAddress(peer, client(peer, request)));
        chain.doFilter(new PubliclyAddressed(request, publicBase(request)), response);
    }

    private String client(String peer, HttpServletRequest request) {
        if (!trusted(peer)) {
            return peer;
        }
        List<String> hops = Collections.list(request.getHeaders("X-Forwarded-For")).stream()
                .flatMap(h -> java.util.Arrays.stream(h.split(","))).map(String::strip).toList();
        for (int i = hops.size() - 1; i >= 0; i--) {
            String hop = hops.get(i);
            if (!IP_LITERAL.matcher(hop).matches()) {
                return peer; // a malformed chain names nobody: keep what the connection proves
            }
            if (!trusted(hop)) {
                return hop;
            }
        }
        return peer;
    }

    private boolean trusted(String address) {
        if (address == null || !IP_LITERAL.matcher(address).matches()) {
            return false;
        }
        for (IpAddressMatcher proxy : proxies) {
            try {
                if (proxy.matches(address)) {
                    return true;
                }
            } catch (IllegalArgumentException notAnAddress) {
                return false;
            }
        }
        return false;
    }

    /** The request as addressed to the public base URL, whatever Host header it carried. */
    private static final class PubliclyAddressed extends HttpServletRequestWrapper {
        private final URI base;

        PubliclyAddressed(HttpServletRequest request, URI base) {
            super(request);
            this.base = base;
        }

        @Override
        public String getScheme() {
            return base.getScheme();
        }

        @Override
        public boolean isSecure() {
            return "https".equals(base.getScheme());
        }

        @Override
        public String getServerName() {
            return base.getHost();
        }

        @Override
        public int getServerPort() {
            return base.getPort() > 0 ? base.getPort() : "https".equals(base.getScheme()) ? 443 : 80;
        }

        @Override
        public StringBuffer getRequestURL() {
            String path = base.getPath() == null ? "" : base.getPath();
            return new StringBuffer(base.getScheme()).append("://").append(base.getRawAuthority()).append(path)
                    .append(getRequestURI());
        }

        @Override
        public String getHeader(String name) {
            return isHostHeader(name) ? base.getRawAuthority() : forwarded(name) ? null : super.getHeader(name);
        }

        @Override
        public java.util.Enumeration<String> getHeaders(String name) {
            if (isHostHeader(name)) {
                return Collections.enumeration(List.of(base.getRawAuthority()));
            }
            return forwarded(name) ? Collections.emptyEnumeration() : super.getHeaders(name);
        }

        private static boolean isHostHeader(String name) {
            return "host".equalsIgnoreCase(name);
        }

        /** Forwarding headers beyond X-Forwarded-For never reach the vault's code. */
        private static boolean forwarded(String name) {
            String n = name.toLowerCase(java.util.Locale.ROOT);
            return n.equals("forwarded") || n.startsWith("x-forwarded-") && !n.equals("x-forwarded-for");
        }
    }
}
