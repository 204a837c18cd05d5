package dev.gantry.worker.model.sample;

/**
 * The log-probabilities around one token: the token's own, and the most likely tokens at its
 * position, most likely first (ties to the lower id).
 *
 * @param token       the token (sampled, or the prompt's next token)
 * @param logprob     its log-probability; {@code -Infinity} when it was masked out
 * @param topIds      [k] the k most likely token ids
 * @param topLogprobs [k] their log-probabilities
 */
public record TokenLogprobs(int token, float logprob, int[] topIds, float[] topLogprobs) {

    public int topCount() {
        return topIds.length;
    }
}
