package dev.gantry.worker.perf;

import dev.gantry.worker.backend.ActivationPrecision;
import dev.gantry.worker.backend.AttentionBatch;
import dev.gantry.worker.backend.Backend;
import dev.gantry.worker.backend.Buffer;
import dev.gantry.worker.backend.KvStorage;
import dev.gantry.worker.backend.RopeTable;
import dev.gantry.worker.backend.Weight;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * A backend that times every call of the one it wraps, by op, and matrix products by which
 * weight they multiply ({@code matmul ffn_down}, {@code matmul output}; products of one input in one
 * call together: {@code matmul attn_q+attn_k+attn_v}, {@code matmul ffn_gate+ffn_up}),
 * to show where a forward pass spends its time. Backend calls return only when their result is
 * complete, so wall time per call is the op's time; the clock reads cost tens of nanoseconds
 * against ops of tens of microseconds and more.
 */
public final class ProfilingBackend implements Backend {
    private final Backend inner;
    private final Map<String, long[]> nanosAndCalls = new TreeMap<>();

    public ProfilingBackend(Backend inner) {
        this.inner = inner;
    }

    /** Clears what was recorded. */
    public void reset() {
        nanosAndCalls.clear();
    }

    /** Milliseconds per op since the last reset, largest first. */
    public Map<String, Double> millis() {
        Map<String, Double> out = new LinkedHashMap<>();
        nanosAndCalls.entrySet().stream()
                .sorted((a, b) -> Long.compare(b.getValue()[0], a.getValue()[0]))
                .forEach(e -> out.put(e.getKey(), e.getValue()[0] / 1e6));
        return out;
    }

    private void record(String op, long start) {
        long[] t = nanosAndCalls.computeIfAbsent(op, k -> new long[2]);
        t[0] += System.nanoTime() - start;
        t[1]++;
    }

    /** "blk.7.ffn_up.weight" -> "ffn_up"; "output.weight" -> "output". */
    static String weightKind(String name) {
        String n = name.startsWith("blk.") ? name.substring(name.indexOf('.', 4) + 1) : name;
        return n.endsWith(".weight") ? n.substring(0, n.length() - ".weight".length()) : n;
    }

    @Override
    public String name() {
        return inner.name();
    }

    @Override
    public ActivationPrecision activationPrecision() {
        return inner.activationPrecision();
    }

    @Override
    public void prepare(List<Weight> weights) {
        inner.prepare(weights);
    }

    @Override
    public Buffer allocate(long floats) {
        return inner.allocate(floats);
    }

    @Override
    public void upload(float[] src, int n, Buffer dst) {
        long t = System.nanoTime();
        inner.upload(src, n, dst);
        record("upload", t);
    }

    @Override
    public void download(Buffer src, int n, float[] dst) {
        long t = System.nanoTime();
        inner.download(src, n, dst);
        record("download", t);
    }

    @Override
    public KvStorage allocateKv(int layers, int numBlocks, int blockSize, int kvDim,
            dev.gantry.worker.backend.KvCacheDtype dtype) {
        return inner.allocateKv(layers, numBlocks, blockSize, kvDim, dtype);
    }

    @Override
    public java.util.Set<dev.gantry.worker.backend.KvCacheDtype> kvCacheDtypes() {
        return inner.kvCacheDtypes();
    }

    @Override
    public void embed(Weight table, int[] tokens, int n, Buffer out) {
        long t = System.nanoTime();
        inner.embed(table, tokens, n, out);
        record("embed", t);
    }

    @Override
    public void rmsNorm(Buffer x, Weight weight, int rows, int dim, float eps, Buffer out) {
        long t = System.nanoTime();
        inner.rmsNorm(x, weight, rows, dim, eps, out);
        record("rms_norm", t);
    }

    @Override
    public void matmul(Weight w, Weight bias, Buffer x, int rows, Buffer out) {
        long t = System.nanoTime();
        inner.matmul(w, bias, x, rows, out);
        record("matmul " + weightKind(w.name()), t);
    }

    @Override
    public void matmuls(Weight[] ws, Weight[] biases, Buffer x, int rows, Buffer[] outs) {
        long t = System.nanoTime();
        inner.matmuls(ws, biases, x, rows, outs);
        StringBuilder op = new StringBuilder("matmul ");
        for (int i = 0; i < ws.length; i++) {
            op.append(i == 0 ? "" : "+").append(weightKind(ws[i].name()));
        }
        record(op.toString(), t);
    }

    @Override
    public void rope(Buffer x, int rows, int heads, int headDim, int[] positions, RopeTable rope) {
        long t = System.nanoTime();
        inner.rope(x, rows, heads, headDim, positions, rope);
        record("rope", t);
    }

    @Override
    public void storeKv(KvStorage kv, int layer, Buffer k, Buffer v, int rows, int[] slots) {
        long t = System.nanoTime();
        inner.storeKv(kv, layer, k, v, rows, slots);
        record("store_kv", t);
    }

    @Override
    public void attention(Buffer q, KvStorage kv, int layer, AttentionBatch batch, int heads, int kvHeads, int headDim,
            float scale, Buffer out) {
        long t = System.nanoTime();
        inner.attention(q, kv, layer, batch, heads, kvHeads, headDim, scale, out);
        record("attention", t);
    }

    @Override
    public void swiglu(Buffer gate, Buffer up, int rows, int dim, Buffer out) {
        long t = System.nanoTime();
        inner.swiglu(gate, up, rows, dim, out);
        record("swiglu", t);
    }

    @Override
    public void add(Buffer x, Buffer y, long n) {
        long t = System.nanoTime();
        inner.add(x, y, n);
        record("add", t);
    }

    @Override
    public void gatherRows(Buffer x, int[] rows, int n, int dim, Buffer out) {
        long t = System.nanoTime();
        inner.gatherRows(x, rows, n, dim, out);
        record("gather_rows", t);
    }

    @Override
    public void close() {
        inner.close();
    }
}
