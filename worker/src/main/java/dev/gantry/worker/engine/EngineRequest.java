package dev.gantry.worker.engine;

import dev.gantry.worker.model.Pooling;
import dev.gantry.worker.model.grammar.CompiledGrammar;
import dev.gantry.worker.model.sample.Logprobs;
import dev.gantry.worker.model.sample.SamplingParams;

/**
 * What a client asks of the engine: continue {@code promptTokens} (already tokenized, BOS and
 * chat template applied) under {@code params}. {@code params.maxTokens()} may be null: the
 * engine then generates until the context ({@link EngineConfig#maxModelLen()}) is full; 0 computes
 * the prompt only (for its log-probabilities).
 *
 * @param id             the request's id, for logs and errors
 * @param arrivalNanos   {@link System#nanoTime()} when the request arrived, for queue-time metrics
 * @param logprobs       for each sampled token, its log-probability and this many top ones
 *                       (0..{@link Logprobs#MAX_TOP}); -1 for none
 * @param promptLogprobs the same for every prompt token after the first; -1 for none. Such a
 *                       request computes its whole prompt (no prefix-cache hits) to see every row's logits
 * @param grammar        what the output must match (structured outputs), or null: each sequence
 *                       masks its logits with its own matcher of it, inside the batched step
 * @param pooling        for an embedding: how the prompt's last hidden states are pooled (the
 *                       request computes its prompt only, with no prefix-cache hits, and ends with
 *                       {@link RequestListener#onEmbedding}); null to generate
 */
public record EngineRequest(String id, int[] promptTokens, SamplingParams params, long arrivalNanos, int logprobs,
        int promptLogprobs, CompiledGrammar grammar, Pooling pooling) {

    public EngineRequest {
        if (logprobs < -1 || logprobs > Logprobs.MAX_TOP || promptLogprobs < -1 || promptLogprobs > Logprobs.MAX_TOP) {
            throw new IllegalArgumentException("logprobs must be -1.." + Logprobs.MAX_TOP + ", got " + logprobs
                    + " and " + promptLogprobs);
        }
    }

    public EngineRequest(String id, int[] promptTokens, SamplingParams params, long arrivalNanos) {
        this(id, promptTokens, params, arrivalNanos, -1, -1, null, null);
    }

    public EngineRequest(String id, int[] promptTokens, SamplingParams params) {
        this(id, promptTokens, params, System.nanoTime());
    }

    /** This request with log-probabilities of sampled tokens ({@code logprobs}) and prompt tokens ({@code prompt}); -1 for none. */
    public EngineRequest withLogprobs(int logprobs, int prompt) {
        return new EngineRequest(id, promptTokens, params, arrivalNanos, logprobs, prompt, grammar, pooling);
    }

    /** This request with its output constrained to {@code g} (null: free). */
    public EngineRequest withGrammar(CompiledGrammar g) {
        return new EngineRequest(id, promptTokens, params, arrivalNanos, logprobs, promptLogprobs, g, pooling);
    }

    /** An embedding of {@code promptTokens}, pooled as {@code p}: the prompt computed, nothing generated. */
    public static EngineRequest embedding(String id, int[] promptTokens, Pooling p, long arrivalNanos) {
        return new EngineRequest(id, promptTokens, SamplingParams.defaults().withTemperature(0).withMaxTokens(0),
                arrivalNanos, -1, -1, null, java.util.Objects.requireNonNull(p));
    }
}
