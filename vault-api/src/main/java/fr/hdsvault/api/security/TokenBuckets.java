package fr.hdsvault.api.security;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Token buckets by key (a caller, a client address): {@code perSecond} sustained, {@code burst}
 * at once. The state of a full bucket is dropped when many keys are tracked: it holds nothing
 * worth keeping, so memory stays bounded under a flood from many addresses.
 */
final class TokenBuckets {

    private static final int MAX_TRACKED = 100_000;

    private final double perNano;
    private final double burst;
    private final Map<String, Bucket> buckets = new ConcurrentHashMap<>();

    TokenBuckets(double perSecond, int burst) {
        this.perNano = perSecond / 1e9;
        this.burst = Math.max(1, burst);
    }

    boolean enabled() {
        return perNano > 0;
    }

    /** Takes a token; returns 0, or the nanoseconds until one is available (nothing taken then). */
    long take(String key) {
        return bucket(key).take(System.nanoTime());
    }

    /** Whole seconds to tell a client in Retry-After. */
    static long retryAfterSeconds(long waitNanos) {
        return Math.max(1, (waitNanos + 999_999_999L) / 1_000_000_000L);
    }

    private Bucket bucket(String key) {
        long now = System.nanoTime();
        if (buckets.size() > MAX_TRACKED) {
            buckets.values().removeIf(b -> b.full(now));
        }
        return buckets.computeIfAbsent(key, k -> new Bucket(burst, now));
    }

    private final class Bucket {
        private double tokens;
        private long updated;

        Bucket(double tokens, long now) {
            this.tokens = tokens;
            this.updated = now;
        }

        private void refill(long now) {
            tokens = Math.min(burst, tokens + (now - updated) * perNano);
            updated = now;
        }

        synchronized long take(long now) {
            refill(now);
            if (tokens >= 1) {
                tokens -= 1;
                return 0;
            }
            return (long) Math.ceil((1 - tokens) / perNano);
        }

        synchronized boolean full(long now) {
            return tokens + (now - updated) * perNano >= burst;
        }
    }
}
