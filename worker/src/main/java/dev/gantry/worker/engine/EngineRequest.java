package dev.gantry.worker.engine;

import dev.gantry.worker.model.sample.SamplingParams;

/**
 * What a client asks of the engine: continue {@code promptTokens} (already tokenized, BOS and
 * chat template applied) under {@code params}. {@code params.maxTokens()} may be null: the
 * engine then generates until the context ({@link EngineConfig#maxModelLen()}) is full.
 *
 * @param id           the request's id, for logs and errors
 * @param arrivalNanos {@link System#nanoTime()} when the request arrived, for queue-time metrics
 */
public record EngineRequest(String id, int[] promptTokens, SamplingParams params, long arrivalNanos) {

    public EngineRequest(String id, int[] promptTokens, SamplingParams params) {
        this(id, promptTokens, params, System.nanoTime());
    }
}
