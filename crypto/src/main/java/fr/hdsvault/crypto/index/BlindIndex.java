package fr.hdsvault.crypto.index;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.text.Normalizer;
import java.util.Base64;
import javax.crypto.Mac;
import javax.crypto.SecretKey;

/**
 * Blind search tokens: HMAC-SHA256, under a tenant's index key, of a search parameter name
 * and a value normalised by {@link SearchValues}. The index database stores tokens only, so
 * it holds no identifier, code or reference in clear; equal values give equal tokens within
 * a tenant and unrelated tokens across tenants.
 *
 * <p>Token = base64url(HMAC-SHA256(key, "hds-vault blind index v1" 0x00 param 0x00 kind 0x00 value)),
 * 43 characters. The parameter name is part of the input so that the same value indexed
 * under two parameters cannot be correlated.
 */
public final class BlindIndex {

    private static final byte[] LABEL = "hds-vault blind index v1".getBytes(StandardCharsets.US_ASCII);
    private final SecretKey key;
    private final ThreadLocal<Mac> mac;

    public BlindIndex(SecretKey indexKey) {
        this.key = indexKey;
        this.mac = ThreadLocal.withInitial(this::newMac);
    }

    private Mac newMac() {
        try {
            Mac m = Mac.getInstance("HmacSHA256");
            m.init(key);
            return m;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 unavailable", e);
        }
    }

    /** Tokens for a token-typed value (identifier, code): "system|code" and "|code" for any-system searches. */
    public TokenPair token(String parameter, String system, String code) {
        String value = SearchValues.code(code);
        String withSystem = system == null || system.isBlank() ? null : tokenOf(parameter, "token", SearchValues.system(system) + "|" + value);
        return new TokenPair(withSystem, tokenOf(parameter, "token-any", value));
    }

    /** Token for a reference value, normalised to "Type/id". */
    public String reference(String parameter, String reference) {
        return tokenOf(parameter, "reference", SearchValues.reference(reference));
    }

    /** Token for a string value's normalised prefix ({@link SearchValues#string}); the caller chooses the length. */
    public String stringPrefix(String parameter, String normalisedPrefix) {
        return tokenOf(parameter, "string-prefix", normalisedPrefix);
    }

    /** Token for a string value as written (NFC only): what {@code :exact} compares. */
    public String stringExact(String parameter, String value) {
        return tokenOf(parameter, "string-exact", Normalizer.normalize(value, Normalizer.Form.NFC));
    }

    /** Token for a date bucket ("2026", "2026-12", or a marker such as "open"), chosen by the caller. */
    public String dateBucket(String parameter, String bucket) {
        return tokenOf(parameter, "date", bucket);
    }

    /** Tokens of one indexed token value: with its system (null when the value had none) and for any system. */
    public record TokenPair(String withSystem, String anySystem) {
    }

    private String tokenOf(String parameter, String kind, String normalised) {
        Mac m = mac.get();
        m.update(LABEL);
        m.update((byte) 0);
        m.update(parameter.getBytes(StandardCharsets.UTF_8));
        m.update((byte) 0);
        m.update(kind.getBytes(StandardCharsets.US_ASCII));
        m.update((byte) 0);
        return Base64.getUrlEncoder().withoutPadding().encodeToString(m.doFinal(normalised.getBytes(StandardCharsets.UTF_8)));
    }
}
