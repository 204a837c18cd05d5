package dev.gantry.worker.backend.cpu;

import static dev.gantry.worker.backend.cpu.Simd.F;
import static dev.gantry.worker.backend.cpu.Simd.L;

import dev.gantry.worker.backend.Q8Activations;
import dev.gantry.worker.backend.Q8KActivations;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/**
 * {@link dev.gantry.worker.backend.ActivationPrecision#Q8}'s quantization of activation rows,
 * vectorized, with the same float operations as {@link Q8Activations} so that it picks the same
 * integers.
 *
 * <p>It does not write int8 blocks but each block's values as floats, {@code q * f16(d)}: an
 * 8-bit integer times an 11-bit f16 mantissa, exact in a float. {@link Matmul}'s float path then computes llama.cpp's integer dot products: a weight's block
 * sum {@code sum(q_w * q_x * d_x)} is {@code d_x * sum(q_w * q_x)} up to float rounding, which
 * is all that separates this from ggml's {@code (d_w * d_x) * isum}. Rounding, ties to even, is
 * done by adding and subtracting 1.5 * 2^23 (float arithmetic rounds to even, and |x * 127 / amax|
 * <= 127 is far inside the range where that is exact); the Vector API has no rint.
 */
final class ActivationQuant {
    private static final float ROUND_TO_INTEGER = 0x1.8p23f;

    private ActivationQuant() {}

    /**
     * Quantizes x[xo .. xo + cols) (cols a multiple of 32) block by block: xq[qo + i] = q_i * f16(d)
     * of value i, and, when sums is not null, sums[so + b] = f16(d * sum(q)) of block b (Q8_1's s).
     */
    static void row(float[] x, int xo, int cols, float[] xq, int qo, float[] sums, int so) {
        for (int b = 0; b < cols; b += Q8Activations.BLOCK) {
            int at = xo + b;
            FloatVector max = FloatVector.zero(F);
            for (int j = 0; j < Q8Activations.BLOCK; j += L) {
                max = max.max(FloatVector.fromArray(F, x, at + j).abs());
            }
            float amax = max.reduceLanes(VectorOperators.MAX);
            float scale = amax / 127f;
            float inverse = Q8Activations.inverseScale(amax);
            float d = Q8Activations.roundToF16(scale);
            FloatVector sum = FloatVector.zero(F);
            for (int j = 0; j < Q8Activations.BLOCK; j += L) {
                FloatVector q = FloatVector.fromArray(F, x, at + j).mul(inverse).add(ROUND_TO_INTEGER).sub(ROUND_TO_INTEGER);
                sum = sum.add(q);
                q.mul(d).intoArray(xq, qo + b + j);
            }
            if (sums != null) {
                // A sum of at most 32 integers of magnitude <= 127: exact in float, whatever the order.
                sums[so + b / Q8Activations.BLOCK] = Q8Activations.roundToF16(scale * sum.reduceLanes(VectorOperators.ADD));
            }
        }
    }

    /**
     * Quantizes x[xo .. xo + cols) (cols a multiple of 256) to Q8_K blocks as {@link
     * Q8KActivations} does, written as floats: xq[qo + i] = q_i * d. Unlike Q8_0's f16 scale, d is
     * a float, so q * d is rounded here, once; the float kernels then compute the integer products
     * to float rounding.
     */
    static void rowK(float[] x, int xo, int cols, float[] xq, int qo) {
        for (int b = 0; b < cols; b += Q8KActivations.BLOCK) {
            float max = 0;
            float amax = 0;
            for (int j = 0; j < Q8KActivations.BLOCK; j++) {
                float ax = Math.abs(x[xo + b + j]);
                if (ax > amax) {
                    amax = ax;
                    max = x[xo + b + j];
                }
            }
            float iscale = Q8KActivations.inverseScale(amax, max);
            float d = iscale != 0 ? 1 / iscale : 0;
            for (int j = 0; j < Q8KActivations.BLOCK; j++) {
                xq[qo + b + j] = Math.min(127, (int) Math.rint(iscale * x[xo + b + j])) * d;
            }
        }
    }
}
