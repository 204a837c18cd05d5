package dev.gantry.worker.backend.cpu;

import static dev.gantry.worker.backend.cpu.Simd.F;
import static dev.gantry.worker.backend.cpu.Simd.L;

import dev.gantry.worker.backend.ActivationPrecision;
import dev.gantry.worker.backend.AttentionBatch;
import dev.gantry.worker.backend.Buffer;
import dev.gantry.worker.backend.HostBuffer;
import dev.gantry.worker.backend.HostKvStorage;
import dev.gantry.worker.backend.HostMemory;
import dev.gantry.worker.backend.HostMemoryBackend;
import dev.gantry.worker.backend.KvStorage;
import dev.gantry.worker.backend.RopeTable;
import dev.gantry.worker.backend.VectorExp;
import dev.gantry.worker.backend.Weight;
import java.lang.foreign.Arena;
import java.lang.foreign.SegmentAllocator;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;
import jdk.incubator.vector.FloatVector;

/**
 * The fast CPU backend: Vector API kernels (the platform's preferred width, see {@link Simd}) on
 * a persistent pool of platform threads. Gives {@link dev.gantry.worker.backend.ReferenceBackend}'s
 * results up to float rounding: it accumulates in float where the reference uses double.
 *
 * <p>Matmul, where the time goes, fuses dequantization into the dot products and reads weights
 * straight from the mapped file ({@link Matmul}); attention runs per (token, head) over the paged
 * cache ({@link Attention}). Buffers are {@link HostBuffer}s and the cache a {@link
 * HostKvStorage}, as in the reference, so the two backends can share tests and data. Calls must
 * not overlap (the pool runs one loop at a time and serializes callers).
 */
public final class VectorBackend extends HostMemoryBackend {
    /** Floats of elementwise work below which a loop is not worth splitting across threads. */
    private static final int MIN_PARALLEL_FLOATS = 16384;

    private final NativeCpu nativeCpu;
    private final ThreadPool pool;
    private final ActivationPrecision precision;
    private final Matmul matmul;
    private final Attention attention;
    private final Rope rope;
    /** Holds the Q8_0/Q4_0 weights packed for the native kernels ({@link NativeCpu#pack}); closed with the backend. */
    private final Arena packedWeights = Arena.ofShared();
    /** Bytes of native memory the packed weights take. */
    private long packedBytes;

    /** One thread per available processor. */
    public VectorBackend() {
        this(Runtime.getRuntime().availableProcessors());
    }

    /** @param threads threads computing each op, the calling thread included; float activations */
    public VectorBackend(int threads) {
        this(threads, ActivationPrecision.F32);
    }

    /**
     * @param threads   threads computing each op, the calling thread included
     * @param precision what matmul does to the activations of quantized weights
     */
    public VectorBackend(int threads, ActivationPrecision precision) {
        this(threads, precision, NativeCpu.get().orElse(null));
    }

    /** @param nativeCpu the native kernels (products with 8-bit activations, attention), or null for the Vector API's */
    VectorBackend(int threads, ActivationPrecision precision, NativeCpu nativeCpu) {
        this.precision = java.util.Objects.requireNonNull(precision, "precision");
        this.nativeCpu = nativeCpu;
        this.pool = new ThreadPool(threads, "gantry-cpu");
        Scratch scratch = new Scratch(threads);
        this.matmul = new Matmul(pool, scratch, precision, nativeCpu);
        this.attention = new Attention(pool, scratch, nativeCpu);
        this.rope = new Rope(pool);
    }

    /**
     * Packs the weights the native kernels multiply into their layout (in native
     * memory: the products then never read the file's copy). A weight passed again keeps its first
     * copy.
     */
    @Override
    public void prepare(List<Weight> weights) {
        Set<Weight> toPack = Collections.newSetFromMap(new IdentityHashMap<>()); // Matmul's identity, in any order
        weights.stream().filter(matmul::wantsPacking).filter(w -> !matmul.isPacked(w)).forEach(toPack::add);
        // One buffer for this call's weights, on huge pages where the system has them (decode
        // streams all of it every token: HostMemory says why), cut into 64-byte aligned pieces.
        long total = toPack.stream().mapToLong(matmul::packedBytes).map(b -> HostMemory.roundUp(b, 64)).sum();
        if (total > 0) {
            SegmentAllocator pieces = SegmentAllocator.slicingAllocator(HostMemory.allocate(total, false, packedWeights));
            toPack.forEach(w -> packedBytes += matmul.pack(w, pieces));
        }
        // A new token's embedding row is most often a page the process has not touched yet: a page
        // fault in the middle of a step (a read from the disk where the page cache lost the page,
        // e.g. after the packed weights' file pages were handed back). Mapped in now, as llama.cpp
        // maps the whole file at load.
        weights.stream().filter(w -> w.readByToken() && w.data().isMapped()).forEach(w -> w.data().load());
    }

    @Override
    public String name() {
        return "cpu";
    }

    @Override
    public ActivationPrecision activationPrecision() {
        return precision;
    }

    /** What computes here, for the startup log: threads, activations, the native kernels' variant, the pages of the large buffers. */
    public String describe() {
        String kernels = precision == ActivationPrecision.F32 ? "Vector API"
                : nativeCpu != null ? "native int8 kernels (" + nativeCpu.variantName() + ") for 8-bit activation products"
                : "Vector API (native int8 kernels " + (NativeCpu.library().isPresent() ? "off: GANTRY_NATIVE=off" : "not built for this machine") + ")";
        return "cpu backend: " + pool.size() + " threads, activations " + precision.name().toLowerCase(java.util.Locale.ROOT)
                + ", " + kernels + "; packed weights and KV cache on " + HostMemory.describe();
    }

    /** Threads computing each op, the caller included. */
    public int threads() {
        return pool.size();
    }

    /** Float lanes of the vectors the kernels use (4, 8 or 16). */
    public static int vectorLanes() {
        return L;
    }

    @Override
    public void embed(Weight table, int[] tokens, int n, Buffer out) {
        // out: [n][cols]
        float[] o = HostBuffer.of(out);
        int cols = table.cols();
        long rowBytes = table.rowBytes();
        pool.parallelFor(n, grain(cols), (start, end, worker) -> {
            for (int i = start; i < end; i++) {
                if (tokens[i] < 0 || tokens[i] >= table.rows()) {
                    throw new IndexOutOfBoundsException("token " + tokens[i] + " outside " + table.name());
                }
                RowDequant.row(table.type(), table.data(), tokens[i] * rowBytes, cols, o, i * cols);
            }
        });
    }

    @Override
    public void rmsNorm(Buffer x, Weight weight, int rows, int dim, float eps, Buffer out) {
        // xs, os: [rows][dim]; w: [dim]
        float[] xs = HostBuffer.of(x);
        float[] os = HostBuffer.of(out);
        float[] w = RowDequant.vector(weight);
        pool.parallelFor(rows, grain(dim), (start, end, worker) -> {
            for (int r = start; r < end; r++) {
                normRow(xs, os, r * dim, dim, eps, w);
            }
        });
    }

    private static void normRow(float[] xs, float[] os, int at, int dim, float eps, float[] w) {
        FloatVector ss = FloatVector.zero(F);
        int i = 0;
        for (int bound = F.loopBound(dim); i < bound; i += L) {
            FloatVector v = FloatVector.fromArray(F, xs, at + i);
            ss = v.fma(v, ss);
        }
        float sum = Simd.sum(ss);
        for (; i < dim; i++) {
            sum += xs[at + i] * xs[at + i];
        }
        float scale = (float) (1.0 / Math.sqrt((double) sum / dim + eps));
        i = 0;
        for (int bound = F.loopBound(dim); i < bound; i += L) {
            FloatVector.fromArray(F, xs, at + i).mul(scale).mul(FloatVector.fromArray(F, w, i)).intoArray(os, at + i);
        }
        for (; i < dim; i++) {
            os[at + i] = xs[at + i] * scale * w[i];
        }
    }

    @Override
    public void matmul(Weight w, Weight bias, Buffer x, int rows, Buffer out) {
        // x: [rows][w.cols]; out: [rows][w.rows]; bias: [w.rows]
        matmul.run(w, bias == null ? null : RowDequant.vector(bias), HostBuffer.of(x), rows, HostBuffer.of(out));
    }

    @Override
    public void matmuls(Weight[] ws, Weight[] biases, Buffer x, int rows, Buffer[] outs) {
        float[][] b = new float[ws.length][];
        float[][] o = new float[ws.length][];
        for (int i = 0; i < ws.length; i++) {
            b[i] = biases[i] == null ? null : RowDequant.vector(biases[i]);
            o[i] = HostBuffer.of(outs[i]);
        }
        matmul.runShared(ws, b, HostBuffer.of(x), rows, o);
    }

    @Override
    public void rope(Buffer x, int rows, int heads, int headDim, int[] positions, RopeTable table) {
        rope.run(HostBuffer.of(x), rows, heads, headDim, positions, table);
    }

    /** Native memory this backend holds outside the Java heap and the mapped model file: the packed weights. */
    @Override
    public long hostNativeBytes() {
        return packedBytes;
    }

    @Override
    public void attention(Buffer q, KvStorage kv, int layer, AttentionBatch batch, int heads, int kvHeads,
            int headDim, float scale, Buffer out) {
        attention.run(HostBuffer.of(q), (HostKvStorage) kv, layer, batch, heads, kvHeads, headDim, scale,
                HostBuffer.of(out));
    }

    @Override
    public void swiglu(Buffer gate, Buffer up, int rows, int dim, Buffer out) {
        // gate, up, out: [rows][dim], handled as one flat run of rows * dim
        float[] g = HostBuffer.of(gate);
        float[] u = HostBuffer.of(up);
        float[] o = HostBuffer.of(out);
        pool.parallelFor(rows, grain(dim), (start, end, worker) -> {
            int i = start * dim;
            int stop = end * dim;
            for (int bound = i + F.loopBound(stop - i); i < bound; i += L) {
                FloatVector x = FloatVector.fromArray(F, g, i);
                // silu(x) = x / (1 + e^-x); for x below -88, e^-x stays at e^88 and the result is a tiny
                // negative number (-0 in the limit)
                FloatVector e = VectorExp.exp(x.neg()).add(1f);
                x.div(e).mul(FloatVector.fromArray(F, u, i)).intoArray(o, i);
            }
            for (; i < stop; i++) {
                o[i] = (float) (g[i] / (1 + Math.exp(-g[i]))) * u[i];
            }
        });
    }

    @Override
    public void add(Buffer x, Buffer y, long n) {
        // x, y: [n]; a prompt's residual (rows * dim floats) in pieces of MIN_PARALLEL_FLOATS, a multiple of every L
        float[] xs = HostBuffer.of(x);
        float[] ys = HostBuffer.of(y);
        int count = Math.toIntExact(n);
        pool.parallelFor((count + MIN_PARALLEL_FLOATS - 1) / MIN_PARALLEL_FLOATS, 1, (start, end, worker) -> {
            int i = start * MIN_PARALLEL_FLOATS;
            int stop = Math.min(count, end * MIN_PARALLEL_FLOATS);
            for (int bound = i + F.loopBound(stop - i); i < bound; i += L) {
                FloatVector.fromArray(F, xs, i).add(FloatVector.fromArray(F, ys, i)).intoArray(xs, i);
            }
            for (; i < stop; i++) {
                xs[i] += ys[i];
            }
        });
    }

    /** Rows per chunk so that a chunk is worth handing to another thread. */
    private static int grain(int floatsPerRow) {
        return Math.max(1, MIN_PARALLEL_FLOATS / Math.max(1, floatsPerRow));
    }

    @Override
    public void close() {
        pool.close();
        packedWeights.close();
    }
}
