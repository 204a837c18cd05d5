package dev.gantry.worker.cache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.gantry.worker.testing.RedisServer;
import io.vertx.core.Vertx;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The Redis response cache against a real {@code redis-server}. */
class RedisResponseCacheIT {
    private static final Duration TIMEOUT = Duration.ofMillis(200);

    private static Vertx vertx;
    private static RedisServer redis;

    @BeforeAll
    static void startRedis() {
        redis = RedisServer.start();
        vertx = Vertx.vertx();
    }

    @AfterAll
    static void stopRedis() throws Exception {
        if (vertx != null) {
            vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        }
        if (redis != null) {
            redis.close();
        }
    }

    private static RedisResponseCache cache(String url, Duration ttl) {
        return new RedisResponseCache(vertx, url, ttl, 4 << 20, TIMEOUT);
    }

    private static Optional<String> get(ResponseCache cache, String key) throws Exception {
        return cache.get(key).toCompletableFuture().get(5, TimeUnit.SECONDS);
    }

    private static void put(ResponseCache cache, String key, String body) throws Exception {
        cache.put(key, body).toCompletableFuture().get(5, TimeUnit.SECONDS);
    }

    @Test
    void putThenGetReturnsTheSameBodyUnderThePrefixedKey() throws Exception {
        try (var cache = cache(redis.url(), Duration.ofMinutes(5))) {
            String body = "{\"id\":\"chatcmpl-1\",\"choices\":[{\"message\":{\"content\":\"hello\"}}]}";
            assertThat(get(cache, "k-put-get")).isEmpty();
            put(cache, "k-put-get", body);

            assertThat(get(cache, "k-put-get")).contains(body);
            assertThat(redis.command("GET", RedisResponseCache.KEY_PREFIX + "k-put-get")).isEqualTo(body);
            long pttl = Long.parseLong(redis.command("PTTL", RedisResponseCache.KEY_PREFIX + "k-put-get"));
            assertThat(pttl).isBetween(1L, Duration.ofMinutes(5).toMillis());
            assertThat(cache.hits()).isEqualTo(1);
            assertThat(cache.misses()).isEqualTo(1);
            assertThat(cache.errors()).isZero();
        }
    }

    @Test
    void entriesAreGoneAfterTheirTtl() throws Exception {
        try (var cache = cache(redis.url(), Duration.ofMillis(300))) {
            put(cache, "k-ttl", "short-lived");
            assertThat(get(cache, "k-ttl")).contains("short-lived");

            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(3);
            Optional<String> seen = Optional.of("short-lived");
            while (seen.isPresent() && System.nanoTime() < deadline) {
                Thread.sleep(50);
                seen = get(cache, "k-ttl");
            }
            assertThat(seen).as("entry after its 300 ms ttl").isEmpty();
        }
    }

    @Test
    void differentKeysDoNotCollide() throws Exception {
        try (var cache = cache(redis.url(), Duration.ofMinutes(5))) {
            for (int i = 0; i < 50; i++) {
                put(cache, "k-many-" + i, "body " + i);
            }
            for (int i = 0; i < 50; i++) {
                assertThat(get(cache, "k-many-" + i)).contains("body " + i);
            }
            assertThat(get(cache, "k-many-50")).isEmpty();
        }
    }

    @Test
    void nonAsciiAndLargeBodiesSurviveByteForByte() throws Exception {
        try (var cache = cache(redis.url(), Duration.ofMinutes(5))) {
            String text = "Grüße, мир, 世界, 🌍🚀, \u0000nul, \"quotes\", \\backslash\\, \r\n";
            put(cache, "k-unicode", text);
            assertThat(get(cache, "k-unicode")).contains(text);
            assertThat(redis.command("STRLEN", RedisResponseCache.KEY_PREFIX + "k-unicode"))
                    .isEqualTo(Integer.toString(text.getBytes(StandardCharsets.UTF_8).length));

            StringBuilder large = new StringBuilder("{\"choices\":[");
            for (int i = 0; i < 20_000; i++) {
                large.append(i == 0 ? "" : ",").append("{\"index\":").append(i).append(",\"text\":\"tökén ").append(i).append(" ✓\"}");
            }
            String body = large.append("]}").toString();
            assertThat(body.length()).isGreaterThan(500_000);
            put(cache, "k-large", body);
            assertThat(get(cache, "k-large")).contains(body);
        }
    }

    @Test
    void bodiesOverTheMaximumEntrySizeAreSkipped() throws Exception {
        try (var cache = new RedisResponseCache(vertx, redis.url(), Duration.ofMinutes(5), 10, TIMEOUT)) {
            put(cache, "k-small", "0123456789");
            put(cache, "k-big", "é".repeat(6)); // 6 chars but 12 UTF-8 bytes
            assertThat(get(cache, "k-small")).contains("0123456789");
            assertThat(get(cache, "k-big")).isEmpty();
            assertThat(redis.command("EXISTS", RedisResponseCache.KEY_PREFIX + "k-big")).isEqualTo("0");
        }
    }

    @Test
    void aClosedPortReadsAsAQuickMissAndPutsDoNotThrow() throws Exception {
        int closedPort;
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            closedPort = socket.getLocalPort();
        }
        try (var cache = cache("redis://127.0.0.1:" + closedPort, Duration.ofMinutes(5))) {
            long start = System.nanoTime();
            assertThat(get(cache, "k")).isEmpty();
            put(cache, "k", "body");
            assertThat(get(cache, "k")).isEmpty();
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(2));
            assertThat(cache.errors()).isEqualTo(3);
            assertThat(cache.misses()).isEqualTo(2);
            assertThat(cache.hits()).isZero();
        }
    }

    @Test
    void aStoppedServerReadsAsAMissWithinTheTimeout() throws Exception {
        try (RedisServer doomed = RedisServer.start(); var cache = cache(doomed.url(), Duration.ofMinutes(5))) {
            put(cache, "k-doomed", "body");
            assertThat(get(cache, "k-doomed")).contains("body");
            doomed.stop();

            long start = System.nanoTime();
            assertThat(get(cache, "k-doomed")).isEmpty();
            put(cache, "k-doomed", "again");
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(TIMEOUT.multipliedBy(2).plusMillis(500));
            assertThat(cache.errors()).isGreaterThanOrEqualTo(2);
        }
    }

    @Test
    void describeNamesTheServerButNotThePassword() {
        try (var cache = cache("redis://:s3cret@127.0.0.1:6390/2", Duration.ofMinutes(1))) {
            assertThat(cache.describe()).contains("redis://***@127.0.0.1:6390/2").doesNotContain("s3cret");
        }
    }

    @Test
    void malformedUrlsAreRejectedClearly() {
        assertThatThrownBy(() -> cache("http://127.0.0.1:6379", Duration.ofMinutes(1)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("redis://");
        assertThatThrownBy(() -> cache("redis://:pw@127.0.0.1:6379/not-a-db", Duration.ofMinutes(1)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("database number")
                .hasMessageNotContaining("pw");
    }

    @Test
    void theFactoryPicksRedisWhenAUrlIsConfigured() throws Exception {
        ResponseCacheConfig config = ResponseCacheConfig.defaults().withRedisUrl(redis.url());
        try (ResponseCache cache = ResponseCaches.create(config, vertx)) {
            assertThat(cache).isInstanceOf(RedisResponseCache.class);
            put(cache, "k-factory", "via factory");
            assertThat(get(cache, "k-factory")).contains("via factory");
        }
    }
}
