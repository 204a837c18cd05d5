package dev.gantry.worker.backend.cpu;

import static dev.gantry.worker.backend.cpu.Simd.F;
import static dev.gantry.worker.backend.cpu.Simd.L;

import dev.gantry.worker.backend.ActivationPrecision;
import dev.gantry.worker.backend.Q8Activations;
import dev.gantry.worker.backend.Weight;
import dev.gantry.worker.model.gguf.GgmlType;
import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/**
 * out[r][o] = sum_i x[r][i] * w[o][i] (+ bias[o]), parallel over output rows o.
 *
 * <p>One token row (decode): each output row is one fused dequantize-and-dot over the weight
 * bytes ({@link DotKernels}); the weight is read once, straight from the mapped file.
 *
 * <p>Several token rows: a thread takes a group of G weight rows (G*cols floats, sized to stay
 * in L2), dequantizes them once into its scratch ({@link RowDequant}), then for each tile of 4
 * token rows multiplies them two weight rows at a time by a 2x4 register tile of 8 vector
 * accumulators. So each weight byte is decoded once per batch, each loaded weight vector feeds 4
 * tokens, each loaded activation vector 2 weight rows, and the 4 activation rows of a tile stay
 * in L1 while the group's weight rows stream past them.
 *
 * <p>A few token rows (a small decode batch) of a Q8_0 or Q4_0 weight: a fused kernel converts
 * each weight block once in registers and applies it to up to 4 token rows ({@link
 * BatchDotKernels}), summing each row in exactly the single-row order, so those rows get the
 * same bits as alone. More rows take the decoded path above, which is cheaper per token there.
 *
 * <p>Under {@link ActivationPrecision#Q8}, a product with a Q4_0, Q4_1 or Q8_0 weight first
 * quantizes the activation rows ({@link ActivationQuant}) and runs the same two paths on the
 * result. Q4_1's offsets meet Q8_1's block sums: the single-row kernel takes the sums in place of
 * its block sums of x; the batched one appends them to each activation row, and the offsets to
 * each decoded weight row, so the one dot product includes {@code sum(m * s)}.
 */
final class Matmul {
    /** Bytes of decoded weight rows one thread keeps at a time (fits L2 beside the activations). */
    private static final int GROUP_BYTES = 128 * 1024;
    /** Weight rows the fused batched path keeps hot while it runs every token tile over them. */
    private static final int FUSED_GROUP = 16;
    /**
     * Most token rows that take the fused path. It spends 1.5 multiply-adds per weight vector and
     * token (block sums, then the scale) and converts each block again for every tile of 4 rows,
     * where the decoded path spends 1 multiply-add and dequantizes once per call. Measured on a
     * 2-thread AVX-512 EPYC, synthetic Llama-3.2-1B Q8_0, decode tokens/s fused vs decoded:
     * batch 2 34.5 vs 14.6, batch 4 34.8 vs 29.8, batch 6 35.3 vs 33.2, batch 8 40.8 vs 46.8,
     * batch 16 24.1 vs 62.0. The property exists for tuning on other CPUs.
     */
    static final int FUSED_MAX_ROWS = Integer.getInteger("gantry.matmul.fusedMaxRows", 4);

    private final ThreadPool pool;
    private final Scratch scratch;
    private final ActivationPrecision precision;
    /** Quantized activation rows under Q8, grown on demand (calls do not overlap). */
    private float[] quantized = new float[0];
    private float[] quantizedSums = new float[0];

    /** Decodes the weight row at byte {@code at} into wd[o..]. */
    private interface RowDecoder {
        void decode(long at, float[] wd, int o);
    }

    Matmul(ThreadPool pool, Scratch scratch, ActivationPrecision precision) {
        this.pool = pool;
        this.scratch = scratch;
        this.precision = precision;
    }

    /** x: [rows][w.cols]; out: [rows][w.rows]; bias: [w.rows] or null. */
    void run(Weight w, float[] bias, float[] x, int rows, float[] out) {
        if (rows <= 0) {
            return;
        }
        if (w.cols() % w.type().blockSize != 0) {
            throw new IllegalArgumentException(w.name() + ": " + w.cols() + " columns are not whole blocks of "
                    + w.type());
        }
        if (precision.quantizes(w.type())) {
            quantizedActivations(w, bias, x, rows, out);
        } else if (rows == 1) {
            // [cols / 32] sums of x over each 32 values, for the offsets of Q4_1 and Q4_K blocks
            float[] xsum = null;
            if (DotKernels.needsBlockSums(w.type())) {
                xsum = new float[w.cols() / 32];
                DotKernels.blockSums(x, 0, w.cols(), xsum);
            }
            single(w, bias, x, xsum, out);
        } else if (rows <= FUSED_MAX_ROWS && BatchDotKernels.supports(w.type())) {
            fusedBatch(w, bias, x, rows, out);
        } else {
            batch(w, bias, x, w.cols(), rows, out,
                    (at, wd, o) -> RowDequant.row(w.type(), w.data(), at, w.cols(), wd, o));
        }
    }

    private void quantizedActivations(Weight w, float[] bias, float[] x, int rows, float[] out) {
        int cols = w.cols();
        int blocks = cols / Q8Activations.BLOCK;
        if (rows == 1) {
            float[] xq = quantizedRows(cols);
            if (quantizedSums.length < blocks) {
                quantizedSums = new float[blocks];
            }
            ActivationQuant.row(x, 0, cols, xq, 0, quantizedSums, 0);
            single(w, bias, xq, quantizedSums, out);
            return;
        }
        boolean offsets = w.type() == GgmlType.Q4_1;
        // Q4_1 rows: [cols values][block sums or offsets][zeros up to whole vectors]
        int stride = offsets ? cols + (blocks + L - 1) / L * L : cols;
        float[] xq = quantizedRows(rows * stride);
        pool.parallelFor(rows, Math.max(1, 4096 / cols), (start, end, worker) -> {
            for (int r = start; r < end; r++) {
                int at = r * stride;
                ActivationQuant.row(x, r * cols, cols, xq, at, offsets ? xq : null, at + cols);
                Arrays.fill(xq, at + cols + (offsets ? blocks : 0), at + stride, 0f);
            }
        });
        RowDecoder decoder = offsets
                ? (at, wd, o) -> {
                    RowDequant.q4_1ScaledThenOffsets(w.data(), at, cols, wd, o);
                    Arrays.fill(wd, o + cols + blocks, o + stride, 0f);
                }
                : (at, wd, o) -> RowDequant.row(w.type(), w.data(), at, cols, wd, o);
        batch(w, bias, xq, stride, rows, out, decoder);
    }

    private float[] quantizedRows(int floats) {
        if (quantized.length < floats) {
            quantized = new float[Math.max(floats, quantized.length * 3 / 2)];
        }
        return quantized;
    }

    /** One activation row x: [w.cols]; xsum: its block sums where the weight type needs them. */
    private void single(Weight w, float[] bias, float[] x, float[] sums, float[] out) {
        int cols = w.cols();
        long rowBytes = w.rowBytes();
        pool.parallelFor(w.rows(), 16, (start, end, worker) -> {
            for (int o = start; o < end; o++) {
                float v = DotKernels.dot(w.type(), w.data(), o * rowBytes, x, 0, sums, cols);
                out[o] = bias == null ? v : v + bias[o];
            }
        });
    }

    /**
     * Several token rows of a Q8_0 or Q4_0 weight: fused dequantize-and-dot of each weight row
     * with 4 token rows at a time ({@link BatchDotKernels}), so the weight bytes are converted
     * once per tile in registers and never written out as floats. Each row's sum is computed in
     * the order {@link #single} uses, so batching does not change any row's result. Weight rows go
     * in groups of {@link #FUSED_GROUP} whose bytes stay in L1/L2 while every token tile passes.
     */
    private void fusedBatch(Weight w, float[] bias, float[] x, int rows, float[] out) {
        int cols = w.cols();
        int outRows = w.rows();
        long rowBytes = w.rowBytes();
        GgmlType type = w.type();
        pool.parallelFor(outRows, FUSED_GROUP, (start, end, worker) -> {
            float[] res = new float[BatchDotKernels.TILE];
            for (int g = start; g < end; g += FUSED_GROUP) {
                int gEnd = Math.min(end, g + FUSED_GROUP);
                for (int r = 0; r < rows; r += BatchDotKernels.TILE) {
                    int m = Math.min(BatchDotKernels.TILE, rows - r);
                    // A partial tile repeats its first row; the duplicate sums are not stored. Tiles
                    // of 1 or 2 rows take the 2-row kernel, 3 the 4-row one.
                    int x0 = r * cols;
                    int x1 = m > 1 ? x0 + cols : x0;
                    int x2 = m > 2 ? x0 + 2 * cols : x0;
                    int x3 = m > 3 ? x0 + 3 * cols : x0;
                    for (int o = g; o < gEnd; o++) {
                        if (m <= 2) {
                            BatchDotKernels.dot2(type, w.data(), o * rowBytes, x, x0, x1, cols, res);
                        } else {
                            BatchDotKernels.dot4(type, w.data(), o * rowBytes, x, x0, x1, x2, x3, cols, res);
                        }
                        float b = bias == null ? 0 : bias[o];
                        for (int t = 0; t < m; t++) {
                            out[(r + t) * outRows + o] = bias == null ? res[t] : res[t] + b;
                        }
                    }
                }
            }
        });
    }

    /**
     * x: [rows][cols] where cols may exceed w.cols by columns the decoder fills on the weight
     * side too (a multiple of the lane count beyond w.cols, zeros where unused).
     */
    private void batch(Weight w, float[] bias, float[] x, int cols, int rows, float[] out, RowDecoder decoder) {
        int outRows = w.rows();
        long rowBytes = w.rowBytes();
        // Weight rows per group: even, at most 16, small enough for L2 and to give every thread work.
        int byBytes = Math.max(2, GROUP_BYTES / (4 * cols));
        int byThreads = Math.max(2, outRows / (2 * pool.size()));
        int group = Math.min(16, Math.min(byBytes, byThreads)) & ~1;
        int groups = (outRows + group - 1) / group;
        pool.parallelFor(groups, 1, (start, end, worker) -> {
            // [group][cols] decoded weight rows
            float[] wd = scratch.floats(worker, group * cols);
            for (int g = start; g < end; g++) {
                int o0 = g * group;
                int n = Math.min(group, outRows - o0);
                for (int k = 0; k < n; k++) {
                    decoder.decode((o0 + k) * rowBytes, wd, k * cols);
                }
                int r = 0;
                for (; r + 4 <= rows; r += 4) {
                    for (int k = 0; k < n; k += 2) {
                        // An odd last row pairs with itself; its duplicate result is not stored.
                        int k1 = Math.min(k + 1, n - 1);
                        tile2x4(wd, k * cols, k1 * cols, x, r * cols, cols, out, r, outRows, o0 + k, k1 > k,
                                bias);
                    }
                }
                for (; r < rows; r++) {
                    for (int k = 0; k < n; k += 2) {
                        int k1 = Math.min(k + 1, n - 1);
                        tile2x1(wd, k * cols, k1 * cols, x, r * cols, cols, out, r * outRows + o0 + k, k1 > k,
                                bias, o0 + k);
                    }
                }
            }
        });
    }

    /**
     * Weight rows at w0 and w1 of wd times the 4 token rows at xo of x; stores out[r..r+3][o]
     * and, when {@code both}, out[r..r+3][o+1].
     */
    private static void tile2x4(float[] wd, int w0, int w1, float[] x, int xo, int cols, float[] out, int r,
            int outRows, int o, boolean both, float[] bias) {
        // a<weight row><token>: the 2x4 register tile
        FloatVector zero = FloatVector.zero(F);
        FloatVector a00 = zero, a01 = zero, a02 = zero, a03 = zero;
        FloatVector a10 = zero, a11 = zero, a12 = zero, a13 = zero;
        int x1 = xo + cols;
        int x2 = x1 + cols;
        int x3 = x2 + cols;
        int i = 0;
        for (int bound = F.loopBound(cols); i < bound; i += L) {
            FloatVector v0 = FloatVector.fromArray(F, wd, w0 + i);
            FloatVector v1 = FloatVector.fromArray(F, wd, w1 + i);
            FloatVector t = FloatVector.fromArray(F, x, xo + i);
            a00 = v0.fma(t, a00);
            a10 = v1.fma(t, a10);
            t = FloatVector.fromArray(F, x, x1 + i);
            a01 = v0.fma(t, a01);
            a11 = v1.fma(t, a11);
            t = FloatVector.fromArray(F, x, x2 + i);
            a02 = v0.fma(t, a02);
            a12 = v1.fma(t, a12);
            t = FloatVector.fromArray(F, x, x3 + i);
            a03 = v0.fma(t, a03);
            a13 = v1.fma(t, a13);
        }
        float s00 = a00.reduceLanes(VectorOperators.ADD), s01 = a01.reduceLanes(VectorOperators.ADD);
        float s02 = a02.reduceLanes(VectorOperators.ADD), s03 = a03.reduceLanes(VectorOperators.ADD);
        float s10 = a10.reduceLanes(VectorOperators.ADD), s11 = a11.reduceLanes(VectorOperators.ADD);
        float s12 = a12.reduceLanes(VectorOperators.ADD), s13 = a13.reduceLanes(VectorOperators.ADD);
        // Tail of cols that are not a multiple of the lane count (plain float weights only).
        for (; i < cols; i++) {
            s00 += wd[w0 + i] * x[xo + i];
            s01 += wd[w0 + i] * x[x1 + i];
            s02 += wd[w0 + i] * x[x2 + i];
            s03 += wd[w0 + i] * x[x3 + i];
            s10 += wd[w1 + i] * x[xo + i];
            s11 += wd[w1 + i] * x[x1 + i];
            s12 += wd[w1 + i] * x[x2 + i];
            s13 += wd[w1 + i] * x[x3 + i];
        }
        float b0 = bias == null ? 0 : bias[o];
        int at = r * outRows + o;
        out[at] = s00 + b0;
        out[at + outRows] = s01 + b0;
        out[at + 2 * outRows] = s02 + b0;
        out[at + 3 * outRows] = s03 + b0;
        if (both) {
            float b1 = bias == null ? 0 : bias[o + 1];
            out[at + 1] = s10 + b1;
            out[at + 1 + outRows] = s11 + b1;
            out[at + 1 + 2 * outRows] = s12 + b1;
            out[at + 1 + 3 * outRows] = s13 + b1;
        }
    }

    /** Weight rows at w0 and w1 of wd times the token row at xo; stores out[at] and, when {@code both}, out[at + 1]. */
    private static void tile2x1(float[] wd, int w0, int w1, float[] x, int xo, int cols, float[] out, int at,
            boolean both, float[] bias, int o) {
        FloatVector a0 = FloatVector.zero(F);
        FloatVector a1 = FloatVector.zero(F);
        int i = 0;
        for (int bound = F.loopBound(cols); i < bound; i += L) {
            FloatVector t = FloatVector.fromArray(F, x, xo + i);
            a0 = FloatVector.fromArray(F, wd, w0 + i).fma(t, a0);
            a1 = FloatVector.fromArray(F, wd, w1 + i).fma(t, a1);
        }
        float s0 = a0.reduceLanes(VectorOperators.ADD);
        float s1 = a1.reduceLanes(VectorOperators.ADD);
        for (; i < cols; i++) {
            s0 += wd[w0 + i] * x[xo + i];
            s1 += wd[w1 + i] * x[xo + i];
        }
        out[at] = bias == null ? s0 : s0 + bias[o];
        if (both) {
            out[at + 1] = bias == null ? s1 : s1 + bias[o + 1];
        }
    }
}
