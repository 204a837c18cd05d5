package dev.gantry.worker.engine;

import dev.gantry.worker.model.sample.TokenLogprobs;
import java.util.List;

/**
 * Receives one request's progress. Called on the engine's step thread: implementations must
 * return quickly and never block (hand the data to an event loop or a queue).
 */
public interface RequestListener {

    /**
     * Tokens sampled for this request in one step, and the text that became final with them
     * (complete UTF-8 characters, stop strings held back and cut; may be empty).
     *
     * @param logprobs [newTokenIds.length] their log-probabilities, or null when not asked for
     */
    void onOutput(int[] newTokenIds, String textDelta, TokenLogprobs[] logprobs);

    /**
     * The log-probabilities of the prompt's tokens after the first (each given the tokens before
     * it), once, before any output; only for requests that asked for them.
     */
    default void onPromptLogprobs(List<TokenLogprobs> logprobs) {}

    /** An embedding request's vector (normalised to length 1), once, just before it finishes. */
    default void onEmbedding(float[] embedding) {}

    /** The request ended (normally, cancelled or failed); no call follows this one. */
    void onFinish(RequestResult result);
}
