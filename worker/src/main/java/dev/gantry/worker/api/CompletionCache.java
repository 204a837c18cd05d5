package dev.gantry.worker.api;

import com.fasterxml.jackson.databind.JsonNode;
import dev.gantry.worker.api.GenerationRequest.Endpoint;
import java.util.Optional;
import java.util.concurrent.CompletionStage;

/**
 * Where the API asks for, and offers, whole response bodies: a JSON body, or a stream's whole
 * server-sent events (replayed as they were on a hit). A request is looked up
 * after it was parsed and checked (its model is this worker's) and before it reaches the engine;
 * a hit is sent as it is. A response is offered after a request finished normally (stop or
 * length). Which requests may be cached (greedy or seeded ones) is the implementation's call: it
 * gets the request JSON as the client sent it.
 *
 * <p>The default bean caches nothing ({@link NoCompletionCache}); a CDI bean of this type replaces it.
 */
public interface CompletionCache {

    /**
     * @return the cached response body, or empty; the stage may complete on any thread, and a
     *     failed stage counts as a miss
     */
    CompletionStage<Optional<String>> lookup(String model, Endpoint endpoint, JsonNode request);

    /**
     * Whether a response to {@code request} would be stored: a streamed response is recorded for
     * {@link #store} only then. Must be cheap.
     */
    default boolean accepts(JsonNode request) {
        return false;
    }

    /** Offers a finished response; must return at once (store asynchronously). */
    void store(String model, Endpoint endpoint, JsonNode request, String responseBody);
}
