package dev.gantry.worker.api;

import com.fasterxml.jackson.databind.JsonNode;
import dev.gantry.worker.api.GenerationRequest.Endpoint;
import io.quarkus.arc.DefaultBean;
import jakarta.inject.Singleton;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/** The {@link CompletionCache} in use until a real one is provided: always a miss, stores nothing. */
@DefaultBean
@Singleton
public class NoCompletionCache implements CompletionCache {
    private static final CompletionStage<Optional<String>> MISS = CompletableFuture.completedFuture(Optional.empty());

    @Override
    public CompletionStage<Optional<String>> lookup(String model, Endpoint endpoint, JsonNode request) {
        return MISS;
    }

    @Override
    public void store(String model, Endpoint endpoint, JsonNode request, String responseBody) {}
}
