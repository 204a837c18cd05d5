package dev.gantry.worker.backend.cpu;

import static dev.gantry.worker.backend.cpu.Simd.BL;
import static dev.gantry.worker.backend.cpu.Simd.F;
import static dev.gantry.worker.backend.cpu.Simd.L;
import static dev.gantry.worker.backend.cpu.Simd.LE;
import static dev.gantry.worker.backend.cpu.Simd.PARTS;
import static dev.gantry.worker.backend.cpu.Simd.bytes;
import static dev.gantry.worker.backend.cpu.Simd.f16;
import static dev.gantry.worker.backend.cpu.Simd.highNibbleFloats;
import static dev.gantry.worker.backend.cpu.Simd.highNibbleValues;
import static dev.gantry.worker.backend.cpu.Simd.lowNibbleFloats;
import static dev.gantry.worker.backend.cpu.Simd.lowNibbleValues;
import static dev.gantry.worker.backend.cpu.Simd.toFloats;

import dev.gantry.worker.quant.GgmlType;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;

/**
 * Fused dequantize-and-dot of one weight row with one activation row, reading the weight bytes
 * straight from the (memory-mapped) segment: no decoded copy of the row is written.
 *
 * <p>Where a block shares one scale, the kernels sum {@code q * x} over the block in a vector
 * and multiply by the scale once per block. Where a block also has an offset (Q4_1's {@code m},
 * Q4_K's mins), {@code sum(m * x) = m * sum(x)} is taken from {@code xsum}, the sums of x over
 * each 32 values, computed once per activation row and shared by all weight rows.
 */
final class DotKernels {
    private DotKernels() {}

    /** Whether {@link #dot} reads {@code xsum}. */
    static boolean needsBlockSums(GgmlType type) {
        return type == GgmlType.Q4_1 || type == GgmlType.Q5_1 || type == GgmlType.Q4_K;
    }

    /** Sums of x[xo + 32b .. xo + 32b + 31] into sums[b] for b < cols / 32. */
    static void blockSums(float[] x, int xo, int cols, float[] sums) {
        for (int b = 0; b < cols / 32; b++) {
            FloatVector s = FloatVector.zero(F);
            for (int j = 0; j < 32; j += L) {
                s = s.add(FloatVector.fromArray(F, x, xo + 32 * b + j));
            }
            sums[b] = Simd.sum(s);
        }
    }

    /**
     * sum_i w[i] * x[xo + i] over the {@code cols} values of the row at byte {@code at}.
     * xsum: [cols / 32] block sums of this x row (see {@link #blockSums}), read only by Q4_1 and Q4_K.
     */
    static float dot(GgmlType type, MemorySegment w, long at, float[] x, int xo, float[] xsum, int cols) {
        return switch (type) {
            case F32 -> f32(w, at, x, xo, cols);
            case F16 -> f16Dot(w, at, x, xo, cols);
            case BF16 -> bf16Dot(w, at, x, xo, cols);
            case Q8_0 -> q8_0(w, at, x, xo, cols);
            case Q4_0 -> q4_0(w, at, x, xo, cols);
            case Q4_1 -> q4_1(w, at, x, xo, xsum, cols);
            case Q4_K -> q4_K(w, at, x, xo, xsum, cols);
            case Q6_K -> q6_K(w, at, x, xo, cols);
            case Q5_0, Q5_1 -> q5(type, w, at, x, xo, xsum, cols);
            default -> decodedDot(type, w, at, x, xo, cols);
        };
    }

    /**
     * Q5_0 ({@code (q - 16) * d}) and Q5_1 ({@code q * d + m}, its offsets from xsum as Q4_1's) with
     * the codes decoded per block: these types are multiplied by the native kernels, and come here
     * only without the native library or under F32 activations.
     */
    private static float q5(GgmlType type, MemorySegment w, long at, float[] x, int xo, float[] xsum, int n) {
        boolean offset = type == GgmlType.Q5_1;
        float[] codes = new float[32];
        FloatVector acc = FloatVector.zero(F);
        float offsets = 0;
        for (int b = 0; b < n; b += 32, at += type.typeSize) {
            RowDequant.fiveBitCodes(w, at + (offset ? 4 : 2), codes, 0);
            FloatVector s = FloatVector.zero(F);
            for (int j = 0; j < 32; j += L) {
                FloatVector q = FloatVector.fromArray(F, codes, j);
                s = (offset ? q : q.sub(16f)).fma(FloatVector.fromArray(F, x, xo + b + j), s);
            }
            acc = s.fma(FloatVector.broadcast(F, f16(w, at)), acc);
            if (offset) {
                offsets += f16(w, at + 2) * xsum[b / 32];
            }
        }
        return Simd.sum(acc) + offsets;
    }

    /**
     * Any other type (Q5_K, which the native kernels multiply): each block decoded
     * into floats by the reference's dequantization, then multiplied as F32 rows are. Slower than a
     * fused kernel, but exact to the decoded weights; it runs only without the native library or
     * under F32 activations.
     */
    private static float decodedDot(GgmlType type, MemorySegment w, long at, float[] x, int xo, int cols) {
        float[] block = new float[Math.max(type.blockSize, L)];
        FloatVector acc = FloatVector.zero(F);
        for (int b = 0; b < cols; b += type.blockSize, at += type.typeSize) {
            dev.gantry.worker.quant.Dequant.block(type, w, at, block, 0);
            for (int j = 0; j < type.blockSize; j += L) {
                acc = FloatVector.fromArray(F, block, j).fma(FloatVector.fromArray(F, x, xo + b + j), acc);
            }
        }
        return Simd.sum(acc);
    }

    /**
     * The vector accumulator of {@link #dot} carried across calls, in memory: adds the {@code n}
     * values of a row piece at byte {@code at} (whole blocks) times x[xo..] into the L floats at
     * acc[ao..]. A row summed piece by piece through this, then reduced, has the bits of {@link
     * #dot} of the whole row: the same operations in the same order, with the accumulator stored
     * and reloaded between pieces. (The whole-row kernels keep their own copy of these loops:
     * routed through these, with the accumulator in a fresh array per row, an 8192x2048 Q8_0
     * product took 0.71 ms instead of 0.50.)
     */
    static void accumulate(GgmlType type, MemorySegment w, long at, float[] x, int xo, int n, float[] acc, int ao) {
        switch (type) {
            case Q8_0 -> q8_0Piece(w, at, x, xo, n, acc, ao);
            case Q4_0 -> q4_0Piece(w, at, x, xo, n, acc, ao);
            default -> throw new IllegalArgumentException("no piecewise dot for " + type);
        }
    }

    private static void q8_0Piece(MemorySegment w, long at, float[] x, int xo, int n, float[] accs, int ao) {
        FloatVector acc = FloatVector.fromArray(F, accs, ao);
        for (int b = 0; b < n; b += 32, at += 34) {
            FloatVector s = FloatVector.zero(F);
            for (int j = 0; j < 32; j += BL) {
                ByteVector q = bytes(w, at + 2 + j);
                for (int p = 0; p < PARTS; p++) {
                    s = toFloats(q, p).fma(FloatVector.fromArray(F, x, xo + b + j + p * L), s);
                }
            }
            acc = s.fma(FloatVector.broadcast(F, f16(w, at)), acc);
        }
        acc.intoArray(accs, ao);
    }

    private static void q4_0Piece(MemorySegment w, long at, float[] x, int xo, int n, float[] accs, int ao) {
        FloatVector acc = FloatVector.fromArray(F, accs, ao);
        for (int b = 0; b < n; b += 32, at += 18) {
            FloatVector s = FloatVector.zero(F);
            for (int j = 0; j < 16; j += BL) {
                ByteVector q = bytes(w, at + 2 + j);
                for (int p = 0; p < PARTS; p++) {
                    s = lowNibbleValues(q, p).fma(FloatVector.fromArray(F, x, xo + b + j + p * L), s);
                    s = highNibbleValues(q, p).fma(FloatVector.fromArray(F, x, xo + b + 16 + j + p * L), s);
                }
            }
            acc = s.fma(FloatVector.broadcast(F, f16(w, at)), acc);
        }
        acc.intoArray(accs, ao);
    }

    private static float f32(MemorySegment w, long at, float[] x, int xo, int n) {
        // Two accumulators so consecutive FMAs do not wait on each other's latency.
        FloatVector a0 = FloatVector.zero(F);
        FloatVector a1 = FloatVector.zero(F);
        int i = 0;
        for (; i + 2 * L <= n; i += 2 * L) {
            a0 = FloatVector.fromMemorySegment(F, w, at + 4L * i, LE).fma(FloatVector.fromArray(F, x, xo + i), a0);
            a1 = FloatVector.fromMemorySegment(F, w, at + 4L * (i + L), LE)
                    .fma(FloatVector.fromArray(F, x, xo + i + L), a1);
        }
        float sum = Simd.sum(a0.add(a1));
        for (; i < n; i++) {
            sum += w.get(Simd.FLOAT_LE, at + 4L * i) * x[xo + i];
        }
        return sum;
    }

    private static float f16Dot(MemorySegment w, long at, float[] x, int xo, int n) {
        FloatVector a0 = FloatVector.zero(F);
        FloatVector a1 = FloatVector.zero(F);
        int i = 0;
        for (; i + 2 * L <= n; i += 2 * L) {
            a0 = Simd.halfToFloat(w, at + 2L * i).fma(FloatVector.fromArray(F, x, xo + i), a0);
            a1 = Simd.halfToFloat(w, at + 2L * (i + L)).fma(FloatVector.fromArray(F, x, xo + i + L), a1);
        }
        float sum = Simd.sum(a0.add(a1));
        for (; i < n; i++) {
            sum += f16(w, at + 2L * i) * x[xo + i];
        }
        return sum;
    }

    private static float bf16Dot(MemorySegment w, long at, float[] x, int xo, int n) {
        FloatVector a0 = FloatVector.zero(F);
        FloatVector a1 = FloatVector.zero(F);
        int i = 0;
        for (; i + 2 * L <= n; i += 2 * L) {
            a0 = Simd.bf16ToFloat(w, at + 2L * i).fma(FloatVector.fromArray(F, x, xo + i), a0);
            a1 = Simd.bf16ToFloat(w, at + 2L * (i + L)).fma(FloatVector.fromArray(F, x, xo + i + L), a1);
        }
        float sum = Simd.sum(a0.add(a1));
        for (; i < n; i++) {
            sum += Simd.bf16(w, at + 2L * i) * x[xo + i];
        }
        return sum;
    }

    // block_q8_0 (34 bytes): f16 d, i8 qs[32]
    private static float q8_0(MemorySegment w, long at, float[] x, int xo, int n) {
        FloatVector acc = FloatVector.zero(F);
        for (int b = 0; b < n; b += 32, at += 34) {
            FloatVector s = FloatVector.zero(F);
            for (int j = 0; j < 32; j += BL) {
                ByteVector q = bytes(w, at + 2 + j);
                for (int p = 0; p < PARTS; p++) {
                    s = toFloats(q, p).fma(FloatVector.fromArray(F, x, xo + b + j + p * L), s);
                }
            }
            acc = s.fma(FloatVector.broadcast(F, f16(w, at)), acc);
        }
        return Simd.sum(acc);
    }

    // block_q4_0 (18 bytes): f16 d, u8 qs[16]; value j is the low nibble of qs[j], value 16 + j the high one
    private static float q4_0(MemorySegment w, long at, float[] x, int xo, int n) {
        FloatVector acc = FloatVector.zero(F);
        for (int b = 0; b < n; b += 32, at += 18) {
            FloatVector s = FloatVector.zero(F);
            for (int j = 0; j < 16; j += BL) {
                ByteVector q = bytes(w, at + 2 + j);
                for (int p = 0; p < PARTS; p++) {
                    s = lowNibbleValues(q, p).fma(FloatVector.fromArray(F, x, xo + b + j + p * L), s);
                    s = highNibbleValues(q, p).fma(FloatVector.fromArray(F, x, xo + b + 16 + j + p * L), s);
                }
            }
            acc = s.fma(FloatVector.broadcast(F, f16(w, at)), acc);
        }
        return Simd.sum(acc);
    }

    // block_q4_1 (20 bytes): f16 d, f16 m, u8 qs[16]; sum((q*d + m) * x) = d * sum(q*x) + m * sum(x)
    private static float q4_1(MemorySegment w, long at, float[] x, int xo, float[] xsum, int n) {
        FloatVector acc = FloatVector.zero(F);
        float offsets = 0;
        for (int b = 0; b < n; b += 32, at += 20) {
            FloatVector s = FloatVector.zero(F);
            for (int j = 0; j < 16; j += BL) {
                ByteVector q = bytes(w, at + 4 + j);
                for (int p = 0; p < PARTS; p++) {
                    s = lowNibbleFloats(q, p).fma(FloatVector.fromArray(F, x, xo + b + j + p * L), s);
                    s = highNibbleFloats(q, p).fma(FloatVector.fromArray(F, x, xo + b + 16 + j + p * L), s);
                }
            }
            acc = s.fma(FloatVector.broadcast(F, f16(w, at)), acc);
            offsets += f16(w, at + 2) * xsum[b / 32];
        }
        return Simd.sum(acc) + offsets;
    }

    // block_q4_K (144 bytes): f16 d, f16 dmin, u8 scales[12], u8 qs[128]; sub-block j of 32 values
    // is (d * sc[j]) * q - (dmin * m[j]), so its dot is d*sc[j] * sum(q*x) - dmin*m[j] * sum(x)
    private static float q4_K(MemorySegment w, long at, float[] x, int xo, float[] xsum, int n) {
        FloatVector acc = FloatVector.zero(F);
        float mins = 0;
        for (int b = 0; b < n; b += 256, at += 144) {
            float d = f16(w, at);
            float dmin = f16(w, at + 2);
            for (int k = 0; k < 4; k++) {
                int y = xo + b + 64 * k;
                FloatVector s1 = FloatVector.zero(F);
                FloatVector s2 = FloatVector.zero(F);
                for (int j = 0; j < 32; j += BL) {
                    ByteVector q = bytes(w, at + 16 + 32 * k + j);
                    for (int p = 0; p < PARTS; p++) {
                        s1 = lowNibbleFloats(q, p).fma(FloatVector.fromArray(F, x, y + j + p * L), s1);
                        s2 = highNibbleFloats(q, p).fma(FloatVector.fromArray(F, x, y + 32 + j + p * L), s2);
                    }
                }
                acc = s1.fma(FloatVector.broadcast(F, d * Simd.scaleMinK4(w, at + 4, 2 * k, 0)), acc);
                acc = s2.fma(FloatVector.broadcast(F, d * Simd.scaleMinK4(w, at + 4, 2 * k + 1, 0)), acc);
                int sb = (b + 64 * k) / 32;
                mins += dmin * Simd.scaleMinK4(w, at + 4, 2 * k, 1) * xsum[sb]
                        + dmin * Simd.scaleMinK4(w, at + 4, 2 * k + 1, 1) * xsum[sb + 1];
            }
        }
        return Simd.sum(acc) - mins;
    }

    // block_q6_K (210 bytes): u8 ql[128], u8 qh[64], i8 scales[16], f16 d; one scale per 16 values
    private static float q6_K(MemorySegment w, long at, float[] x, int xo, int n) {
        FloatVector acc = FloatVector.zero(F);
        for (int b = 0; b < n; b += 256, at += 210) {
            float d = f16(w, at + 208);
            for (int h = 0; h < 2; h++) {
                long ql = at + 64 * h;
                long qh = at + 128 + 32 * h;
                long sc = at + 192 + 8 * h;
                int y = xo + b + 128 * h;
                for (int g = 0; g < 32; g += 16) {
                    // The four quarters of this half, values g..g+15 of each: one scale each.
                    FloatVector s0 = FloatVector.zero(F);
                    FloatVector s1 = FloatVector.zero(F);
                    FloatVector s2 = FloatVector.zero(F);
                    FloatVector s3 = FloatVector.zero(F);
                    for (int l = g; l < g + 16; l += BL) {
                        ByteVector a = bytes(w, ql + l);
                        ByteVector c = bytes(w, ql + 32 + l);
                        ByteVector hb = bytes(w, qh + l);
                        ByteVector q0 = Simd.q6(a, hb, 0);
                        ByteVector q1 = Simd.q6(c, hb, 1);
                        ByteVector q2 = Simd.q6(a, hb, 2);
                        ByteVector q3 = Simd.q6(c, hb, 3);
                        for (int p = 0; p < PARTS; p++) {
                            int i = y + l + p * L;
                            s0 = toFloats(q0, p).fma(FloatVector.fromArray(F, x, i), s0);
                            s1 = toFloats(q1, p).fma(FloatVector.fromArray(F, x, i + 32), s1);
                            s2 = toFloats(q2, p).fma(FloatVector.fromArray(F, x, i + 64), s2);
                            s3 = toFloats(q3, p).fma(FloatVector.fromArray(F, x, i + 96), s3);
                        }
                    }
                    int is = g / 16;
                    acc = s0.fma(FloatVector.broadcast(F, d * Simd.s8(w, sc + is)), acc);
                    acc = s1.fma(FloatVector.broadcast(F, d * Simd.s8(w, sc + is + 2)), acc);
                    acc = s2.fma(FloatVector.broadcast(F, d * Simd.s8(w, sc + is + 4)), acc);
                    acc = s3.fma(FloatVector.broadcast(F, d * Simd.s8(w, sc + is + 6)), acc);
                }
            }
        }
        return Simd.sum(acc);
    }
}
