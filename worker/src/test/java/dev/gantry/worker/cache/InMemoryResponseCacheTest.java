package dev.gantry.worker.cache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class InMemoryResponseCacheTest {
    private static final Duration TTL = Duration.ofMinutes(1);

    /** A clock the test moves by hand. */
    private static final class ManualClock implements InstantSource {
        private final AtomicLong millis = new AtomicLong(1_700_000_000_000L);

        @Override
        public Instant instant() {
            return Instant.ofEpochMilli(millis.get());
        }

        void advance(Duration d) {
            millis.addAndGet(d.toMillis());
        }
    }

    private final ManualClock clock = new ManualClock();

    private static Optional<String> get(ResponseCache cache, String key) {
        return cache.get(key).toCompletableFuture().join();
    }

    private static void put(ResponseCache cache, String key, String body) {
        cache.put(key, body).toCompletableFuture().join();
    }

    @Test
    void hitReturnsTheStoredBodyAndCountsHitsAndMisses() {
        var cache = new InMemoryResponseCache(1 << 20, 100, 1 << 20, TTL, clock);
        String body = "{\"id\":\"cmpl-1\",\"choices\":[{\"text\":\"héllo ✓ 🌍\"}]}";
        assertThat(get(cache, "k")).isEmpty();
        put(cache, "k", body);

        assertThat(get(cache, "k")).contains(body);
        assertThat(get(cache, "other")).isEmpty();
        assertThat(cache.hits()).isEqualTo(1);
        assertThat(cache.misses()).isEqualTo(2);
        assertThat(cache.errors()).isZero();
        assertThat(cache.bytes()).isEqualTo(InMemoryResponseCache.sizeOf("k", body));
    }

    @Test
    void replacingAnEntryKeepsTheByteCountExact() {
        var cache = new InMemoryResponseCache(1 << 20, 100, 1 << 20, TTL, clock);
        put(cache, "k", "short");
        put(cache, "k", "a much longer body than before");
        assertThat(get(cache, "k")).contains("a much longer body than before");
        assertThat(cache.size()).isEqualTo(1);
        assertThat(cache.bytes()).isEqualTo(InMemoryResponseCache.sizeOf("k", "a much longer body than before"));
    }

    @Test
    void evictsLeastRecentlyUsedWhenTheByteBoundIsExceeded() {
        String body = "x".repeat(100);
        long entry = InMemoryResponseCache.sizeOf("a", body);
        var cache = new InMemoryResponseCache(3 * entry, 100, entry, TTL, clock);
        put(cache, "a", body);
        put(cache, "b", body);
        put(cache, "c", body);
        get(cache, "a"); // a is now the most recently used, b the least

        put(cache, "d", body);
        assertThat(get(cache, "b")).isEmpty();
        assertThat(get(cache, "a")).contains(body);
        assertThat(get(cache, "c")).contains(body);
        assertThat(get(cache, "d")).contains(body);
        assertThat(cache.bytes()).isEqualTo(3 * entry);

        // One big entry pushes out as many cold ones as it needs: here c, then a.
        long big = 2 * entry;
        String bigBody = "y".repeat((int) (big - InMemoryResponseCache.ENTRY_OVERHEAD_BYTES) / 2 - 1);
        var wide = new InMemoryResponseCache(3 * entry, 100, big, TTL, clock);
        put(wide, "a", body);
        put(wide, "c", body);
        put(wide, "d", body);
        get(wide, "d");
        put(wide, "e", bigBody);
        assertThat(get(wide, "a")).isEmpty();
        assertThat(get(wide, "c")).isEmpty();
        assertThat(get(wide, "d")).contains(body);
        assertThat(get(wide, "e")).contains(bigBody);
        assertThat(wide.bytes()).isLessThanOrEqualTo(3 * entry);
    }

    @Test
    void evictsLeastRecentlyUsedWhenTheEntryCountIsExceeded() {
        var cache = new InMemoryResponseCache(1 << 20, 2, 1 << 20, TTL, clock);
        put(cache, "a", "1");
        put(cache, "b", "2");
        get(cache, "a");
        put(cache, "c", "3");

        assertThat(cache.size()).isEqualTo(2);
        assertThat(get(cache, "b")).isEmpty();
        assertThat(get(cache, "a")).contains("1");
        assertThat(get(cache, "c")).contains("3");
    }

    @Test
    void entriesExpireAfterTheTtl() {
        var cache = new InMemoryResponseCache(1 << 20, 100, 1 << 20, Duration.ofSeconds(10), clock);
        put(cache, "k", "body");
        clock.advance(Duration.ofMillis(9_999));
        assertThat(get(cache, "k")).contains("body");

        clock.advance(Duration.ofMillis(1));
        assertThat(get(cache, "k")).isEmpty();
        assertThat(cache.size()).isZero();
        assertThat(cache.bytes()).isZero();

        // A fresh put starts a fresh lifetime.
        put(cache, "k", "again");
        clock.advance(Duration.ofSeconds(5));
        assertThat(get(cache, "k")).contains("again");
    }

    @Test
    void entriesOverTheMaximumEntrySizeAreNotStored() {
        String body = "z".repeat(1000);
        long size = InMemoryResponseCache.sizeOf("k", body);
        var cache = new InMemoryResponseCache(1 << 20, 100, size - 1, TTL, clock);
        put(cache, "small", "ok");
        put(cache, "k", body);

        assertThat(get(cache, "k")).isEmpty();
        assertThat(get(cache, "small")).contains("ok");
        assertThat(cache.size()).isEqualTo(1);

        var exact = new InMemoryResponseCache(1 << 20, 100, size, TTL, clock);
        put(exact, "k", body);
        assertThat(get(exact, "k")).contains(body);
    }

    @Test
    void anEntryLargerThanTheWholeCacheIsNotStoredAndEvictsNothing() {
        var cache = new InMemoryResponseCache(400, 100, 1 << 20, TTL, clock);
        put(cache, "a", "1");
        put(cache, "big", "b".repeat(500));
        assertThat(get(cache, "big")).isEmpty();
        assertThat(get(cache, "a")).contains("1");
    }

    @Test
    void concurrentPutsAndGetsStayConsistent() throws Exception {
        int keys = 200;
        long maxBytes = 60 * InMemoryResponseCache.sizeOf("key-000", body(0));
        var cache = new InMemoryResponseCache(maxBytes, 50, 1 << 20, TTL, clock);
        int threads = 8;
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            List<Future<Long>> workers = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                workers.add(pool.submit(() -> {
                    long wrong = 0;
                    ThreadLocalRandom random = ThreadLocalRandom.current();
                    for (int i = 0; i < 20_000; i++) {
                        int k = random.nextInt(keys);
                        if (random.nextBoolean()) {
                            put(cache, key(k), body(k));
                        } else {
                            Optional<String> got = get(cache, key(k));
                            if (got.isPresent() && !got.get().equals(body(k))) {
                                wrong++;
                            }
                        }
                    }
                    return wrong;
                }));
            }
            for (Future<Long> worker : workers) {
                assertThat(worker.get(60, TimeUnit.SECONDS)).as("bodies returned for the wrong key").isZero();
            }
        } finally {
            pool.shutdownNow();
        }

        assertThat(cache.size()).isLessThanOrEqualTo(50);
        assertThat(cache.bytes()).isLessThanOrEqualTo(maxBytes);
        long present = 0;
        long expectedBytes = 0;
        for (int k = 0; k < keys; k++) {
            Optional<String> got = get(cache, key(k));
            if (got.isPresent()) {
                assertThat(got.get()).isEqualTo(body(k));
                present++;
                expectedBytes += InMemoryResponseCache.sizeOf(key(k), body(k));
            }
        }
        assertThat(present).isEqualTo(cache.size()).isPositive();
        assertThat(cache.bytes()).as("byte accounting after concurrent updates").isEqualTo(expectedBytes);
        assertThat(cache.hits() + cache.misses()).isGreaterThan(0);
    }

    @Test
    void closeEmptiesTheCacheAndLaterPutsAreDropped() {
        var cache = new InMemoryResponseCache(1 << 20, 100, 1 << 20, TTL, clock);
        put(cache, "k", "body");
        cache.close();
        put(cache, "k", "body");
        assertThat(get(cache, "k")).isEmpty();
        assertThat(cache.bytes()).isZero();
    }

    @Test
    void rejectsNonsenseBounds() {
        assertThatThrownBy(() -> new InMemoryResponseCache(0, 1, 1, TTL, clock))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("maxBytes=0");
        assertThatThrownBy(() -> new InMemoryResponseCache(1, 1, 1, Duration.ZERO, clock))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("ttl");
    }

    private static String key(int k) {
        return "key-%03d".formatted(k);
    }

    /** Bodies of different lengths, so byte accounting errors would show. */
    private static String body(int k) {
        return "{\"k\":" + k + ",\"text\":\"" + "w".repeat(k % 17) + "\"}";
    }
}
