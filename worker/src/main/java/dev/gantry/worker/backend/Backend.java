package dev.gantry.worker.backend;

import java.util.List;

/**
 * The kernels a transformer forward pass needs, on one device. Every implementation must give
 * the results of {@link ReferenceBackend} (plain scalar Java, the truth) up to float rounding;
 * tests compare each one against it on fresh random inputs.
 *
 * <p>Shapes: activations are row-major {@code [rows][dim]} float buffers, one row per token of
 * the flat batch. A call may pass the same buffer as input and output only where it says so.
 * Implementations may run a call on many threads but return only when the result is complete.
 */
public interface Backend extends AutoCloseable {

    String name();

    /** What matmul does to the activations of quantized weights; see {@link ActivationPrecision}. */
    default ActivationPrecision activationPrecision() {
        return ActivationPrecision.F32;
    }

    /**
     * The relative rounding matmul applies to both of its operands before multiplying them, in a
     * product of {@code rows} activation rows: 0 where they are multiplied as given (the CPU
     * backends), 2^-11 where both are rounded to binary16 first (the CUDA backend's tensor-core
     * path). Tests widen their tolerance by it; nothing else should depend on it.
     */
    default double matmulOperandRounding(int rows) {
        return 0;
    }

    /** Called once with all weights of a model before any compute (a device backend uploads them). */
    default void prepare(List<Weight> weights) {}

    /**
     * Device memory still free (after {@link #prepare}), for a backend that computes outside the
     * Java heap; empty for the CPU backends, whose KV cache lives on the heap.
     */
    default java.util.OptionalLong deviceMemoryFree() {
        return java.util.OptionalLong.empty();
    }

    /**
     * Runs {@code body}: the calls of one forward pass. Where {@code replayable} (a decode step: one
     * new token per sequence, a shape that repeats step after step), a backend may record the
     * pass's launches and replay a pass it has seen before as one launch (the CUDA backend's
     * graphs); the results are those of making the calls one by one.
     */
    default void forwardPass(boolean replayable, Runnable body) {
        body.run();
    }

    /** A zeroed buffer of {@code floats} floats. */
    Buffer allocate(long floats);

    /** Copies {@code n} floats from the host into the buffer at its start. */
    void upload(float[] src, int n, Buffer dst);

    /** Copies the first {@code n} floats of the buffer to the host. */
    void download(Buffer src, int n, float[] dst);

    /**
     * KV-cache memory for {@code layers} layers of {@code numBlocks} blocks (see {@link KvStorage}),
     * zeroed, storing values as {@code dtype} (one of {@link #kvCacheDtypes}).
     */
    KvStorage allocateKv(int layers, int numBlocks, int blockSize, int kvDim, KvCacheDtype dtype);

    /** {@link #allocateKv(int, int, int, int, KvCacheDtype)} storing floats as they are. */
    default KvStorage allocateKv(int layers, int numBlocks, int blockSize, int kvDim) {
        return allocateKv(layers, numBlocks, blockSize, kvDim, KvCacheDtype.F32);
    }

    /**
     * Bytes of native host memory (outside the Java heap and the mapped model file) this backend
     * holds once {@link #prepare}d, such as a packed copy of the weights.
     */
    default long hostNativeBytes() {
        return 0;
    }

    /** The KV-cache dtypes this backend stores and attends over. */
    default java.util.Set<KvCacheDtype> kvCacheDtypes() {
        return java.util.EnumSet.of(KvCacheDtype.F32);
    }

    /** out[i][:] = row {@code tokens[i]} of {@code table}, dequantized to float, for i < n. out: [n][table.cols]. */
    void embed(Weight table, int[] tokens, int n, Buffer out);

    /**
     * RMS norm: out[r][i] = x[r][i] / sqrt(mean_j(x[r][j]^2) + eps) * weight[i]. x, out: [rows][dim];
     * weight: one row of dim (any supported type). out may be x.
     */
    void rmsNorm(Buffer x, Weight weight, int rows, int dim, float eps, Buffer out);

    /**
     * out[r][o] = sum_i x[r][i] * w[o][i] (+ bias[o] when bias != null) for r < rows, o < w.rows.
     * x: [rows][w.cols]; out: [rows][w.rows]; bias: one row of w.rows values or null. out != x.
     */
    void matmul(Weight w, Weight bias, Buffer x, int rows, Buffer out);

    /**
     * The products of one input with several weights of its width (a layer's Q, K and V; gate and
     * up): outs[i] as {@link #matmul}{@code (ws[i], biases[i], x, rows, outs[i])}, with the same
     * results. A backend may prepare x once for all of them and run them as one parallel job.
     * biases: one per weight, each null or a row as matmul's.
     */
    default void matmuls(Weight[] ws, Weight[] biases, Buffer x, int rows, Buffer[] outs) {
        for (int i = 0; i < ws.length; i++) {
            matmul(ws[i], biases[i], x, rows, outs[i]);
        }
    }

    /**
     * Rotates, in place, each of the {@code heads} heads of each row: x: [rows][heads * headDim], row
     * r at position {@code positions[r]} (see {@link RopeTable}).
     */
    void rope(Buffer x, int rows, int heads, int headDim, int[] positions, RopeTable rope);

    /**
     * Writes K and V of {@code rows} tokens into the cache of {@code layer}: row r goes to slot
     * {@code slots[r]} (block * blockSize + offset). k, v: [rows][kv.kvDim()].
     */
    void storeKv(KvStorage kv, int layer, Buffer k, Buffer v, int rows, int[] slots);

    /**
     * Causal grouped-query attention of every batch row against the cache of {@code layer} (its own
     * K/V must already be stored). q, out: [numTokens][heads * headDim]; query head h reads KV head
     * {@code h / (heads / kvHeads)}; scores are scaled by {@code scale}, softmaxed over positions
     * 0..p of the row's sequence, and weight V. out != q.
     */
    void attention(Buffer q, KvStorage kv, int layer, AttentionBatch batch, int heads, int kvHeads, int headDim,
            float scale, Buffer out);

    /** out[r][i] = silu(gate[r][i]) * up[r][i], silu(x) = x / (1 + e^-x). gate, up, out: [rows][dim]; out may be gate. */
    void swiglu(Buffer gate, Buffer up, int rows, int dim, Buffer out);

    /** x[i] += y[i] for i < n. */
    void add(Buffer x, Buffer y, long n);

    /** out[i][:] = x[rows[i]][:] for i < n. x: [*][dim]; out: [n][dim]; out != x. */
    void gatherRows(Buffer x, int[] rows, int n, int dim, Buffer out);

    /**
     * Greedy decoding: out[r] = the index of the first of the largest values above -infinity in
     * {@code logits[r][0..vocab)} for r < rows (NaN is above nothing), or -1 when there is none:
     * the sampler's argmax. A device backend computes it there, so that only the ids cross to the host.
     */
    default void argmax(Buffer logits, int rows, int vocab, int[] out) {
        float[] all = new float[rows * vocab];
        download(logits, all.length, all);
        for (int r = 0; r < rows; r++) {
            int best = -1;
            float bestValue = Float.NEGATIVE_INFINITY;
            for (int i = 0; i < vocab; i++) {
                float v = all[r * vocab + i];
                if (v > bestValue) {
                    bestValue = v;
                    best = i;
                }
            }
            out[r] = best;
        }
    }

    /** Whether {@link #sample} runs where the logits are (a GPU), so that the engine should use it. */
    default boolean samplesOnDevice() {
        return false;
    }

    /**
     * Picks each row's token from {@code logits[r][0..vocab)} (which it may overwrite): greedy rows
     * as {@link #argmax}; the others with weights {@code exp((l - max) * invTemperature)}, then
     * top-k keeping every weight >= the k-th largest, then top-p keeping every weight >= the
     * largest threshold whose kept mass is still >= topP of the total, then min-p keeping weights
     * >= minP (the top weight being 1), then the first id, in id order, at which the cumulative kept
     * weight exceeds {@code uniform} times the kept mass. -1 for a row without a finite logit.
     * This default is the plain host version; {@code sample.cu} is the device's.
     */
    default void sample(Buffer logits, int rows, int vocab, SamplingRow[] params, int[] out) {
        float[] all = new float[rows * vocab];
        download(logits, all.length, all);
        for (int r = 0; r < rows; r++) {
            out[r] = HostSampling.pick(all, r * vocab, vocab, params[r]);
        }
    }

    @Override
    default void close() {}
}
