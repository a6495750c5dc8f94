package fr.hdsvault.api.web;

import java.util.List;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;

/**
 * {@code vault.http.*}: how the vault is reached.
 *
 * @param publicBaseUrl  the URL clients use, e.g. {@code https://vault.example.fr} (no trailing
 *                       slash): every link, the SMART configuration and the bearer challenge are
 *                       built from it, never from a request's Host or X-Forwarded-* headers.
 *                       Unset: {@code https://localhost:<port>}, what the single-node certificate names.
 * @param trustedProxies addresses or CIDR ranges of the reverse proxies (load balancers) whose
 *                       {@code X-Forwarded-For} is believed; from anyone else it is ignored
 */
@ConfigurationProperties("vault.http")
public record HttpProperties(String publicBaseUrl, @DefaultValue List<String> trustedProxies) {
}
