package dev.gantry.worker.backend.cpu;

import static dev.gantry.worker.backend.cpu.Simd.F;
import static dev.gantry.worker.backend.cpu.Simd.L;

import jdk.incubator.vector.FloatVector;

/**
 * The multiply-adds of a many-token matrix product over decoded weight rows, with the tokens
 * along the vector lanes: one broadcast weight value times a vector of L tokens' activations.
 *
 * <p>Why this shape: a product of two row-major matrices along their rows (a dot product per
 * output, {@link RowTileGemm}) needs a lane reduction per output, which costs as much as the
 * multiply-adds of a short row. With the activations transposed once per call into blocks of L
 * tokens ({@link #transposeBlock}), a micro-tile of 6 weight rows by 2 token blocks keeps 12
 * accumulators in registers and spends 2 vector loads and 6 scalar broadcasts per 12
 * multiply-adds, with no reductions inside the loop.
 *
 * <p>The sums have {@link RowTileGemm}'s bits, so a token's result does not depend on which path
 * its batch took: there, lane j of a row's one vector accumulator sums the columns k = j, j + L,
 * j + 2L, ... in order, and {@link Simd#sum} then adds the L lanes in a fixed tree. Here each
 * (weight row, token block) has L accumulators, one per residue class j of the columns, each
 * taking its columns in the same order ({@code fma(w, x, acc)}); the columns are laid out
 * residue-major (xt: class j's columns one after another) so that a class is one contiguous
 * pass; then {@link #finish} adds the classes in Simd.sum's tree, as vectors over the tokens.
 * Columns past the last whole vector (plain float weights) are added one by one after the tree,
 * as RowTileGemm does.
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

    /** Floats of the accumulators of one weight row: [blocks][L residue classes][L lanes]. */
    static int accRowStride(int blocks) {
        return blocks * L * L;
    }

    /**
     * xt[b][(j * V + i) * L + lane] = x[b * L + lane][i * L + j] for the V = cols / L whole
     * vectors of columns (residue class j, its i-th column), then xt[b][(V * L + c) * L + lane] =
     * x[b * L + lane][V * L + c] for the columns past them; zero in the lanes past the last token.
     * x: [rows][cols]; xt: [blocks(rows)][cols][L].
     */
    static void transposeBlock(float[] x, int rows, int cols, int block, float[] xt) {
        int base = block * blockStride(cols);
        int t0 = block * L;
        int n = Math.min(L, rows - t0);
        int v = cols / L;
        for (int lane = 0; lane < L; lane++) {
            if (lane < n) {
                int from = (t0 + lane) * cols;
                for (int k = 0; k < v * L; k++) {
                    xt[base + ((k % L) * v + k / L) * L + lane] = x[from + k];
                }
                for (int k = v * L; k < cols; k++) {
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
     * Adds the whole-vector columns [lo, hi) (multiples of L) of the weight rows 0..n-1 of wd
     * ([n][cols] decoded) times the token blocks firstBlock .. firstBlock+blocks-1 of xt into acc:
     * [rows of the group][blocks][L classes][L] from accOffset; the first chunk (lo = 0) starts the
     * sums from zero, later ones add to them. Tiles past row n-1
     * repeat it, and their sums land in acc rows past n-1, so acc must hold n rounded up to
     * {@link #ROW_MULTIPLE}.
     */
    static void multiply(float[] wd, int n, int cols, float[] xt, int firstBlock, int blocks, int lo, int hi,
            float[] acc, int accOffset) {
        int last = n - 1;
        int rowStride = accRowStride(blocks);
        int v = cols / L;
        int from = lo / L;
        int to = hi / L;
        int b = 0;
        for (; b + 2 <= blocks; b += 2) {
            int x0 = (firstBlock + b) * blockStride(cols);
            for (int k = 0; k < n; k += 6) {
                tile6x2(wd, k, last, cols, v, xt, x0, x0 + blockStride(cols), from, to, lo == 0, acc,
                        accOffset + k * rowStride + b * L * L, rowStride);
            }
        }
        if (b < blocks) {
            // One block: 12 rows, so that 12 accumulator chains cover the FMA latency.
            int x0 = (firstBlock + b) * blockStride(cols);
            for (int k = 0; k < n; k += 12) {
                tile12x1(wd, k, last, cols, v, xt, x0, from, to, lo == 0, acc, accOffset + k * rowStride + b * L * L,
                        rowStride);
            }
        }
    }

    /** Class j's accumulator of the (row, block) whose classes start at a. */
    private static FloatVector cls(float[] acc, int a, int j) {
        return FloatVector.fromArray(F, acc, a + j * L);
    }

    /** An accumulator: zero where the sums start, else its sum so far. */
    private static FloatVector init(boolean fresh, float[] acc, int at) {
        return fresh ? FloatVector.zero(F) : FloatVector.fromArray(F, acc, at);
    }

    /**
     * The outputs of weight row k of the group for token block firstBlock + b (acc as {@link
     * #multiply} filled it): the classes' accumulators
     * added in {@link Simd#sum}'s tree, then the columns past the last whole vector one by one,
     * then the bias; stored to out[t][o] for the block's tokens t < rows.
     */
    static void finish(float[] wd, int k, int cols, float[] xt, int firstBlock, int b, float[] acc, int accOffset,
            int blocks, int rows, float bias, boolean hasBias, float[] out, int outRows, int o) {
        int a = accOffset + k * accRowStride(blocks) + b * L * L;
        FloatVector s;
        if (L == 16) { // the tree in registers
            FloatVector r0 = cls(acc, a, 0).add(cls(acc, a, 8)), r1 = cls(acc, a, 1).add(cls(acc, a, 9));
            FloatVector r2 = cls(acc, a, 2).add(cls(acc, a, 10)), r3 = cls(acc, a, 3).add(cls(acc, a, 11));
            FloatVector r4 = cls(acc, a, 4).add(cls(acc, a, 12)), r5 = cls(acc, a, 5).add(cls(acc, a, 13));
            FloatVector r6 = cls(acc, a, 6).add(cls(acc, a, 14)), r7 = cls(acc, a, 7).add(cls(acc, a, 15));
            r0 = r0.add(r4);
            r1 = r1.add(r5);
            r2 = r2.add(r6);
            r3 = r3.add(r7);
            s = r0.add(r2).add(r1.add(r3));
        } else {
            for (int h = L / 2; h >= 1; h /= 2) {
                for (int j = 0; j < h; j++) {
                    cls(acc, a, j).add(cls(acc, a, j + h)).intoArray(acc, a + j * L);
                }
            }
            s = cls(acc, a, 0);
        }
        int x0 = (firstBlock + b) * blockStride(cols);
        for (int c = cols / L * L; c < cols; c++) {
            s = s.add(FloatVector.broadcast(F, wd[k * cols + c]).mul(FloatVector.fromArray(F, xt, x0 + c * L)));
        }
        if (hasBias) {
            s = s.add(bias);
        }
        // through memory: lane(t) with a variable t is not one instruction
        s.intoArray(acc, a);
        int t0 = (firstBlock + b) * L;
        for (int t = 0, n = Math.min(L, rows - t0); t < n; t++) {
            out[(t0 + t) * outRows + o] = acc[a + t];
        }
    }

    /**
     * 6 weight rows from {@code first} (repeating {@code last} past it) x 2 token blocks (at
     * xBlock0, xBlock1 of xt), for every class j over its columns j + i * L, i in [from, to).
     */
    private static void tile6x2(float[] wd, int first, int last, int cols, int vecs, float[] xt, int xBlock0, int xBlock1,
            int from, int to, boolean fresh, float[] acc, int aBlock, int rowStride) {
        int w0 = Math.min(first, last) * cols, w1 = Math.min(first + 1, last) * cols;
        int w2 = Math.min(first + 2, last) * cols, w3 = Math.min(first + 3, last) * cols;
        int w4 = Math.min(first + 4, last) * cols, w5 = Math.min(first + 5, last) * cols;
        // Class by class in one call (not a call per class: this method is too large for C2 to inline).
        for (int j = 0; j < L; j++) {
            int x0 = xBlock0 + j * vecs * L, x1 = xBlock1 + j * vecs * L, a = aBlock + j * L;
            // a<weight row><token block>
            FloatVector a00 = init(fresh, acc, a), a01 = init(fresh, acc, a + L * L);
            FloatVector a10 = init(fresh, acc, a + rowStride);
            FloatVector a11 = init(fresh, acc, a + rowStride + L * L);
            FloatVector a20 = init(fresh, acc, a + 2 * rowStride);
            FloatVector a21 = init(fresh, acc, a + 2 * rowStride + L * L);
            FloatVector a30 = init(fresh, acc, a + 3 * rowStride);
            FloatVector a31 = init(fresh, acc, a + 3 * rowStride + L * L);
            FloatVector a40 = init(fresh, acc, a + 4 * rowStride);
            FloatVector a41 = init(fresh, acc, a + 4 * rowStride + L * L);
            FloatVector a50 = init(fresh, acc, a + 5 * rowStride);
            FloatVector a51 = init(fresh, acc, a + 5 * rowStride + L * L);
            for (int i = from; i < to; i++) {
                FloatVector t0 = FloatVector.fromArray(F, xt, x0 + i * L);
                FloatVector t1 = FloatVector.fromArray(F, xt, x1 + i * L);
                FloatVector v = FloatVector.broadcast(F, wd[w0 + j + i * L]);
                a00 = v.fma(t0, a00);
                a01 = v.fma(t1, a01);
                v = FloatVector.broadcast(F, wd[w1 + j + i * L]);
                a10 = v.fma(t0, a10);
                a11 = v.fma(t1, a11);
                v = FloatVector.broadcast(F, wd[w2 + j + i * L]);
                a20 = v.fma(t0, a20);
                a21 = v.fma(t1, a21);
                v = FloatVector.broadcast(F, wd[w3 + j + i * L]);
                a30 = v.fma(t0, a30);
                a31 = v.fma(t1, a31);
                v = FloatVector.broadcast(F, wd[w4 + j + i * L]);
                a40 = v.fma(t0, a40);
                a41 = v.fma(t1, a41);
                v = FloatVector.broadcast(F, wd[w5 + j + i * L]);
                a50 = v.fma(t0, a50);
                a51 = v.fma(t1, a51);
            }
            a00.intoArray(acc, a);
            a01.intoArray(acc, a + L * L);
            a10.intoArray(acc, a + rowStride);
            a11.intoArray(acc, a + rowStride + L * L);
            a20.intoArray(acc, a + 2 * rowStride);
            a21.intoArray(acc, a + 2 * rowStride + L * L);
            a30.intoArray(acc, a + 3 * rowStride);
            a31.intoArray(acc, a + 3 * rowStride + L * L);
            a40.intoArray(acc, a + 4 * rowStride);
            a41.intoArray(acc, a + 4 * rowStride + L * L);
            a50.intoArray(acc, a + 5 * rowStride);
            a51.intoArray(acc, a + 5 * rowStride + L * L);
        }
    }

    /** 12 weight rows from {@code first} (repeating {@code last} past it) x 1 token block, as {@link #tile6x2}. */
    private static void tile12x1(float[] wd, int first, int last, int cols, int vecs, float[] xt, int xBlock0, int from,
            int to, boolean fresh, float[] acc, int aBlock, int rowStride) {
        int w0 = Math.min(first, last) * cols, w1 = Math.min(first + 1, last) * cols;
        int w2 = Math.min(first + 2, last) * cols, w3 = Math.min(first + 3, last) * cols;
        int w4 = Math.min(first + 4, last) * cols, w5 = Math.min(first + 5, last) * cols;
        int w6 = Math.min(first + 6, last) * cols, w7 = Math.min(first + 7, last) * cols;
        int w8 = Math.min(first + 8, last) * cols, w9 = Math.min(first + 9, last) * cols;
        int w10 = Math.min(first + 10, last) * cols, w11 = Math.min(first + 11, last) * cols;
        for (int j = 0; j < L; j++) {
            int x0 = xBlock0 + j * vecs * L, a = aBlock + j * L;
            FloatVector a0 = init(fresh, acc, a);
            FloatVector a1 = init(fresh, acc, a + rowStride);
            FloatVector a2 = init(fresh, acc, a + 2 * rowStride);
            FloatVector a3 = init(fresh, acc, a + 3 * rowStride);
            FloatVector a4 = init(fresh, acc, a + 4 * rowStride);
            FloatVector a5 = init(fresh, acc, a + 5 * rowStride);
            FloatVector a6 = init(fresh, acc, a + 6 * rowStride);
            FloatVector a7 = init(fresh, acc, a + 7 * rowStride);
            FloatVector a8 = init(fresh, acc, a + 8 * rowStride);
            FloatVector a9 = init(fresh, acc, a + 9 * rowStride);
            FloatVector a10 = init(fresh, acc, a + 10 * rowStride);
            FloatVector a11 = init(fresh, acc, a + 11 * rowStride);
            for (int i = from; i < to; i++) {
                FloatVector t = FloatVector.fromArray(F, xt, x0 + i * L);
                a0 = FloatVector.broadcast(F, wd[w0 + j + i * L]).fma(t, a0);
                a1 = FloatVector.broadcast(F, wd[w1 + j + i * L]).fma(t, a1);
                a2 = FloatVector.broadcast(F, wd[w2 + j + i * L]).fma(t, a2);
                a3 = FloatVector.broadcast(F, wd[w3 + j + i * L]).fma(t, a3);
                a4 = FloatVector.broadcast(F, wd[w4 + j + i * L]).fma(t, a4);
                a5 = FloatVector.broadcast(F, wd[w5 + j + i * L]).fma(t, a5);
                a6 = FloatVector.broadcast(F, wd[w6 + j + i * L]).fma(t, a6);
                a7 = FloatVector.broadcast(F, wd[w7 + j + i * L]).fma(t, a7);
                a8 = FloatVector.broadcast(F, wd[w8 + j + i * L]).fma(t, a8);
                a9 = FloatVector.broadcast(F, wd[w9 + j + i * L]).fma(t, a9);
                a10 = FloatVector.broadcast(F, wd[w10 + j + i * L]).fma(t, a10);
                a11 = FloatVector.broadcast(F, wd[w11 + j + i * L]).fma(t, a11);
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
}
