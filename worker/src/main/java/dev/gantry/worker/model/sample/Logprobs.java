package dev.gantry.worker.model.sample;

import java.util.Objects;

/**
 * Log-softmax of one row of logits, read for a few tokens: what {@code logprobs} and
 * {@code top_logprobs} return. The sum of exponentials is taken in double precision around the
 * row's maximum, so a log-probability is exact to float rounding of the logits it comes from.
 */
public final class Logprobs {
    /** The most top log-probabilities a request may ask for (vLLM's and OpenAI's chat limit). */
    public static final int MAX_TOP = 20;

    private Logprobs() {}

    /**
     * @param logits holds the row at {@code [offset, offset + vocabSize)}; not changed
     * @param token  the token whose log-probability is wanted
     * @param top    how many of the most likely tokens to list (0 to {@link #MAX_TOP})
     */
    public static TokenLogprobs of(float[] logits, int offset, int vocabSize, int token, int top) {
        Objects.checkFromIndexSize(offset, vocabSize, logits.length);
        Objects.checkIndex(token, vocabSize);
        if (top < 0 || top > MAX_TOP) {
            throw new IllegalArgumentException("top must be 0.." + MAX_TOP + ", got " + top);
        }
        float max = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < vocabSize; i++) {
            max = Math.max(max, logits[offset + i]);
        }
        double sum = 0;
        for (int i = 0; i < vocabSize; i++) {
            sum += Math.exp((double) logits[offset + i] - max);
        }
        double logZ = max + Math.log(sum);
        // [top] ids and values, kept sorted by value descending (ties: lower id first, as
        // the ids come in ascending order and a tie never displaces).
        int[] ids = new int[top];
        float[] values = new float[top];
        int size = 0;
        for (int i = 0; i < vocabSize && top > 0; i++) {
            float v = logits[offset + i];
            if (size == top && !(v > values[top - 1])) {
                continue;
            }
            if (Float.isNaN(v)) {
                continue;
            }
            int at = size < top ? size++ : top - 1;
            while (at > 0 && v > values[at - 1]) {
                values[at] = values[at - 1];
                ids[at] = ids[at - 1];
                at--;
            }
            values[at] = v;
            ids[at] = i;
        }
        float[] lp = new float[size];
        for (int j = 0; j < size; j++) {
            lp[j] = (float) (values[j] - logZ);
        }
        return new TokenLogprobs(token, (float) (logits[offset + token] - logZ), java.util.Arrays.copyOf(ids, size), lp);
    }
}
