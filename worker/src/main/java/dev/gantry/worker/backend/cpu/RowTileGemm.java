package dev.gantry.worker.backend.cpu;

import static dev.gantry.worker.backend.cpu.Simd.F;
import static dev.gantry.worker.backend.cpu.Simd.L;

import jdk.incubator.vector.FloatVector;

/**
 * Token rows times decoded weight rows, as dot products along the rows in register tiles: 2
 * weight rows by 4 token rows (8 vector accumulators); one token row by 4 or 2 weight rows. (4 by
 * 4 tiles, 16 accumulators, measured no faster on AVX-512.)
 *
 * <p>Every output is computed in one order whatever tile it falls in, so a token's result does
 * not depend on how many tokens share the call or where it sits among them (batch invariance,
 * bit for bit): one vector accumulator per (weight row, token) takes {@code fma(w[k..k+L),
 * x[k..k+L), acc)} for k = 0, L, 2L, ... in turn, then {@link Simd#sum} (a fixed tree), then the
 * columns past the last whole vector one by one ({@link #finish}), then the bias.
 */
final class RowTileGemm {
    private RowTileGemm() {}

    /**
     * out[r][o0 + k] = dot(wd row k, x row r) (+ bias[o0 + k]) for the n decoded rows of wd
     * ([n][cols]) and the token rows of x ([rows][cols]); out: [rows][outRows]. Tiles past the
     * last weight row repeat it; their duplicate results are not stored.
     */
    static void multiply(float[] wd, int n, int cols, float[] x, int rows, float[] out, int outRows, int o0,
            float[] bias) {
        int r = 0;
        for (; r + 4 <= rows; r += 4) {
            for (int k = 0; k < n; k += 2) {
                int k1 = Math.min(k + 1, n - 1);
                tile2x4(wd, k * cols, k1 * cols, x, r * cols, cols, out, r, outRows, o0 + k, k1 > k, bias);
            }
        }
        for (; r < rows; r++) {
            int k = 0;
            for (; k + 4 <= n; k += 4) {
                tile4x1(wd, k * cols, cols, x, r * cols, out, r * outRows + o0 + k, bias, o0 + k);
            }
            for (; k < n; k += 2) {
                int k1 = Math.min(k + 1, n - 1);
                tile2x1(wd, k * cols, k1 * cols, x, r * cols, cols, out, r * outRows + o0 + k, k1 > k, bias, o0 + k);
            }
        }
    }

    /** The output of one accumulator: its lane sum, then the columns past the last whole vector. */
    private static float finish(FloatVector acc, float[] wd, int w, float[] x, int xo, int cols) {
        float s = Simd.sum(acc);
        for (int i = F.loopBound(cols); i < cols; i++) {
            s += wd[w + i] * x[xo + i];
        }
        return s;
    }

    private static void store(float[] out, int at, float s, float[] bias, int o) {
        out[at] = bias == null ? s : s + bias[o];
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
        int x1 = xo + cols, x2 = x1 + cols, x3 = x2 + cols;
        for (int i = 0, bound = F.loopBound(cols); i < bound; i += L) {
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
        int at = r * outRows + o;
        store(out, at, finish(a00, wd, w0, x, xo, cols), bias, o);
        store(out, at + outRows, finish(a01, wd, w0, x, x1, cols), bias, o);
        store(out, at + 2 * outRows, finish(a02, wd, w0, x, x2, cols), bias, o);
        store(out, at + 3 * outRows, finish(a03, wd, w0, x, x3, cols), bias, o);
        if (both) {
            store(out, at + 1, finish(a10, wd, w1, x, xo, cols), bias, o + 1);
            store(out, at + 1 + outRows, finish(a11, wd, w1, x, x1, cols), bias, o + 1);
            store(out, at + 1 + 2 * outRows, finish(a12, wd, w1, x, x2, cols), bias, o + 1);
            store(out, at + 1 + 3 * outRows, finish(a13, wd, w1, x, x3, cols), bias, o + 1);
        }
    }

    /** The 4 weight rows from w0 (cols apart) times the token row at xo; stores out[at..at+3]. */
    private static void tile4x1(float[] wd, int w0, int cols, float[] x, int xo, float[] out, int at, float[] bias,
            int o) {
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
        int w1 = w0 + cols, w2 = w1 + cols, w3 = w2 + cols;
        for (int i = 0, bound = F.loopBound(cols); i < bound; i += L) {
            FloatVector t = FloatVector.fromArray(F, x, xo + i);
            a0 = FloatVector.fromArray(F, wd, w0 + i).fma(t, a0);
            a1 = FloatVector.fromArray(F, wd, w1 + i).fma(t, a1);
            a2 = FloatVector.fromArray(F, wd, w2 + i).fma(t, a2);
            a3 = FloatVector.fromArray(F, wd, w3 + i).fma(t, a3);
        }
        store(out, at, finish(a0, wd, w0, x, xo, cols), bias, o);
        store(out, at + 1, finish(a1, wd, w1, x, xo, cols), bias, o + 1);
        store(out, at + 2, finish(a2, wd, w2, x, xo, cols), bias, o + 2);
        store(out, at + 3, finish(a3, wd, w3, x, xo, cols), bias, o + 3);
    }

    /** Weight rows at w0 and w1 of wd times the token row at xo; stores out[at] and, when {@code both}, out[at + 1]. */
    private static void tile2x1(float[] wd, int w0, int w1, float[] x, int xo, int cols, float[] out, int at,
            boolean both, float[] bias, int o) {
        FloatVector a0 = FloatVector.zero(F);
        FloatVector a1 = FloatVector.zero(F);
        for (int i = 0, bound = F.loopBound(cols); i < bound; i += L) {
            FloatVector t = FloatVector.fromArray(F, x, xo + i);
            a0 = FloatVector.fromArray(F, wd, w0 + i).fma(t, a0);
            a1 = FloatVector.fromArray(F, wd, w1 + i).fma(t, a1);
        }
        store(out, at, finish(a0, wd, w0, x, xo, cols), bias, o);
        if (both) {
            store(out, at + 1, finish(a1, wd, w1, x, xo, cols), bias, o + 1);
        }
    }
}
