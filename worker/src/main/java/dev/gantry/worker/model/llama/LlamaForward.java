package dev.gantry.worker.model.llama;

import dev.gantry.worker.backend.Backend;
import dev.gantry.worker.backend.Buffer;
import dev.gantry.worker.backend.KvStorage;
import dev.gantry.worker.backend.RopeTable;
import dev.gantry.worker.backend.Weight;

/**
 * The batched forward pass of a Llama-family transformer: one call runs a flat batch of tokens
 * from many sequences (prefill chunks and decode tokens mixed) through every layer, writing each
 * token's K/V into the paged cache and returning logits only for the rows asked for.
 *
 * <p>Not thread-safe: it owns scratch buffers sized for {@code maxTokens} rows; the engine's
 * single step thread drives it.
 */
public final class LlamaForward {
    private final LlamaConfig c;
    private final LlamaWeights w;
    private final Backend backend;
    private final RopeTable rope;
    private final int maxTokens;
    private final int maxLogitRows;
    private final float attnScale;
    /** Tokens of the last batch run, whose last-layer rows {@link #x} still holds. */
    private int lastBatchTokens;

    // Scratch activations, one row per batch token.
    private final Buffer x;      // [maxTokens][dim]     the residual stream
    private final Buffer xb;     // [maxTokens][dim]     normed input of a sub-layer
    private final Buffer xb2;    // [maxTokens][dim]     output of a sub-layer before the residual add
    private final Buffer q;      // [maxTokens][qDim]
    private final Buffer k;      // [maxTokens][kvDim]
    private final Buffer v;      // [maxTokens][kvDim]
    private final Buffer att;    // [maxTokens][qDim]    attention output
    private final Buffer gate;   // [maxTokens][ffn]
    private final Buffer up;     // [maxTokens][ffn]
    private final Buffer last;   // [maxLogitRows][dim]  rows that need logits
    private final Buffer logits; // [maxLogitRows][vocab]
    private final Buffer[] qkv;     // q, k, v: the outputs of one call with a layer's Q, K and V weights
    private final Buffer[] gateUp;  // gate, up
    // Per layer, the weights of those calls, built once: [layer][3] Q, K, V and their biases; [layer][2] gate, up.
    private final Weight[][] qkvWeights;
    private final Weight[][] qkvBiases;
    private final Weight[][] gateUpWeights;
    private static final Weight[] NO_BIASES = new Weight[2];

    /**
     * @param maxTokens    the most tokens in one batch (the engine's token budget per step)
     * @param maxLogitRows the most rows per batch whose logits are wanted (the most sequences per step)
     */
    public LlamaForward(LlamaConfig config, LlamaWeights weights, Backend backend, int maxTokens, int maxLogitRows) {
        this.c = config;
        this.w = weights;
        this.backend = backend;
        this.rope = config.ropeTable();
        this.maxTokens = maxTokens;
        this.maxLogitRows = maxLogitRows;
        this.attnScale = (float) (1.0 / Math.sqrt(config.headDim()));
        x = backend.allocate((long) maxTokens * c.dim());
        xb = backend.allocate((long) maxTokens * c.dim());
        xb2 = backend.allocate((long) maxTokens * c.dim());
        q = backend.allocate((long) maxTokens * c.qDim());
        k = backend.allocate((long) maxTokens * c.kvDim());
        v = backend.allocate((long) maxTokens * c.kvDim());
        att = backend.allocate((long) maxTokens * c.qDim());
        gate = backend.allocate((long) maxTokens * c.ffnDim());
        up = backend.allocate((long) maxTokens * c.ffnDim());
        last = backend.allocate((long) maxLogitRows * c.dim());
        logits = backend.allocate((long) maxLogitRows * c.vocabSize());
        qkv = new Buffer[] {q, k, v};
        gateUp = new Buffer[] {gate, up};
        LlamaWeights.Layer[] ls = weights.layers();
        qkvWeights = new Weight[ls.length][];
        qkvBiases = new Weight[ls.length][];
        gateUpWeights = new Weight[ls.length][];
        for (int l = 0; l < ls.length; l++) {
            qkvWeights[l] = new Weight[] {ls[l].wq(), ls[l].wk(), ls[l].wv()};
            qkvBiases[l] = new Weight[] {ls[l].bq(), ls[l].bk(), ls[l].bv()};
            gateUpWeights[l] = new Weight[] {ls[l].gate(), ls[l].up()};
        }
    }

    /** The most tokens one batch may hold. */
    public int maxTokens() {
        return maxTokens;
    }

    /** The most rows of logits one call returns. */
    public int maxLogitRows() {
        return maxLogitRows;
    }

    public int vocabSize() {
        return c.vocabSize();
    }

    /**
     * The logits of more rows of the batch the last {@code forward*} call ran (e.g. every prompt
     * row, for prompt log-probabilities), from the last layer's output it left behind:
     * {@code [rows.length][vocab]}, at most {@link #maxLogitRows()} rows per call. Must follow
     * that call, before the next one.
     */
    public float[] logitsOfRows(int[] rows) {
        int m = checkRows(rows);
        outputLogits(rows, m);
        float[] out = new float[m * c.vocabSize()];
        backend.download(logits, out.length, out);
        return out;
    }

    /**
     * Runs the batch and returns the logits of its {@code logitRows}: {@code [logitRows.length][vocab]},
     * row-major. The caller must have reserved, in {@code kv}, every block the batch's slots and
     * block tables name.
     */
    public float[] forward(ForwardBatch batch, KvStorage kv) {
        int m = run(batch, kv);
        float[] out = new float[m * c.vocabSize()];
        if (m > 0) {
            backend.download(logits, out.length, out);
        }
        return out;
    }

    /**
     * Runs the batch and returns, for each of its {@code logitRows}, the argmax of its logits
     * (greedy decoding, ties to the lowest id) computed by the backend: on a GPU only these ids
     * cross to the host.
     */
    public int[] forwardArgmax(ForwardBatch batch, KvStorage kv) {
        int m = run(batch, kv);
        int[] ids = new int[m];
        backend.argmax(logits, m, c.vocabSize(), ids);
        return ids;
    }

    /**
     * Runs the batch and returns, for each of its {@code logitRows}, the token the backend samples
     * with that row's {@code params} ({@link Backend#sample}): on a GPU only these ids cross to the host.
     */
    public int[] forwardSample(ForwardBatch batch, KvStorage kv, dev.gantry.worker.backend.SamplingRow[] params) {
        int m = run(batch, kv);
        int[] ids = new int[m];
        backend.sample(logits, m, c.vocabSize(), params, ids);
        return ids;
    }

    /** The forward pass up to the logits of the batch's logit rows, left in {@link #logits}; returns their count. */
    private int run(ForwardBatch batch, KvStorage kv) {
        int n = batch.numTokens();
        if (n == 0 || n > maxTokens) {
            throw new IllegalArgumentException("batch of " + n + " tokens; this forward takes 1.." + maxTokens);
        }
        for (int t : batch.tokens()) {
            if (t < 0 || t >= c.vocabSize()) {
                throw new IllegalArgumentException("token id " + t + " is outside the vocabulary (0.." + (c.vocabSize() - 1) + ")");
            }
        }
        int m = batch.logitRows().length;
        if (m > maxLogitRows) {
            throw new IllegalArgumentException(m + " rows of logits asked; this forward gives at most " + maxLogitRows);
        }
        lastBatchTokens = n;
        boolean decodeStep = n == batch.attention().numSeqs(); // every sequence brings one token
        backend.forwardPass(decodeStep, () -> layers(batch, kv, n, m));
        return m;
    }

    /** Every layer over the batch's n tokens, then the logits of its m logit rows into {@link #logits}. */
    private void layers(ForwardBatch batch, KvStorage kv, int n, int m) {
        backend.embed(w.tokenEmbedding(), batch.tokens(), n, x);
        for (int l = 0; l < c.layers(); l++) {
            LlamaWeights.Layer L = w.layers()[l];

            backend.rmsNorm(x, L.attnNorm(), n, c.dim(), c.rmsEps(), xb);
            backend.matmuls(qkvWeights[l], qkvBiases[l], xb, n, qkv); // q, k, v
            backend.rope(q, n, c.heads(), c.headDim(), batch.positions(), rope);
            backend.rope(k, n, c.kvHeads(), c.headDim(), batch.positions(), rope);
            backend.storeKv(kv, l, k, v, n, batch.slots());
            backend.attention(q, kv, l, batch.attention(), c.heads(), c.kvHeads(), c.headDim(), attnScale, att);
            backend.matmul(L.wo(), null, att, n, xb2);
            backend.add(x, xb2, (long) n * c.dim());

            backend.rmsNorm(x, L.ffnNorm(), n, c.dim(), c.rmsEps(), xb);
            backend.matmuls(gateUpWeights[l], NO_BIASES, xb, n, gateUp); // gate, up
            backend.swiglu(gate, up, n, c.ffnDim(), gate);
            backend.matmul(L.down(), null, gate, n, xb2);
            backend.add(x, xb2, (long) n * c.dim());
        }
        if (m > 0) {
            outputLogits(batch.logitRows(), m);
        }
    }

    /**
     * The last hidden states (after the final norm) of more rows of the batch the last
     * {@code forward*} call ran, for embeddings: {@code [rows.length][dim]}, at most {@link
     * #maxLogitRows()} rows per call. Must follow that call, before the next one.
     */
    public float[] hiddenOfRows(int[] rows) {
        int m = checkRows(rows);
        backend.gatherRows(x, rows, m, c.dim(), last);
        backend.rmsNorm(last, w.outputNorm(), m, c.dim(), c.rmsEps(), last);
        float[] out = new float[m * c.dim()];
        backend.download(last, out.length, out);
        return out;
    }

    public int dim() {
        return c.dim();
    }

    private int checkRows(int[] rows) {
        int m = rows.length;
        if (m == 0 || m > maxLogitRows) {
            throw new IllegalArgumentException(m + " rows asked; this forward gives 1.." + maxLogitRows);
        }
        for (int r : rows) {
            if (r < 0 || r >= lastBatchTokens) {
                throw new IllegalArgumentException("row " + r + " is not in the last batch of " + lastBatchTokens + " tokens");
            }
        }
        return m;
    }

    /** The final norm and output projection of {@code m} rows of {@link #x} into {@link #logits}. */
    private void outputLogits(int[] rows, int m) {
        backend.gatherRows(x, rows, m, c.dim(), last);
        backend.rmsNorm(last, w.outputNorm(), m, c.dim(), c.rmsEps(), last);
        backend.matmul(w.output(), null, last, m, logits);
    }

}
