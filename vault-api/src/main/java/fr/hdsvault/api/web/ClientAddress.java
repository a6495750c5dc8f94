package fr.hdsvault.api.web;

import jakarta.servlet.ServletRequest;

/**
 * Who is on the other end of a request: the TCP peer, and the client it forwards for when the
 * peer is a trusted proxy ({@link TrustedProxies}). Rate limits and the audit trail use the client;
 * the audit also records the proxy.
 *
 * @param peer   the address the connection comes from
 * @param client the forwarded client behind a trusted proxy, else the peer
 */
public record ClientAddress(String peer, String client) {

    static final String ATTRIBUTE = ClientAddress.class.getName();

    public boolean forwarded() {
        return !peer.equals(client);
    }

    /** The request's addresses; the peer alone for a request that did not pass the filter. */
    public static ClientAddress of(ServletRequest request) {
        return request.getAttribute(ATTRIBUTE) instanceof ClientAddress a ? a
                : new ClientAddress(request.getRemoteAddr(), request.getRemoteAddr());
    }
}
