package dev.gantry.worker.backend.cpu;

import static dev.gantry.worker.backend.cpu.Simd.F;
import static dev.gantry.worker.backend.cpu.Simd.L;

import jdk.incubator.vector.FloatVector;

/**
 * A few token rows times decoded weight rows, as dot products along the rows: a 2x4 register
 * tile (2 weight rows, 4 token rows, 8 vector accumulators), each loaded weight vector feeding
 * 4 tokens and each activation vector 2 weight rows, then one lane sum per output. For at most
 * L/2 tokens, where {@link TokenLaneGemm} would leave most of its lanes empty (measured on
 * SmolLM2-135M Q4_1, 2 threads, 16 lanes, decode tokens/s this way vs tokens along the lanes:
 * batch 4 254 vs 199, batch 8 337 vs 339, batch 12 381 vs 488).
 */
final class RowTileGemm {
    private RowTileGemm() {}

    /**
     * out[r][o0 + k] = dot(wd row k, x row r) (+ bias) for the n decoded rows of wd ([n][cols])
     * and the token rows of x ([rows][cols]); out: [rows][outRows].
     */
    static void multiply(float[] wd, int n, int cols, float[] x, int rows, float[] out, int outRows, int o0,
            float[] bias) {
        int r = 0;
        for (; r + 4 <= rows; r += 4) {
            for (int k = 0; k < n; k += 2) {
                // An odd last row pairs with itself; its duplicate result is not stored.
                int k1 = Math.min(k + 1, n - 1);
                tile2x4(wd, k * cols, k1 * cols, x, r * cols, cols, out, r, outRows, o0 + k, k1 > k, bias);
            }
        }
        for (; r < rows; r++) {
            for (int k = 0; k < n; k += 2) {
                int k1 = Math.min(k + 1, n - 1);
                tile2x1(wd, k * cols, k1 * cols, x, r * cols, cols, out, r * outRows + o0 + k, k1 > k, bias, o0 + k);
            }
        }
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
        float s00 = Simd.sum(a00), s01 = Simd.sum(a01);
        float s02 = Simd.sum(a02), s03 = Simd.sum(a03);
        float s10 = Simd.sum(a10), s11 = Simd.sum(a11);
        float s12 = Simd.sum(a12), s13 = Simd.sum(a13);
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
        float s0 = Simd.sum(a0);
        float s1 = Simd.sum(a1);
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
