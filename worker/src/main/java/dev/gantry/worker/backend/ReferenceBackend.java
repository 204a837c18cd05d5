package dev.gantry.worker.backend;

import dev.gantry.worker.quant.Dequant;

/**
 * Plain scalar Java, one thread, double accumulators: the truth every other backend is tested
 * against. Slow by design; never tuned. Under {@link ActivationPrecision#Q8} its matmul is {@link
 * Q8Activations}' literal integer arithmetic.
 */
public final class ReferenceBackend extends HostMemoryBackend {
    private final ActivationPrecision precision;

    /** Float activations ({@link ActivationPrecision#F32}). */
    public ReferenceBackend() {
        this(ActivationPrecision.F32);
    }

    /** @param precision what matmul does to the activations of quantized weights */
    public ReferenceBackend(ActivationPrecision precision) {
        this.precision = java.util.Objects.requireNonNull(precision, "precision");
    }

    @Override
    public ActivationPrecision activationPrecision() {
        return precision;
    }

    @Override
    public String name() {
        return "reference";
    }

    @Override
    public void embed(Weight table, int[] tokens, int n, Buffer out) {
        float[] o = HostBuffer.of(out);
        for (int i = 0; i < n; i++) {
            Dequant.row(table.type(), table.data(), tokens[i], table.cols(), o, i * table.cols());
        }
    }

    @Override
    public void rmsNorm(Buffer x, Weight weight, int rows, int dim, float eps, Buffer out) {
        float[] xs = HostBuffer.of(x);
        float[] os = HostBuffer.of(out);
        float[] w = vector(weight);
        for (int r = 0; r < rows; r++) {
            double ss = 0;
            for (int i = 0; i < dim; i++) {
                ss += (double) xs[r * dim + i] * xs[r * dim + i];
            }
            double scale = 1.0 / Math.sqrt(ss / dim + eps);
            for (int i = 0; i < dim; i++) {
                os[r * dim + i] = (float) (xs[r * dim + i] * scale * w[i]);
            }
        }
    }

    @Override
    public void matmul(Weight w, Weight bias, Buffer x, int rows, Buffer out) {
        float[] xs = HostBuffer.of(x);
        float[] os = HostBuffer.of(out);
        float[] b = bias == null ? null : vector(bias);
        if (precision.quantizes(w.type())) {
            boolean k = Q8KActivations.supports(w.type());
            Q8Activations xq = k ? null : Q8Activations.quantize(xs, rows, w.cols());
            Q8KActivations xk = k ? Q8KActivations.quantize(xs, rows, w.cols()) : null;
            for (int o = 0; o < w.rows(); o++) {
                for (int r = 0; r < rows; r++) {
                    double acc = k ? xk.dot(w, o, r) : xq.dot(w, o, r);
                    os[r * w.rows() + o] = (float) (b == null ? acc : acc + b[o]);
                }
            }
            return;
        }
        float[] row = new float[w.cols()];
        for (int o = 0; o < w.rows(); o++) {
            Dequant.row(w.type(), w.data(), o, w.cols(), row, 0);
            for (int r = 0; r < rows; r++) {
                double acc = 0;
                for (int i = 0; i < w.cols(); i++) {
                    acc += (double) row[i] * xs[r * w.cols() + i];
                }
                os[r * w.rows() + o] = (float) (b == null ? acc : acc + b[o]);
            }
        }
    }

    @Override
    public void rope(Buffer x, int rows, int heads, int headDim, int[] positions, RopeTable rope) {
        float[] xs = HostBuffer.of(x);
        int half = rope.rotaryDim() / 2;
        for (int r = 0; r < rows; r++) {
            for (int h = 0; h < heads; h++) {
                int base = (r * heads + h) * headDim;
                for (int i = 0; i < half; i++) {
                    double angle = (double) positions[r] * rope.invFreq()[i];
                    double cos = Math.cos(angle);
                    double sin = Math.sin(angle);
                    int a = rope.neox() ? base + i : base + 2 * i;
                    int b = rope.neox() ? base + i + half : base + 2 * i + 1;
                    double x0 = xs[a];
                    double x1 = xs[b];
                    xs[a] = (float) (x0 * cos - x1 * sin);
                    xs[b] = (float) (x0 * sin + x1 * cos);
                }
            }
        }
    }

    @Override
    public void attention(Buffer q, KvStorage kv, int layer, AttentionBatch batch, int heads, int kvHeads,
            int headDim, float scale, Buffer out) {
        HostKvStorage s = (HostKvStorage) kv;
        float[] qs = HostBuffer.of(q);
        float[] os = HostBuffer.of(out);
        int kvDim = kv.kvDim();
        int group = heads / kvHeads;
        int bs = kv.blockSize();
        for (int seq = 0; seq < batch.numSeqs(); seq++) {
            int[] table = batch.blockTables()[seq];
            int qLen = batch.queryLen(seq);
            int context = batch.contextLen()[seq];
            // [context][kvDim] each: the sequence's cached K and V, decoded from the cache's dtype
            float[] keys = new float[context * kvDim];
            float[] values = new float[context * kvDim];
            for (int t = 0; t < context; t++) {
                long at = (long) (table[t / bs] * bs + t % bs) * s.rowBytes();
                s.dtype().decode(s.keys(layer), at, 0, kvDim, keys, t * kvDim);
                s.dtype().decode(s.values(layer), at, 0, kvDim, values, t * kvDim);
            }
            for (int j = 0; j < qLen; j++) {
                int row = batch.queryStart()[seq] + j;
                int pos = context - qLen + j;
                for (int h = 0; h < heads; h++) {
                    int qOff = (row * heads + h) * headDim;
                    int kvOff = (h / group) * headDim;
                    double[] scores = new double[pos + 1];
                    double max = Double.NEGATIVE_INFINITY;
                    for (int t = 0; t <= pos; t++) {
                        double dot = 0;
                        for (int i = 0; i < headDim; i++) {
                            dot += (double) qs[qOff + i] * keys[t * kvDim + kvOff + i];
                        }
                        scores[t] = dot * scale;
                        max = Math.max(max, scores[t]);
                    }
                    double sum = 0;
                    for (int t = 0; t <= pos; t++) {
                        scores[t] = Math.exp(scores[t] - max);
                        sum += scores[t];
                    }
                    for (int i = 0; i < headDim; i++) {
                        double acc = 0;
                        for (int t = 0; t <= pos; t++) {
                            acc += scores[t] * values[t * kvDim + kvOff + i];
                        }
                        os[qOff + i] = (float) (acc / sum);
                    }
                }
            }
        }
    }

    @Override
    public void swiglu(Buffer gate, Buffer up, int rows, int dim, Buffer out) {
        float[] g = HostBuffer.of(gate);
        float[] u = HostBuffer.of(up);
        float[] o = HostBuffer.of(out);
        for (int i = 0; i < rows * dim; i++) {
            double x = g[i];
            o[i] = (float) (x / (1 + Math.exp(-x)) * u[i]);
        }
    }

    @Override
    public void add(Buffer x, Buffer y, long n) {
        float[] xs = HostBuffer.of(x);
        float[] ys = HostBuffer.of(y);
        for (int i = 0; i < n; i++) {
            xs[i] += ys[i];
        }
    }

    private static float[] vector(Weight w) {
        float[] v = new float[w.cols() * w.rows()];
        Dequant.values(w.type(), w.data(), 0, v.length, v, 0);
        return v;
    }
}
