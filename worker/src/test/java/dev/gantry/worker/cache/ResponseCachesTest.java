package dev.gantry.worker.cache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class ResponseCachesTest {

    @Test
    void defaultsGiveTheInMemoryCache() {
        try (ResponseCache cache = ResponseCaches.create(ResponseCacheConfig.defaults(), null)) {
            assertThat(cache).isInstanceOf(InMemoryResponseCache.class);
            assertThat(cache.describe()).contains("in-memory").contains("268435456 bytes");
        }
    }

    @Test
    void aBlankRedisUrlMeansNoRedis() {
        ResponseCacheConfig config = ResponseCacheConfig.defaults().withRedisUrl("  ");
        assertThat(config.redisUrl()).isEmpty();
        assertThat(ResponseCaches.create(config, null)).isInstanceOf(InMemoryResponseCache.class);
    }

    @Test
    void disabledCacheNeverHits() {
        ResponseCacheConfig on = ResponseCacheConfig.defaults();
        ResponseCacheConfig off = new ResponseCacheConfig(false, on.maxBytes(), on.maxEntries(), on.maxEntryBytes(),
                on.ttl(), Optional.of("redis://127.0.0.1:1"), on.timeout());
        ResponseCache cache = ResponseCaches.create(off, null);
        cache.put("k", "body").toCompletableFuture().join();
        assertThat(cache.get("k").toCompletableFuture().join()).isEmpty();
        assertThat(cache.describe()).isEqualTo("response cache disabled");
    }

    @Test
    void redisWithoutVertxIsAConfigurationError() {
        assertThatThrownBy(() -> ResponseCaches.create(ResponseCacheConfig.defaults().withRedisUrl("redis://h:1"), null))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("Vert.x");
    }

    @Test
    void nonsenseSettingsAreRejectedWithTheirName() {
        ResponseCacheConfig d = ResponseCacheConfig.defaults();
        assertThatThrownBy(() -> new ResponseCacheConfig(true, -1, d.maxEntries(), d.maxEntryBytes(), d.ttl(),
                Optional.empty(), d.timeout())).hasMessageContaining("maxBytes");
        assertThatThrownBy(() -> new ResponseCacheConfig(true, d.maxBytes(), d.maxEntries(), d.maxEntryBytes(),
                Duration.ZERO, Optional.empty(), d.timeout())).hasMessageContaining("ttl");
        assertThatThrownBy(() -> new ResponseCacheConfig(true, d.maxBytes(), d.maxEntries(), d.maxEntryBytes(),
                d.ttl(), Optional.empty(), Duration.ofMillis(-5))).hasMessageContaining("timeout");
    }
}
