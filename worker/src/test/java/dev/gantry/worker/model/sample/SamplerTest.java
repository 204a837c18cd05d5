package dev.gantry.worker.model.sample;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class SamplerTest {
    private static final float NEG_INF = Float.NEGATIVE_INFINITY;

    @Test
    void greedyIsArgmaxWithTiesToTheLowestIdAndNaNIgnored() {
        Sampler greedy = new Sampler(params().withTemperature(0));
        assertThat(greedy.sample(new float[] {1, 3, -2, 2}, 4, new TokenHistory())).isEqualTo(1);
        assertThat(greedy.sample(new float[] {1, 3, 3, 2, 3}, 5, new TokenHistory())).isEqualTo(1);
        assertThat(greedy.sample(new float[] {Float.NaN, -5, NEG_INF}, 3, new TokenHistory())).isEqualTo(1);
        assertThat(greedy.sample(new float[] {NEG_INF, NEG_INF, -1e30f}, 3, new TokenHistory())).isEqualTo(2);
        // Below vLLM's epsilon counts as 0.
        Sampler almost = new Sampler(params().withTemperature(1e-6));
        assertThat(almost.sample(new float[] {0, 0.001f, 0}, 3, new TokenHistory())).isEqualTo(1);
    }

    @Test
    void greedyDrawsNoRandomNumbers() {
        FixedRandom rng = new FixedRandom(0.5);
        Sampler s = new Sampler(params().withTemperature(0), new int[0], rng);
        s.sample(new float[] {1, 2}, 2, new TokenHistory());
        assertThat(rng.draws).isZero();
    }

    @Test
    void topKOneEqualsGreedy() {
        SplittableRandom data = new SplittableRandom(11);
        for (int trial = 0; trial < 20; trial++) {
            float[] logits = randomLogits(data, 5000, 3);
            if (trial % 2 == 0) {
                logits[4000] = logits[Sampler.argmax(logits, 0, logits.length)]; // a tie at the top
            }
            int expected = Sampler.argmax(logits, 0, logits.length);
            Sampler s = new Sampler(params().withTopK(1).withTemperature(1.5).withSeed(trial));
            assertThat(s.sample(logits.clone(), logits.length, new TokenHistory())).isEqualTo(expected);
        }
    }

    @Test
    void temperatureOneFrequenciesMatchSoftmax() {
        double[] probs = {0.5, 0.25, 0.15, 0.1};
        assertFrequencies(params().withSeed(42), logitsOf(probs), probs);
    }

    @Test
    void temperatureSharpensAndFlattens() {
        double[] probs = {0.5, 0.25, 0.15, 0.1};
        // softmax(l / T) is proportional to p^(1/T).
        assertFrequencies(params().withTemperature(0.5).withSeed(1), logitsOf(probs), powNormalized(probs, 2));
        assertFrequencies(params().withTemperature(2).withSeed(2), logitsOf(probs), powNormalized(probs, 0.5));
    }

    @Test
    void filteredFrequenciesAreRenormalized() {
        double[] probs = {0.1, 0.4, 0.2, 0.3};
        assertFrequencies(params().withTopK(2).withSeed(3), logitsOf(probs), new double[] {0, 4 / 7.0, 0, 3 / 7.0});
        // top_p 0.75: 0.4 + 0.3 = 0.7 is short, so 0.2 is kept too.
        assertFrequencies(params().withTopP(0.75).withSeed(4), logitsOf(probs),
                new double[] {0, 4 / 9.0, 2 / 9.0, 3 / 9.0});
        // min_p 0.4: bar 0.16 drops 0.1 only.
        assertFrequencies(params().withMinP(0.4).withSeed(5), logitsOf(probs),
                new double[] {0, 4 / 9.0, 2 / 9.0, 3 / 9.0});
    }

    @Test
    void topPKeepsTheSmallestSetReachingTheMass() {
        // ids 0..3 have 0.3, 0.1, 0.4, 0.2: in order of probability 2, 0, 3, 1.
        float[] logits = logitsOf(new double[] {0.3, 0.1, 0.4, 0.2});
        // 0.4 + 0.3 >= 0.65.
        assertDistribution(params().withTopP(0.65), logits, 3 / 7.0, 0, 4 / 7.0, 0);
        // 0.7 < 0.75 <= 0.9.
        assertDistribution(params().withTopP(0.75), logits, 3 / 9.0, 0, 4 / 9.0, 2 / 9.0);
        assertDistribution(params().withTopP(0.95), logits, 0.3, 0.1, 0.4, 0.2);
        // The top token alone.
        assertDistribution(params().withTopP(0.3), logits, 0, 0, 1, 0);
        // Temperature comes first: at T = 0.5 the probabilities are 9/30, 1/30, 16/30, 4/30.
        assertDistribution(params().withTopP(0.8).withTemperature(0.5), logits, 9 / 25.0, 0, 16 / 25.0, 0);
    }

    @Test
    void topKKeepsTheKMostLikely() {
        float[] logits = logitsOf(new double[] {0.3, 0.1, 0.4, 0.2});
        assertDistribution(params().withTopK(1), logits, 0, 0, 1, 0);
        assertDistribution(params().withTopK(2), logits, 3 / 7.0, 0, 4 / 7.0, 0);
        assertDistribution(params().withTopK(3), logits, 3 / 9.0, 0, 4 / 9.0, 2 / 9.0);
        // k >= vocabulary is off.
        assertDistribution(params().withTopK(4), logits, 0.3, 0.1, 0.4, 0.2);
        assertDistribution(params().withTopK(-1), logits, 0.3, 0.1, 0.4, 0.2);
        // Ties at the cut go to the lower id.
        assertDistribution(params().withTopK(2), new float[] {1, 5, 1, 1}, e(1, 5, 1), e(5, 5, 1), 0, 0);
        // top-k first, then top-p on the renormalized k: 0.4/0.9 < 0.5 <= 0.7/0.9.
        assertDistribution(params().withTopK(3).withTopP(0.5), logits, 3 / 7.0, 0, 4 / 7.0, 0);
    }

    @Test
    void minPDropsTokensBelowTheScaledTop() {
        // ids 0..4 have 0.06, 0.5, 0.04, 0.3, 0.1.
        float[] logits = logitsOf(new double[] {0.06, 0.5, 0.04, 0.3, 0.1});
        // Bar 0.075 keeps 0.5, 0.3 and 0.1 of mass 0.9.
        assertDistribution(params().withMinP(0.15), logits, 0, 5 / 9.0, 0, 3 / 9.0, 1 / 9.0);
        assertDistribution(params().withMinP(0.15).withTopK(4), logits, 0, 5 / 9.0, 0, 3 / 9.0, 1 / 9.0);
        assertDistribution(params().withMinP(0.15).withTopP(0.99), logits, 0, 5 / 9.0, 0, 3 / 9.0, 1 / 9.0);
        // Bar 0.125 drops 0.1 too; min-p 1 keeps only the top.
        assertDistribution(params().withMinP(0.25), logits, 0, 5 / 8.0, 0, 3 / 8.0, 0);
        assertDistribution(params().withMinP(0.25).withTopK(4), logits, 0, 5 / 8.0, 0, 3 / 8.0, 0);
        assertDistribution(params().withMinP(1), logits, 0, 1, 0, 0, 0);
        // top-p 0.7 keeps 0.5 and 0.3; then min-p 0.5 (bar 0.25) keeps both, min-p 0.7 (bar 0.35) not.
        assertDistribution(params().withTopP(0.7).withMinP(0.5), logits, 0, 5 / 8.0, 0, 3 / 8.0, 0);
        assertDistribution(params().withTopP(0.7).withMinP(0.7), logits, 0, 1, 0, 0, 0);
    }

    @Test
    void aDrawLandsOnTheTokenWhoseSliceHoldsTheRandomNumber() {
        // Without top-k or top-p the kept ids are walked in id order: 1, 3, 4 of mass 0.9.
        float[] logits = logitsOf(new double[] {0.06, 0.5, 0.04, 0.3, 0.1});
        SamplingParams p = params().withMinP(0.15);
        assertThat(pick(p, logits, 0.0)).isEqualTo(1);
        assertThat(pick(p, logits, 0.55)).isEqualTo(1);
        assertThat(pick(p, logits, 0.56)).isEqualTo(3);
        assertThat(pick(p, logits, 0.88)).isEqualTo(3);
        assertThat(pick(p, logits, 0.9)).isEqualTo(4);
        assertThat(pick(p, logits, Math.nextDown(1.0))).isEqualTo(4);
        // With top-k the walk goes by probability: 0.5, 0.3, 0.1.
        assertThat(pick(p.withTopK(4), logits, 0.56)).isEqualTo(3);
        assertThat(pick(p.withTopK(4), logits, Math.nextDown(1.0))).isEqualTo(4);
    }

    @Test
    void sameSeedSameTokensDifferentSeedDifferentTokens() {
        List<Integer> a = generate(1234L, 60);
        List<Integer> b = generate(1234L, 60);
        List<Integer> c = generate(1235L, 60);
        assertThat(a).isEqualTo(b);
        assertThat(a).isNotEqualTo(c);
        assertThat(generate(null, 60)).isNotEqualTo(generate(null, 60));
    }

    @Test
    void samplesTheRowAtTheOffsetAndNeverThePadding() {
        // Two rows of 4 real tokens padded to 6; the padding has huge logits.
        float[] batch = {9, 0, 0, 0, 100, 100, 0, 0, 9, 0, 100, 100};
        Sampler greedy = new Sampler(params().withTemperature(0));
        assertThat(greedy.sample(batch.clone(), 6, 4, new TokenHistory())).isEqualTo(2);
        Sampler random = new Sampler(params().withSeed(9));
        for (int i = 0; i < 200; i++) {
            int t = random.sample(batch.clone(), 6, 4, new TokenHistory());
            assertThat(t).isBetween(0, 3);
        }
        assertThatThrownBy(() -> greedy.sample(batch, 10, 4, new TokenHistory()))
                .isInstanceOf(IndexOutOfBoundsException.class);
    }

    @Test
    void infiniteAndMaskedLogits() {
        for (SamplingParams p : List.of(params(), params().withTopK(2), params().withTopP(0.5),
                params().withMinP(0.1))) {
            Sampler s = new Sampler(p.withSeed(5));
            for (int i = 0; i < 50; i++) {
                assertThat(s.sample(new float[] {0, Float.POSITIVE_INFINITY, 3, NEG_INF}, 4, new TokenHistory()))
                        .isEqualTo(1);
                assertThat(s.sample(new float[] {NEG_INF, Float.NaN, 0, NEG_INF}, 4, new TokenHistory()))
                        .isEqualTo(2);
            }
            assertThatThrownBy(() -> s.sample(new float[] {NEG_INF, Float.NaN}, 2, new TokenHistory()))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("finite");
        }
    }

    @Test
    void invalidParamsAreRejectedAtConstruction() {
        assertThatThrownBy(() -> new Sampler(params().withTopP(0)))
                .isInstanceOf(InvalidSamplingParamsException.class).hasMessageContaining("top_p");
    }

    static SamplingParams params() {
        return SamplingParams.defaults();
    }

    /** ln(p): softmax gives back p. */
    static float[] logitsOf(double[] probs) {
        float[] l = new float[probs.length];
        for (int i = 0; i < probs.length; i++) {
            l[i] = (float) Math.log(probs[i]);
        }
        return l;
    }

    static float[] randomLogits(SplittableRandom r, int n, double scale) {
        float[] l = new float[n];
        for (int i = 0; i < n; i++) {
            // Sum of uniforms: roughly normal, bounded, cheap.
            l[i] = (float) ((r.nextDouble() + r.nextDouble() + r.nextDouble() - 1.5) * 2 * scale);
        }
        return l;
    }

    private static double[] powNormalized(double[] p, double e) {
        double[] q = new double[p.length];
        double sum = 0;
        for (int i = 0; i < p.length; i++) {
            q[i] = Math.pow(p[i], e);
            sum += q[i];
        }
        for (int i = 0; i < p.length; i++) {
            q[i] /= sum;
        }
        return q;
    }

    /**
     * 100k draws with a fixed seed: each frequency within 0.01 of its probability (at least 6
     * standard deviations, and deterministic anyway); dropped tokens never appear.
     */
    private static void assertFrequencies(SamplingParams p, float[] logits, double[] expected) {
        Sampler s = new Sampler(p);
        int draws = 100_000;
        int[] counts = new int[logits.length];
        TokenHistory h = new TokenHistory();
        for (int i = 0; i < draws; i++) {
            counts[s.sample(logits.clone(), logits.length, h)]++;
        }
        for (int t = 0; t < logits.length; t++) {
            if (expected[t] == 0) {
                assertThat(counts[t]).as("token %d", t).isZero();
            } else {
                assertThat(counts[t] / (double) draws).as("token %d", t).isCloseTo(expected[t], within(0.01));
            }
        }
    }

    private static int pick(SamplingParams p, float[] logits, double u) {
        Sampler s = new Sampler(p, new int[0], new FixedRandom(u));
        return s.sample(logits.clone(), logits.length, new TokenHistory());
    }

    /** exp(a) / (exp(b) + exp(c)). */
    private static double e(double a, double b, double c) {
        return Math.exp(a) / (Math.exp(b) + Math.exp(c));
    }

    private static void assertDistribution(SamplingParams p, float[] logits, double... expected) {
        double[] actual = new Sampler(p).distribution(logits.clone(), 0, logits.length, new TokenHistory());
        assertThat(actual).as("%s", p).hasSize(expected.length);
        for (int i = 0; i < expected.length; i++) {
            if (expected[i] == 0) {
                assertThat(actual[i]).as("token %d of %s", i, p).isZero();
            } else {
                assertThat(actual[i]).as("token %d of %s", i, p).isCloseTo(expected[i], within(1e-6));
            }
        }
    }

    private static List<Integer> generate(Long seed, int steps) {
        Sampler s = new Sampler(params().withSeed(seed).withTemperature(1.3).withTopK(200).withTopP(0.95));
        SplittableRandom data = new SplittableRandom(99);
        TokenHistory h = new TokenHistory(new int[] {1, 2, 3});
        List<Integer> out = new ArrayList<>();
        for (int i = 0; i < steps; i++) {
            int t = s.sample(randomLogits(data, 1000, 1), 1000, h);
            h.add(t);
            out.add(t);
        }
        return out;
    }
}
