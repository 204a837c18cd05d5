package dev.gantry.worker.cache;

import java.time.Duration;
import java.util.Objects;
import java.util.Optional;

/**
 * How the response cache is set up.
 *
 * @param enabled       false turns the cache into a no-op
 * @param maxBytes      in memory: the bound on all entries together (estimated as UTF-16 text plus
 *                      a fixed per-entry overhead); Redis bounds itself with its {@code maxmemory}
 * @param maxEntries    in memory: the bound on the number of entries
 * @param maxEntryBytes bodies larger than this are not stored (in memory: the estimate above;
 *                      Redis: the UTF-8 body)
 * @param ttl           how long an entry lives after it was stored
 * @param redisUrl      {@code redis://[[user]:password@]host[:port][/db]} or {@code rediss://...}
 *                      to share the cache through Redis; empty (or blank) keeps it in memory
 * @param timeout       the longest a Redis operation may take before it counts as a miss
 */
public record ResponseCacheConfig(
        boolean enabled,
        long maxBytes,
        int maxEntries,
        long maxEntryBytes,
        Duration ttl,
        Optional<String> redisUrl,
        Duration timeout) {

    public ResponseCacheConfig {
        Objects.requireNonNull(ttl, "ttl");
        Objects.requireNonNull(redisUrl, "redisUrl (use Optional.empty())");
        Objects.requireNonNull(timeout, "timeout");
        requirePositive("maxBytes", maxBytes);
        requirePositive("maxEntries", maxEntries);
        requirePositive("maxEntryBytes", maxEntryBytes);
        if (ttl.isNegative() || ttl.toMillis() < 1) {
            throw new IllegalArgumentException("response cache ttl must be at least 1 ms, got " + ttl);
        }
        if (timeout.isNegative() || timeout.toMillis() < 1) {
            throw new IllegalArgumentException("response cache timeout must be at least 1 ms, got " + timeout);
        }
        // Config sources often turn an unset value into "", which means "no Redis" too.
        redisUrl = redisUrl.map(String::strip).filter(url -> !url.isEmpty());
    }

    /** 256 MiB or 10,000 entries in memory, 1 MiB per body, ten minutes, 200 ms for Redis. */
    public static ResponseCacheConfig defaults() {
        return new ResponseCacheConfig(true, 256L << 20, 10_000, 1L << 20, Duration.ofMinutes(10),
                Optional.empty(), Duration.ofMillis(200));
    }

    /** This configuration with the cache kept in Redis at {@code url}. */
    public ResponseCacheConfig withRedisUrl(String url) {
        return new ResponseCacheConfig(enabled, maxBytes, maxEntries, maxEntryBytes, ttl, Optional.of(url), timeout);
    }

    private static void requirePositive(String name, long value) {
        if (value <= 0) {
            throw new IllegalArgumentException("response cache " + name + " must be positive, got " + value);
        }
    }
}
