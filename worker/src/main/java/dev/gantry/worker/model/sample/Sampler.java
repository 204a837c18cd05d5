package dev.gantry.worker.model.sample;

import dev.gantry.worker.backend.VectorExp;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.random.RandomGenerator;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Picks the next token of one sequence from its logits, in vLLM's order: logit bias, the
 * min_tokens mask, repetition then frequency then presence penalties; then either the argmax
 * (temperature 0; ties go to the lowest id) or temperature, top-k, top-p (on what top-k kept),
 * min-p and a draw from the sequence's own random generator. The same seed and the same logits
 * give the same tokens.
 *
 * <p>Built for vocabularies of 150k, where a full sort per token would cost more than the rest:
 * top-k selects with a k-sized heap; top-p buckets the probabilities by magnitude in one pass,
 * keeps the buckets that lie wholly inside the nucleus unsorted and sorts only the one bucket the
 * cut falls in; min-p alone and plain sampling sort nothing. Weights are computed with the Vector
 * API. Scratch arrays live in the sampler and grow with the candidates, not with the vocabulary.
 *
 * <p>One per sequence; not thread-safe (different samplers may run on different threads).
 */
public final class Sampler {
    private static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;
    private static final int ONE_BITS = Float.floatToRawIntBits(1f);
    /**
     * Top-p buckets are 1/8 of a binary order of magnitude wide (the float's exponent and its top
     * three mantissa bits), so the one bucket that must be sorted is small even for flat
     * distributions. Bucket 0 holds weight 1, the last one only weight 0.
     */
    private static final int BUCKET_SHIFT = 20;
    private static final int BUCKETS = (ONE_BITS >> BUCKET_SHIFT) + 1;
    /** {@link #select} found no candidate list: the weights in place, above {@link #denseBar}, are it. */
    private static final int DENSE = -1;

    private final SamplingParams params;
    private final RandomGenerator rng;
    private final boolean greedy;
    private final double invTemperature;
    private final int topK;
    private final double topP;
    private final float minP;
    private final float repetitionPenalty;
    private final float frequencyPenalty;
    private final float presencePenalty;
    private final int minTokens;
    private final int[] biasIds;
    private final float[] biasValues;
    private final int[] minTokensMask;

    private long[] keys = new long[64];
    private int[] candIds = new int[64];
    private float[] candWeights = new float[64];
    private final double[] histogram = new double[BUCKETS];
    private float denseBar;
    private double denseMass;
    private int denseLast;

    /** A sampler without EOS ids (min_tokens then masks only {@code stopTokenIds}). */
    public Sampler(SamplingParams params) {
        this(params, new int[0]);
    }

    /**
     * @param params validated here
     * @param eosTokenIds the model's end-of-sequence ids, which min_tokens keeps from being sampled
     * @throws InvalidSamplingParamsException when {@code params} do not validate
     */
    public Sampler(SamplingParams params, int[] eosTokenIds) {
        this(params, eosTokenIds, params.seed() != null ? new SplittableRandom(params.seed()) : new SplittableRandom());
    }

    /** For tests that need to choose the random numbers. */
    Sampler(SamplingParams params, int[] eosTokenIds, RandomGenerator rng) {
        params.validate();
        this.params = params;
        this.rng = Objects.requireNonNull(rng);
        this.greedy = params.greedy();
        this.invTemperature = greedy ? 1 : 1 / params.temperature();
        this.topK = Math.max(params.topK(), 0);
        this.topP = params.topP();
        this.minP = (float) params.minP();
        this.repetitionPenalty = (float) params.repetitionPenalty();
        this.frequencyPenalty = (float) params.frequencyPenalty();
        this.presencePenalty = (float) params.presencePenalty();
        this.minTokens = params.minTokens();
        this.biasIds = new int[params.logitBias().size()];
        this.biasValues = new float[biasIds.length];
        int j = 0;
        for (Map.Entry<Integer, Float> e : params.logitBias().entrySet()) {
            biasIds[j] = e.getKey();
            biasValues[j] = e.getValue();
            j++;
        }
        // vLLM masks every stop token id, EOS included even with ignore_eos: min_tokens means
        // "not before", whatever happens after.
        Set<Integer> mask = new LinkedHashSet<>(params.stopTokenIds());
        for (int id : eosTokenIds) {
            mask.add(id);
        }
        this.minTokensMask = mask.stream().mapToInt(Integer::intValue).toArray();
    }

    public SamplingParams params() {
        return params;
    }

    /** Temperature 0: the pick is the argmax of the processed logits. */
    public boolean greedy() {
        return greedy;
    }

    /**
     * Whether this sampler is the plain argmax of the logits: greedy, with no logit bias, no
     * min_tokens mask and neutral penalties. Then a backend's own argmax gives its token.
     */
    public boolean plainGreedy() {
        return greedy && withoutLogitsProcessors();
    }

    /** Whether the logits go to the distribution as they are: no logit bias, no min_tokens mask, neutral penalties. */
    public boolean withoutLogitsProcessors() {
        return biasIds.length == 0 && minTokens == 0 && repetitionPenalty == 1f && frequencyPenalty == 0f
                && presencePenalty == 0f;
    }

    /**
     * This sampler's next pick as a backend samples it ({@link #withoutLogitsProcessors} must
     * hold): its filters, and for a random pick the next number of its own generator, the one
     * {@link #sample} would have drawn.
     */
    public dev.gantry.worker.backend.SamplingRow nextDeviceRow() {
        if (greedy) {
            return dev.gantry.worker.backend.SamplingRow.argmax();
        }
        return new dev.gantry.worker.backend.SamplingRow(false, (float) invTemperature, topK, (float) topP, minP,
                rng.nextDouble());
    }

    /** {@link #sample(float[], int, int, TokenHistory)} with the logits at the start of the array. */
    public int sample(float[] logits, int vocabSize, TokenHistory history) {
        return sample(logits, 0, vocabSize, history);
    }

    /**
     * Picks the next token.
     *
     * @param logits holds the sequence's logits at {@code [offset, offset + vocabSize)}, which
     *     this call overwrites (penalties, then weights) instead of copying 150k floats per token
     * @param vocabSize the number of real tokens (a model may pad its output rows)
     * @param history the sequence's tokens so far; the caller appends the returned token to it
     * @return a token id in {@code [0, vocabSize)}
     * @throws IllegalArgumentException when a logit_bias id is not below {@code vocabSize} or no
     *     logit is finite after masking
     * @throws IndexOutOfBoundsException when the range does not fit the array
     */
    public int sample(float[] logits, int offset, int vocabSize, TokenHistory history) {
        adjustLogits(logits, offset, vocabSize, history);
        return pick(logits, offset, vocabSize);
    }

    /**
     * The second half of {@link #sample}: picks from logits that {@link #adjustLogits} (and any
     * mask of the caller's, such as a grammar's) already processed. A random pick overwrites the
     * logits with weights; the greedy one leaves them as they are.
     */
    public int pick(float[] logits, int offset, int vocabSize) {
        Objects.checkFromIndexSize(offset, vocabSize, logits.length);
        if (greedy) {
            return argmax(logits, offset, vocabSize);
        }
        int kept = select(logits, offset, vocabSize);
        return kept == DENSE ? drawDense(logits, offset) : draw(kept);
    }

    /**
     * The distribution {@link #sample} draws from, as one probability per token (0 for the
     * filtered out); overwrites the logits the same way. For tests.
     */
    double[] distribution(float[] logits, int offset, int vocabSize, TokenHistory history) {
        adjustLogits(logits, offset, vocabSize, history);
        double[] p = new double[vocabSize];
        if (greedy) {
            p[argmax(logits, offset, vocabSize)] = 1;
            return p;
        }
        int kept = select(logits, offset, vocabSize);
        if (kept == DENSE) {
            for (int i = 0; i <= denseLast; i++) {
                float w = logits[offset + i];
                p[i] = w >= denseBar ? w / denseMass : 0;
            }
        } else {
            double sum = 0;
            for (int j = 0; j < kept; j++) {
                sum += candWeights[j];
            }
            for (int j = 0; j < kept; j++) {
                p[candIds[j]] = candWeights[j] / sum;
            }
        }
        return p;
    }

    /**
     * Applies, in place, the logit bias, the min_tokens mask (-infinity while the output is shorter
     * than min_tokens) and the repetition, frequency and presence penalties: the logits the
     * distribution is then taken from.
     */
    public void adjustLogits(float[] logits, int offset, int vocabSize, TokenHistory history) {
        Objects.requireNonNull(history, "history");
        Objects.checkFromIndexSize(offset, vocabSize, logits.length);
        for (int j = 0; j < biasIds.length; j++) {
            int id = biasIds[j];
            if (id >= vocabSize) {
                throw new IllegalArgumentException("logit_bias token id " + id
                        + " is outside the vocabulary of " + vocabSize);
            }
            logits[offset + id] += biasValues[j];
        }
        if (history.outputLength() < minTokens) {
            for (int id : minTokensMask) {
                if (id < vocabSize) {
                    logits[offset + id] = Float.NEGATIVE_INFINITY;
                }
            }
        }
        if (repetitionPenalty != 1f) {
            TokenCounter seen = history.seen();
            float p = repetitionPenalty;
            for (int i = 0, n = seen.size(); i < n; i++) {
                int id = seen.idAt(i);
                if (id >= 0 && id < vocabSize) {
                    float l = logits[offset + id];
                    logits[offset + id] = l > 0 ? l / p : l * p;
                }
            }
        }
        if (frequencyPenalty != 0f || presencePenalty != 0f) {
            TokenCounter out = history.output();
            for (int i = 0, n = out.size(); i < n; i++) {
                int id = out.idAt(i);
                if (id >= 0 && id < vocabSize) {
                    // Two steps, as vLLM subtracts them, so results match it to the last bit.
                    float l = logits[offset + id] - frequencyPenalty * out.countAt(i);
                    logits[offset + id] = l - presencePenalty;
                }
            }
        }
    }

    /** Index of the largest logit, the lowest one among equals; NaN never wins. */
    static int argmax(float[] logits, int offset, int n) {
        int best = -1;
        float bestValue = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) {
            float l = logits[offset + i];
            if (l > bestValue) {
                bestValue = l;
                best = i;
            }
        }
        if (best < 0) {
            throw noFiniteLogit();
        }
        return best;
    }

    /**
     * Applies temperature, top-k, top-p and min-p: returns how many candidates are kept in
     * candIds/candWeights, or {@link #DENSE} when the weights left in place are the candidates.
     */
    private int select(float[] logits, int offset, int n) {
        if (topK > 0 && topK < n) {
            return selectTopK(logits, offset, n, topK);
        }
        if (topP < 1) {
            return selectTopP(logits, offset, n);
        }
        int top = sanitize(logits, offset, n);
        weigh(logits, offset, n, logits[offset + top]);
        // With min-p off the bar only excludes zero weights.
        float bar = minP > 0 ? minP * logits[offset + top] : Float.MIN_VALUE;
        double mass = 0;
        int last = -1;
        for (int i = 0; i < n; i++) {
            float w = logits[offset + i];
            if (w >= bar) {
                mass += w;
                last = i;
            }
        }
        denseBar = bar;
        denseMass = mass;
        denseLast = last;
        return DENSE;
    }

    /** Top-k by a min-heap of the k best keys, then top-p and min-p on the sorted k. */
    private int selectTopK(float[] logits, int offset, int n, int k) {
        if (keys.length < k) {
            keys = new long[k];
        }
        long[] heap = keys;
        int size = 0;
        for (int i = 0; i < n; i++) {
            long key = PackedKeys.key(logits[offset + i], i);
            if (size < k) {
                PackedKeys.siftUp(heap, size++, key);
            } else if (key > heap[0]) {
                PackedKeys.replaceMin(heap, size, key);
            }
        }
        Arrays.sort(heap, 0, size);
        ensureCandidates(size);
        float max = Math.min(logits[offset + PackedKeys.idOf(heap[size - 1])], Float.MAX_VALUE);
        if (!(max > Float.NEGATIVE_INFINITY)) {
            throw noFiniteLogit();
        }
        double total = 0;
        for (int j = 0; j < size; j++) {
            int id = PackedKeys.idOf(heap[size - 1 - j]);
            float l = Math.min(logits[offset + id], Float.MAX_VALUE);
            // Only k exponentials: scalar is fine. NaN keys sort as -infinity and weigh nothing.
            float w = l > Float.NEGATIVE_INFINITY ? (float) Math.exp((l - (double) max) * invTemperature) : 0f;
            candIds[j] = id;
            candWeights[j] = w;
            total += w;
        }
        int kept = size;
        if (topP < 1) {
            double target = topP * total;
            double cum = 0;
            for (int j = 0; j < size; j++) {
                cum += candWeights[j];
                if (cum >= target) {
                    kept = j + 1;
                    break;
                }
            }
        }
        return cutMinP(kept, candWeights[0]);
    }

    /**
     * Top-p without top-k: keeps the smallest set of most likely tokens whose mass reaches top_p
     * (vLLM: a token stays when the mass strictly above it is below top_p). A histogram of the
     * weights finds the bucket the cut falls in; the buckets above it are kept whole, in id
     * order, and only the cut bucket is sorted.
     */
    private int selectTopP(float[] logits, int offset, int n) {
        int top = sanitize(logits, offset, n);
        weigh(logits, offset, n, logits[offset + top]);
        double[] hist = histogram;
        Arrays.fill(hist, 0);
        double total = 0;
        for (int i = 0; i < n; i++) {
            float w = logits[offset + i];
            hist[bucket(w)] += w;
            total += w;
        }
        double target = topP * total;
        double above = 0;
        int cut = 0;
        for (; cut < BUCKETS - 1; cut++) {
            if (above + hist[cut] >= target) {
                break;
            }
            above += hist[cut];
        }
        // Rounding may leave cut at the zero bucket: then every token with weight is kept.
        int kept = 0;
        int inCut = 0;
        for (int i = 0; i < n; i++) {
            float w = logits[offset + i];
            if (w > 0) {
                int b = bucket(w);
                if (b < cut) {
                    if (kept == candIds.length) {
                        ensureCandidates(kept + 1);
                    }
                    candIds[kept] = i;
                    candWeights[kept++] = w;
                } else if (b == cut) {
                    if (inCut == keys.length) {
                        keys = Arrays.copyOf(keys, inCut * 2);
                    }
                    keys[inCut++] = PackedKeys.key(w, i);
                }
            }
        }
        Arrays.sort(keys, 0, inCut);
        ensureCandidates(kept + inCut);
        double cum = above;
        for (int j = inCut - 1; j >= 0; j--) {
            int id = PackedKeys.idOf(keys[j]);
            float w = logits[offset + id];
            candIds[kept] = id;
            candWeights[kept++] = w;
            cum += w;
            if (cum >= target) {
                break;
            }
        }
        return cutMinP(kept, logits[offset + top]);
    }

    /** Keeps, in order, the candidates at or above min_p times {@code topWeight}. */
    private int cutMinP(int size, float topWeight) {
        if (minP <= 0) {
            return size;
        }
        float bar = minP * topWeight;
        int kept = 0;
        for (int j = 0; j < size; j++) {
            if (candWeights[j] >= bar) {
                candIds[kept] = candIds[j];
                candWeights[kept++] = candWeights[j];
            }
        }
        return kept;
    }

    /** Draws among the first {@code size} candidates in proportion to their weights. */
    private int draw(int size) {
        double sum = 0;
        for (int j = 0; j < size; j++) {
            sum += candWeights[j];
        }
        double u = rng.nextDouble() * sum;
        double cum = 0;
        int last = 0;
        for (int j = 0; j < size; j++) {
            float w = candWeights[j];
            if (w > 0) {
                cum += w;
                last = j;
                if (cum > u) {
                    return candIds[j];
                }
            }
        }
        return candIds[last];
    }

    /** Draws among the weights left in place by {@link #select}, walking ids in order. */
    private int drawDense(float[] logits, int offset) {
        double u = rng.nextDouble() * denseMass;
        double cum = 0;
        for (int i = 0; i < denseLast; i++) {
            float w = logits[offset + i];
            if (w >= denseBar) {
                cum += w;
                if (cum > u) {
                    return i;
                }
            }
        }
        return denseLast;
    }

    /**
     * Returns the index of the largest logit after making every logit usable by the vector code:
     * NaN becomes -infinity and +infinity the largest float (an overflowing model then still
     * yields its top token).
     */
    private static int sanitize(float[] logits, int offset, int n) {
        int best = -1;
        float max = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) {
            float l = logits[offset + i];
            if (l > max) {
                if (l == Float.POSITIVE_INFINITY) {
                    logits[offset + i] = l = Float.MAX_VALUE;
                }
                max = l;
                best = i;
            } else if (l != l) {
                logits[offset + i] = Float.NEGATIVE_INFINITY;
            }
        }
        if (best < 0) {
            throw noFiniteLogit();
        }
        return best;
    }

    /**
     * Replaces each sanitized logit with its weight exp((logit - max) / T) in (0, 1], 0 for
     * -infinity. Vectorized: this is the one pass over the whole vocabulary that costs.
     */
    private void weigh(float[] logits, int offset, int n, float max) {
        float invT = (float) invTemperature;
        FloatVector vmax = FloatVector.broadcast(SPECIES, max);
        int i = 0;
        for (int bound = SPECIES.loopBound(n); i < bound; i += SPECIES.length()) {
            // not lanewise(EXP): its bits differ between interpreted and compiled code, and a seeded
            // request must draw the same tokens as the first request after a start as later
            VectorExp.exp(FloatVector.fromArray(SPECIES, logits, offset + i).sub(vmax).mul(invT)).min(1f)
                    .intoArray(logits, offset + i);
        }
        for (; i < n; i++) {
            logits[offset + i] = Math.min(1f, (float) Math.exp((logits[offset + i] - max) * invT));
        }
    }

    /** Top-p bucket of a weight in [0, 1]: larger weights, lower buckets; 0 alone in the last. */
    private static int bucket(float w) {
        return (ONE_BITS - Float.floatToRawIntBits(w)) >> BUCKET_SHIFT;
    }

    private void ensureCandidates(int size) {
        if (candIds.length < size) {
            int cap = Math.max(size, candIds.length * 2);
            candIds = Arrays.copyOf(candIds, cap);
            candWeights = Arrays.copyOf(candWeights, cap);
        }
    }

    /** What a greedy step raises for a row without a finite logit (also where the backend took the argmax). */
    public static IllegalArgumentException noFiniteLogit() {
        return new IllegalArgumentException("no token has a finite logit (all are -infinity or NaN)");
    }
}
