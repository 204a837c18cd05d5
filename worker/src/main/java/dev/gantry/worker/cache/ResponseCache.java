package dev.gantry.worker.cache;

import java.util.Optional;
import java.util.concurrent.CompletionStage;

/**
 * A cache of complete response bodies for deterministic requests, keyed by
 * {@link ResponseCacheKey#of}. A hit hands back exactly the body that was stored, so the HTTP
 * layer can send it without touching the engine.
 *
 * <p>The cache is an optimisation, never a dependency: implementations complete every stage
 * normally. A broken backend (Redis down, slow, full) reads as a miss and a dropped store, is
 * counted in {@link #errors()}, and is logged at most about once a minute. Stages may complete on
 * a Vert.x event-loop thread, so continuations must not block. Only programming errors (a
 * {@code null} key or body) throw, and they throw at the call.
 */
public interface ResponseCache extends AutoCloseable {

    /** The body stored under {@code key}, or empty on a miss, an expired entry or a backend failure. */
    CompletionStage<Optional<String>> get(String key);

    /**
     * Stores {@code body} under {@code key}, replacing what was there. Bodies above the configured
     * maximum entry size are silently skipped. Completes once the store is done or abandoned.
     */
    CompletionStage<Void> put(String key, String body);

    /** One line for the start-up log: which backend, its bounds, and where (credentials left out). */
    String describe();

    /** Lookups that found a body. */
    long hits();

    /** Lookups that found nothing, including those that failed. */
    long misses();

    /** Operations, lookups or stores, that failed or were skipped because the backend was failing. */
    long errors();

    /** Releases the backend; later calls behave as misses and dropped stores. */
    @Override
    void close();
}
