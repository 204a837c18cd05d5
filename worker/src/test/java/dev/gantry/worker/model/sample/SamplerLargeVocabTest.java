package dev.gantry.worker.model.sample;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.Arrays;
import java.util.Comparator;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The fast paths (heap top-k, bucketed top-p, sort-free min-p, vectorized weights) against a
 * plain reference that sorts the whole 150k vocabulary and works in double: the same tokens must
 * be kept, with the same probabilities, and real draws must only ever land on kept tokens.
 */
class SamplerLargeVocabTest {
    private static final int VOCAB = 151_936;

    @Test
    void topKMatchesTheReference() {
        check(SamplingParams.defaults().withTopK(50).withTemperature(0.8), 1);
        check(SamplingParams.defaults().withTopK(5000).withTemperature(1.2), 2);
    }

    @Test
    void topPMatchesTheReference() {
        check(SamplingParams.defaults().withTopP(0.9), 3);
        check(SamplingParams.defaults().withTopP(0.5).withTemperature(0.7), 4);
        // A flat distribution: tens of thousands of tokens make up the nucleus.
        check(SamplingParams.defaults().withTopP(0.95).withTemperature(2), 5);
        // A peaked one: the nucleus is a handful of tokens.
        check(SamplingParams.defaults().withTopP(0.99).withTemperature(0.1), 6);
    }

    @Test
    void combinationsMatchTheReference() {
        check(SamplingParams.defaults().withTopK(40).withTopP(0.8).withMinP(0.02), 7);
        check(SamplingParams.defaults().withTopP(0.95).withMinP(0.05).withTemperature(1.5), 8);
        check(SamplingParams.defaults().withMinP(0.1).withTemperature(0.6), 9);
    }

    @Test
    void plainSamplingMatchesTheReference() {
        check(SamplingParams.defaults().withTemperature(1.0), 10);
        check(SamplingParams.defaults().withTemperature(1.7), 11);
    }

    private static void check(SamplingParams builder, long dataSeed) {
        SamplingParams p = builder.withSeed(dataSeed);
        float[] logits = SamplerTest.randomLogits(new SplittableRandom(dataSeed), VOCAB, 4);
        // Exact ties at the top exercise the lower-id rule; -infinity and NaN must weigh nothing.
        int top = Sampler.argmax(logits, 0, VOCAB);
        logits[VOCAB - 1] = logits[top];
        logits[17] = logits[top];
        logits[18] = Float.NEGATIVE_INFINITY;
        logits[19] = Float.NaN;

        double[] expected = reference(logits, p);
        double[] actual = new Sampler(p).distribution(logits.clone(), 0, VOCAB, new TokenHistory());
        int kept = 0;
        for (int i = 0; i < VOCAB; i++) {
            if (expected[i] == 0) {
                assertThat(actual[i]).as("token %d", i).isZero();
            } else {
                kept++;
                assertThat(actual[i]).as("token %d", i).isCloseTo(expected[i], within(1e-7 + 1e-4 * expected[i]));
            }
        }
        assertThat(kept).isGreaterThan(1);

        Sampler s = new Sampler(p);
        for (int draw = 0; draw < 16; draw++) {
            int t = s.sample(logits.clone(), VOCAB, new TokenHistory());
            assertThat(expected[t]).as("drawn token %d", t).isPositive();
        }
    }

    /** Top-k, top-p and min-p by their definitions, on a full sort in double. */
    private static double[] reference(float[] logits, SamplingParams p) {
        Integer[] order = new Integer[logits.length];
        Arrays.setAll(order, i -> i);
        Comparator<Integer> byLogit = Comparator.comparingDouble(i -> Float.isNaN(logits[i]) ? Double.POSITIVE_INFINITY
                : -logits[i]);
        Arrays.sort(order, byLogit.thenComparingInt(i -> i));
        int n = p.topK() > 0 && p.topK() < logits.length ? p.topK() : logits.length;
        double max = logits[order[0]];
        double[] w = new double[n];
        double total = 0;
        for (int j = 0; j < n; j++) {
            float l = logits[order[j]];
            w[j] = Float.isNaN(l) ? 0 : Math.exp((l - max) / p.temperature());
            total += w[j];
        }
        if (p.topP() < 1) {
            double cum = 0;
            for (int j = 0; j < n; j++) {
                cum += w[j];
                if (cum >= p.topP() * total) {
                    n = j + 1;
                    break;
                }
            }
        }
        double[] probs = new double[logits.length];
        double keptMass = 0;
        for (int j = 0; j < n; j++) {
            if (w[j] >= p.minP() * w[0] && w[j] > 0) {
                keptMass += w[j];
            }
        }
        for (int j = 0; j < n; j++) {
            if (w[j] >= p.minP() * w[0] && w[j] > 0) {
                probs[order[j]] = w[j] / keptMass;
            }
        }
        return probs;
    }
}
