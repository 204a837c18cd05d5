package dev.gantry.worker.model.sample;

/**
 * The tokens of one sequence as the penalties see them: which ids occur in the prompt or the
 * output (repetition penalty) and how often each id was generated (presence and frequency
 * penalties), plus the output length (min_tokens). Built once from the prompt, then told each
 * generated token with {@link #add(int)} in O(1), so that sampling never rescans the sequence.
 *
 * <p>Memory grows with the number of distinct ids, not with the vocabulary. Not thread-safe: it
 * belongs to one sequence.
 */
public final class TokenHistory {
    private final TokenCounter seen = new TokenCounter();
    private final TokenCounter output = new TokenCounter();
    private final int promptLength;
    private int outputLength;

    /** A history with an empty prompt. */
    public TokenHistory() {
        this.promptLength = 0;
    }

    /** A history whose prompt is {@code promptTokens} (not kept). */
    public TokenHistory(int[] promptTokens) {
        for (int t : promptTokens) {
            seen.increment(t);
        }
        this.promptLength = promptTokens.length;
    }

    /**
     * A history of {@code prompt} followed by already generated {@code output} tokens, e.g. when a
     * preempted sequence is resumed.
     */
    public static TokenHistory of(int[] prompt, int[] output) {
        TokenHistory h = new TokenHistory(prompt);
        for (int t : output) {
            h.add(t);
        }
        return h;
    }

    /** Records one generated token. */
    public void add(int token) {
        seen.increment(token);
        output.increment(token);
        outputLength++;
    }

    public int promptLength() {
        return promptLength;
    }

    /** Number of tokens generated so far. */
    public int outputLength() {
        return outputLength;
    }

    /** How many times {@code token} was generated (the prompt does not count). */
    public int outputCount(int token) {
        return output.count(token);
    }

    /** Whether {@code token} occurs in the prompt or the output. */
    public boolean contains(int token) {
        return seen.count(token) > 0;
    }

    /** Distinct ids of prompt and output, for the repetition penalty. */
    TokenCounter seen() {
        return seen;
    }

    /** Distinct generated ids with their counts, for presence and frequency penalties. */
    TokenCounter output() {
        return output;
    }
}
