package dev.gantry.worker.backend;

/**
 * How {@link Backend#sample} picks one row's token: the argmax when {@code greedy}, else
 * temperature (as its inverse), top-k (0: off), top-p (1: off), min-p (0: off) and a draw with
 * {@code uniform}, a number in [0, 1) from the sequence's own generator.
 */
public record SamplingRow(boolean greedy, float invTemperature, int topK, float topP, float minP, double uniform) {

    public static SamplingRow argmax() {
        return new SamplingRow(true, 1f, 0, 1f, 0f, 0);
    }
}
