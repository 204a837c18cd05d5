package dev.gantry.bench;

/**
 * What one request measured. Times are nanoseconds from {@link System#nanoTime()}, taken on the
 * client: TTFT runs from just before the request is sent to the arrival of the first chunk that
 * carries generated text; each inter-token latency is the gap between two such chunks; end to
 * end runs to the closing {@code [DONE]} (or to the failure).
 *
 * @param error              null when the request succeeded
 * @param ttftNanos          time to first token; -1 when no token arrived
 * @param interTokenNanos    gaps between consecutive content chunks (one per chunk after the first)
 * @param e2eNanos           send to end of stream or failure
 * @param promptTokens       {@code usage.prompt_tokens}; else the prompt's words once
 *                           {@link #withPromptWords} has been applied, else -1
 * @param outputTokens       {@code usage.completion_tokens}, else the number of content chunks
 * @param outputFromUsage    whether {@code outputTokens} came from the server's usage
 * @param promptFromUsage    whether {@code promptTokens} came from the server's usage
 */
public record RequestResult(RequestError error, long ttftNanos, long[] interTokenNanos, long e2eNanos,
        int promptTokens, int outputTokens, boolean outputFromUsage, boolean promptFromUsage) {

    /** A successful request's result; the prompt count is the server's when it is known (>= 0). */
    static RequestResult succeeded(long ttftNanos, long[] interTokenNanos, long e2eNanos, int promptTokens,
            int outputTokens, boolean outputFromUsage) {
        return new RequestResult(null, ttftNanos, interTokenNanos, e2eNanos, promptTokens, outputTokens,
                outputFromUsage, promptTokens >= 0);
    }

    /**
     * This result with the prompt's word count standing in for its token count when the server
     * reported none; the same result otherwise.
     */
    public RequestResult withPromptWords(int words) {
        if (promptFromUsage || promptTokens >= 0) {
            return this;
        }
        return new RequestResult(error, ttftNanos, interTokenNanos, e2eNanos, words, outputTokens, outputFromUsage, false);
    }

    public boolean ok() {
        return error == null;
    }

    /**
     * Time per output token after the first, {@code (e2e - ttft) / (output - 1)} as vLLM defines
     * it; NaN when the request produced fewer than two tokens or failed.
     */
    public double tpotNanos() {
        if (!ok() || outputTokens < 2) {
            return Double.NaN;
        }
        return (double) (e2eNanos - ttftNanos) / (outputTokens - 1);
    }

    static RequestResult failed(RequestError error, long ttftNanos, long[] interTokenNanos, long e2eNanos) {
        return new RequestResult(error, ttftNanos, interTokenNanos, e2eNanos, -1, 0, false, false);
    }
}
