package dev.gantry.worker.cache;

import io.vertx.core.Vertx;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/** Builds the response cache a configuration asks for. */
public final class ResponseCaches {
    private ResponseCaches() {}

    /**
     * The Redis cache when a Redis URL is configured, otherwise the in-memory one, or a cache that
     * holds nothing when {@code enabled} is false. {@code vertx} is needed only for Redis.
     *
     * @throws IllegalArgumentException if the Redis URL is malformed, or Redis is asked for
     *                                  without a Vert.x instance
     */
    public static ResponseCache create(ResponseCacheConfig config, Vertx vertx) {
        Objects.requireNonNull(config, "config");
        if (!config.enabled()) {
            return disabled();
        }
        if (config.redisUrl().isPresent()) {
            if (vertx == null) {
                throw new IllegalArgumentException("the Redis response cache needs a Vert.x instance");
            }
            return new RedisResponseCache(vertx, config);
        }
        return new InMemoryResponseCache(config);
    }

    /** A cache that never stores anything: every lookup misses and is not counted. */
    public static ResponseCache disabled() {
        return Disabled.INSTANCE;
    }

    private enum Disabled implements ResponseCache {
        INSTANCE;

        private static final CompletableFuture<Optional<String>> MISS = CompletableFuture.completedFuture(Optional.empty());
        private static final CompletableFuture<Void> DONE = CompletableFuture.completedFuture(null);

        @Override
        public CompletionStage<Optional<String>> get(String key) {
            return MISS.minimalCompletionStage();
        }

        @Override
        public CompletionStage<Void> put(String key, String body) {
            return DONE.minimalCompletionStage();
        }

        @Override
        public String describe() {
            return "response cache disabled";
        }

        @Override
        public long hits() {
            return 0;
        }

        @Override
        public long misses() {
            return 0;
        }

        @Override
        public long errors() {
            return 0;
        }

        @Override
        public void close() {}
    }
}
