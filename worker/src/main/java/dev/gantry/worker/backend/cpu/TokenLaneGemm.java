package dev.gantry.worker.backend.cpu;

import static dev.gantry.worker.backend.cpu.Simd.F;
import static dev.gantry.worker.backend.cpu.Simd.L;

import jdk.incubator.vector.FloatVector;

/**
 * The multiply-adds of a many-token matrix product over decoded weight rows, with the tokens
 * along the vector lanes: acc[o][t] += w[o][k] * x[t][k], one broadcast weight value times a
 * vector of L tokens' activations at column k.
 *
 * <p>Why this shape: a product of two row-major matrices along their rows (a dot product per
 * output) needs two vector loads per multiply-add pair and a lane reduction per output, and on a
 * 2-core AVX-512 EPYC reached 110-130 GFLOP/s of the 268 one core can do. With the activations
 * transposed once per call into blocks of L tokens ({@link #transposeBlock}), a micro-tile of 6
 * weight rows by 2 token blocks keeps 12 accumulators in registers and spends 2 vector loads and
 * 6 scalar broadcasts per 12 multiply-adds, with no reductions at all: 210-220 GFLOP/s measured
 * on the same core. The weights need no repacking: each weight row is read as a stream of
 * scalars.
 *
 * <p>Each lane sums its products in column order with one fused multiply-add per column, so a
 * token's result does not depend on which other tokens share the call, or where it sits.
 *
 * <p>Columns are taken in chunks of {@link #COLUMN_CHUNK} so that the activation blocks of a
 * chunk stay in L2 while every weight row of a group passes over them; the accumulators of a
 * group live in a small array between chunks.
 */
final class TokenLaneGemm {
    /** Weight rows a group must be a multiple of: the micro-tiles take 6 or 12. */
    static final int ROW_MULTIPLE = 12;
    /** Columns of one pass over the activations (a multiple of every block size). */
    static final int COLUMN_CHUNK = 1024;

    private TokenLaneGemm() {}

    /** Token blocks of L lanes that hold {@code rows} tokens. */
    static int blocks(int rows) {
        return (rows + L - 1) / L;
    }

    /** Floats from one token block to the next in xt. */
    static int blockStride(int cols) {
        return cols * L;
    }

    /**
     * xt[b][k][lane] = x[b * L + lane][k] for the tokens of block b, zero in the lanes past the
     * last token. x: [rows][cols]; xt: [blocks(rows)][cols][L].
     */
    static void transposeBlock(float[] x, int rows, int cols, int block, float[] xt) {
        int base = block * blockStride(cols);
        int t0 = block * L;
        int n = Math.min(L, rows - t0);
        for (int lane = 0; lane < L; lane++) {
            if (lane < n) {
                int from = (t0 + lane) * cols;
                for (int k = 0; k < cols; k++) {
                    xt[base + k * L + lane] = x[from + k];
                }
            } else {
                for (int k = 0; k < cols; k++) {
                    xt[base + k * L + lane] = 0f;
                }
            }
        }
    }

    /**
     * Adds columns [lo, hi) of the weight rows 0..n-1 of wd ([n][cols] decoded) times every
     * token block into acc: [rows of the group][blocks][L] from accOffset, zeroed by the caller
     * before the first chunk. Tiles past row n-1 repeat it, and their sums land in acc rows past
     * n-1, so acc must hold n rounded up to {@link #ROW_MULTIPLE}.
     */
    static void multiply(float[] wd, int n, int cols, float[] xt, int blocks, int lo, int hi, float[] acc,
            int accOffset) {
        int last = n - 1;
        int rowStride = blocks * L;
        int b = 0;
        for (; b + 2 <= blocks; b += 2) {
            int x0 = b * blockStride(cols);
            for (int k = 0; k < n; k += 6) {
                tile6x2(wd, k, last, cols, xt, x0, x0 + blockStride(cols), lo, hi, acc,
                        accOffset + k * rowStride + b * L, rowStride);
            }
        }
        if (b < blocks) {
            // One block: 12 rows, so that 12 accumulator chains cover the FMA latency (2 per
            // cycle, 4 cycles each: 8 in flight). On the 2-core EPYC it measured no faster than
            // 6 rows: one broadcast per multiply-add bounds this tile there.
            for (int k = 0; k < n; k += 12) {
                tile12x1(wd, k, last, cols, xt, b * blockStride(cols), lo, hi, acc,
                        accOffset + k * rowStride + b * L, rowStride);
            }
        }
    }

    /** 6 weight rows from {@code first} (repeating {@code last} past it) x 2 token blocks (at x0, x1 of xt). */
    private static void tile6x2(float[] wd, int first, int last, int cols, float[] xt, int x0, int x1, int lo, int hi,
            float[] acc, int a, int rowStride) {
        int w0 = Math.min(first, last) * cols, w1 = Math.min(first + 1, last) * cols;
        int w2 = Math.min(first + 2, last) * cols, w3 = Math.min(first + 3, last) * cols;
        int w4 = Math.min(first + 4, last) * cols, w5 = Math.min(first + 5, last) * cols;
        // a<weight row><token block>
        FloatVector a00 = FloatVector.fromArray(F, acc, a), a01 = FloatVector.fromArray(F, acc, a + L);
        FloatVector a10 = FloatVector.fromArray(F, acc, a + rowStride);
        FloatVector a11 = FloatVector.fromArray(F, acc, a + rowStride + L);
        FloatVector a20 = FloatVector.fromArray(F, acc, a + 2 * rowStride);
        FloatVector a21 = FloatVector.fromArray(F, acc, a + 2 * rowStride + L);
        FloatVector a30 = FloatVector.fromArray(F, acc, a + 3 * rowStride);
        FloatVector a31 = FloatVector.fromArray(F, acc, a + 3 * rowStride + L);
        FloatVector a40 = FloatVector.fromArray(F, acc, a + 4 * rowStride);
        FloatVector a41 = FloatVector.fromArray(F, acc, a + 4 * rowStride + L);
        FloatVector a50 = FloatVector.fromArray(F, acc, a + 5 * rowStride);
        FloatVector a51 = FloatVector.fromArray(F, acc, a + 5 * rowStride + L);
        for (int k = lo; k < hi; k++) {
            FloatVector t0 = FloatVector.fromArray(F, xt, x0 + k * L);
            FloatVector t1 = FloatVector.fromArray(F, xt, x1 + k * L);
            FloatVector v = FloatVector.broadcast(F, wd[w0 + k]);
            a00 = v.fma(t0, a00);
            a01 = v.fma(t1, a01);
            v = FloatVector.broadcast(F, wd[w1 + k]);
            a10 = v.fma(t0, a10);
            a11 = v.fma(t1, a11);
            v = FloatVector.broadcast(F, wd[w2 + k]);
            a20 = v.fma(t0, a20);
            a21 = v.fma(t1, a21);
            v = FloatVector.broadcast(F, wd[w3 + k]);
            a30 = v.fma(t0, a30);
            a31 = v.fma(t1, a31);
            v = FloatVector.broadcast(F, wd[w4 + k]);
            a40 = v.fma(t0, a40);
            a41 = v.fma(t1, a41);
            v = FloatVector.broadcast(F, wd[w5 + k]);
            a50 = v.fma(t0, a50);
            a51 = v.fma(t1, a51);
        }
        a00.intoArray(acc, a);
        a01.intoArray(acc, a + L);
        a10.intoArray(acc, a + rowStride);
        a11.intoArray(acc, a + rowStride + L);
        a20.intoArray(acc, a + 2 * rowStride);
        a21.intoArray(acc, a + 2 * rowStride + L);
        a30.intoArray(acc, a + 3 * rowStride);
        a31.intoArray(acc, a + 3 * rowStride + L);
        a40.intoArray(acc, a + 4 * rowStride);
        a41.intoArray(acc, a + 4 * rowStride + L);
        a50.intoArray(acc, a + 5 * rowStride);
        a51.intoArray(acc, a + 5 * rowStride + L);
    }

    /** 12 weight rows from {@code first} (repeating {@code last} past it) x 1 token block (at x0 of xt). */
    private static void tile12x1(float[] wd, int first, int last, int cols, float[] xt, int x0, int lo, int hi,
            float[] acc, int a, int rowStride) {
        int w0 = Math.min(first, last) * cols, w1 = Math.min(first + 1, last) * cols;
        int w2 = Math.min(first + 2, last) * cols, w3 = Math.min(first + 3, last) * cols;
        int w4 = Math.min(first + 4, last) * cols, w5 = Math.min(first + 5, last) * cols;
        int w6 = Math.min(first + 6, last) * cols, w7 = Math.min(first + 7, last) * cols;
        int w8 = Math.min(first + 8, last) * cols, w9 = Math.min(first + 9, last) * cols;
        int w10 = Math.min(first + 10, last) * cols, w11 = Math.min(first + 11, last) * cols;
        FloatVector a0 = FloatVector.fromArray(F, acc, a);
        FloatVector a1 = FloatVector.fromArray(F, acc, a + rowStride);
        FloatVector a2 = FloatVector.fromArray(F, acc, a + 2 * rowStride);
        FloatVector a3 = FloatVector.fromArray(F, acc, a + 3 * rowStride);
        FloatVector a4 = FloatVector.fromArray(F, acc, a + 4 * rowStride);
        FloatVector a5 = FloatVector.fromArray(F, acc, a + 5 * rowStride);
        FloatVector a6 = FloatVector.fromArray(F, acc, a + 6 * rowStride);
        FloatVector a7 = FloatVector.fromArray(F, acc, a + 7 * rowStride);
        FloatVector a8 = FloatVector.fromArray(F, acc, a + 8 * rowStride);
        FloatVector a9 = FloatVector.fromArray(F, acc, a + 9 * rowStride);
        FloatVector a10 = FloatVector.fromArray(F, acc, a + 10 * rowStride);
        FloatVector a11 = FloatVector.fromArray(F, acc, a + 11 * rowStride);
        for (int k = lo; k < hi; k++) {
            FloatVector t = FloatVector.fromArray(F, xt, x0 + k * L);
            a0 = FloatVector.broadcast(F, wd[w0 + k]).fma(t, a0);
            a1 = FloatVector.broadcast(F, wd[w1 + k]).fma(t, a1);
            a2 = FloatVector.broadcast(F, wd[w2 + k]).fma(t, a2);
            a3 = FloatVector.broadcast(F, wd[w3 + k]).fma(t, a3);
            a4 = FloatVector.broadcast(F, wd[w4 + k]).fma(t, a4);
            a5 = FloatVector.broadcast(F, wd[w5 + k]).fma(t, a5);
            a6 = FloatVector.broadcast(F, wd[w6 + k]).fma(t, a6);
            a7 = FloatVector.broadcast(F, wd[w7 + k]).fma(t, a7);
            a8 = FloatVector.broadcast(F, wd[w8 + k]).fma(t, a8);
            a9 = FloatVector.broadcast(F, wd[w9 + k]).fma(t, a9);
            a10 = FloatVector.broadcast(F, wd[w10 + k]).fma(t, a10);
            a11 = FloatVector.broadcast(F, wd[w11 + k]).fma(t, a11);
        }
        a0.intoArray(acc, a);
        a1.intoArray(acc, a + rowStride);
        a2.intoArray(acc, a + 2 * rowStride);
        a3.intoArray(acc, a + 3 * rowStride);
        a4.intoArray(acc, a + 4 * rowStride);
        a5.intoArray(acc, a + 5 * rowStride);
        a6.intoArray(acc, a + 6 * rowStride);
        a7.intoArray(acc, a + 7 * rowStride);
        a8.intoArray(acc, a + 8 * rowStride);
        a9.intoArray(acc, a + 9 * rowStride);
        a10.intoArray(acc, a + 10 * rowStride);
        a11.intoArray(acc, a + 11 * rowStride);
    }
}
