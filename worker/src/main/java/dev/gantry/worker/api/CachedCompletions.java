package dev.gantry.worker.api;

import com.fasterxml.jackson.databind.JsonNode;
import dev.gantry.worker.api.GenerationRequest.Endpoint;
import dev.gantry.worker.cache.ResponseCache;
import dev.gantry.worker.cache.ResponseCacheConfig;
import dev.gantry.worker.cache.ResponseCacheKey;
import dev.gantry.worker.cache.ResponseCaches;
import dev.gantry.worker.config.WorkerConfig;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.runtime.ShutdownEvent;
import io.vertx.core.Vertx;
import jakarta.annotation.PostConstruct;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import jakarta.inject.Singleton;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.jboss.logging.Logger;

/**
 * The API's response cache: deterministic requests (temperature 0 or a fixed seed, one choice)
 * keyed on (model, endpoint, canonical request JSON), kept in memory or, with
 * {@code gantry.response-cache.redis-url}, in Redis. A hit is answered without the engine.
 * Exports {@code gantry:response_cache_{hits,misses,errors}_total}.
 */
@Singleton
public class CachedCompletions implements CompletionCache {
    private static final Logger LOG = Logger.getLogger(CachedCompletions.class);
    private static final CompletionStage<Optional<String>> MISS = CompletableFuture.completedFuture(Optional.empty());

    @Inject
    WorkerConfig config;

    @Inject
    Vertx vertx;

    @Inject
    MeterRegistry registry;

    private ResponseCache cache;

    @PostConstruct
    void create() {
        WorkerConfig.ResponseCache c = config.responseCache();
        cache = ResponseCaches.create(new ResponseCacheConfig(c.enabled(), c.maxBytes().asLongValue(), c.maxEntries(),
                c.maxEntryBytes().asLongValue(), c.ttl(), c.redisUrl(), c.timeout()), vertx);
        LOG.infof("gantry: %s", cache.describe());
        FunctionCounter.builder("gantry:response_cache_hits", cache, ResponseCache::hits)
                .description("Requests answered from the response cache, without the engine.").register(registry);
        FunctionCounter.builder("gantry:response_cache_misses", cache, ResponseCache::misses)
                .description("Cacheable requests not found in the response cache.").register(registry);
        FunctionCounter.builder("gantry:response_cache_errors", cache, ResponseCache::errors)
                .description("Response-cache operations that failed (Redis down or slow); they count as misses.").register(registry);
    }

    @Override
    public CompletionStage<Optional<String>> lookup(String model, Endpoint endpoint, JsonNode request) {
        if (!ResponseCacheKey.cacheable(request)) {
            return MISS;
        }
        return cache.get(ResponseCacheKey.of(model, endpoint.path(), request));
    }

    @Override
    public boolean accepts(JsonNode request) {
        return config.responseCache().enabled() && ResponseCacheKey.cacheable(request);
    }

    @Override
    public void store(String model, Endpoint endpoint, JsonNode request, String responseBody) {
        if (ResponseCacheKey.cacheable(request)) {
            cache.put(ResponseCacheKey.of(model, endpoint.path(), request), responseBody);
        }
    }

    void close(@Observes ShutdownEvent event) {
        cache.close();
    }
}
