package dev.gantry.worker.backend.cpu;

import static dev.gantry.worker.backend.cpu.Simd.BL;
import static dev.gantry.worker.backend.cpu.Simd.F;
import static dev.gantry.worker.backend.cpu.Simd.L;
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
 * Vectorized dequantization of whole rows into floats, bit for bit what {@link
 * dev.gantry.worker.quant.Dequant} gives: every value is computed with the same float
 * operations in the same order (a multiply and an add, never a fused multiply-add). Used by
 * embed, by norm weights and biases, and by the batched matmul, which decodes a weight row once
 * and reuses it for every token of the batch.
 */
final class RowDequant {
    private RowDequant() {}

    /** Dequantizes the {@code cols} values (a multiple of the block size) at byte {@code at} into out[o..]. */
    static void row(GgmlType type, MemorySegment w, long at, int cols, float[] out, int o) {
        switch (type) {
            case F32 -> f32(w, at, cols, out, o);
            case F16 -> f16Row(w, at, cols, out, o);
            case BF16 -> bf16Row(w, at, cols, out, o);
            case Q8_0 -> q8_0(w, at, cols, out, o);
            case Q4_0 -> q4_0(w, at, cols, out, o);
            case Q4_1 -> q4_1(w, at, cols, out, o);
            case Q4_K -> q4_K(w, at, cols, out, o);
            case Q6_K -> q6_K(w, at, cols, out, o);
            // The five-bit types in the reference's scalar code (the same bits): they are multiplied
            // by the native kernels, and come here only for embeddings and without the native library.
            default -> dev.gantry.worker.quant.Dequant.values(type, w, at, cols, out, o);
        }
    }

    /** A whole one-row weight (norm weight, bias) as floats: [cols]. */
    static float[] vector(dev.gantry.worker.backend.Weight w) {
        float[] v = new float[w.rows() * w.cols()];
        for (int r = 0; r < w.rows(); r++) {
            row(w.type(), w.data(), r * w.rowBytes(), w.cols(), v, r * w.cols());
        }
        return v;
    }

    private static void f32(MemorySegment w, long at, int n, float[] out, int o) {
        int i = 0;
        for (; i < F.loopBound(n); i += L) {
            FloatVector.fromMemorySegment(F, w, at + 4L * i, Simd.LE).intoArray(out, o + i);
        }
        for (; i < n; i++) {
            out[o + i] = w.get(Simd.FLOAT_LE, at + 4L * i);
        }
    }

    private static void f16Row(MemorySegment w, long at, int n, float[] out, int o) {
        int i = 0;
        for (; i < F.loopBound(n); i += L) {
            Simd.halfToFloat(w, at + 2L * i).intoArray(out, o + i);
        }
        for (; i < n; i++) {
            out[o + i] = f16(w, at + 2L * i);
        }
    }

    private static void bf16Row(MemorySegment w, long at, int n, float[] out, int o) {
        int i = 0;
        for (; i < F.loopBound(n); i += L) {
            Simd.bf16ToFloat(w, at + 2L * i).intoArray(out, o + i);
        }
        for (; i < n; i++) {
            out[o + i] = Simd.bf16(w, at + 2L * i);
        }
    }

    // block_q8_0 (34 bytes): f16 d, i8 qs[32]; y = d * q
    private static void q8_0(MemorySegment w, long at, int n, float[] out, int o) {
        for (int b = 0; b < n; b += 32, at += 34) {
            float d = f16(w, at);
            for (int j = 0; j < 32; j += BL) {
                ByteVector q = bytes(w, at + 2 + j);
                for (int p = 0; p < PARTS; p++) {
                    toFloats(q, p).mul(d).intoArray(out, o + b + j + p * L);
                }
            }
        }
    }

    // block_q4_0 (18 bytes): f16 d, u8 qs[16]; low nibbles are values 0..15, high nibbles 16..31; y = (q - 8) * d
    private static void q4_0(MemorySegment w, long at, int n, float[] out, int o) {
        for (int b = 0; b < n; b += 32, at += 18) {
            float d = f16(w, at);
            for (int j = 0; j < 16; j += BL) {
                ByteVector q = bytes(w, at + 2 + j);
                for (int p = 0; p < PARTS; p++) {
                    lowNibbleValues(q, p).mul(d).intoArray(out, o + b + j + p * L);
                    highNibbleValues(q, p).mul(d).intoArray(out, o + b + 16 + j + p * L);
                }
            }
        }
    }

    // block_q4_1 (20 bytes): f16 d, f16 m, u8 qs[16]; y = q * d + m
    private static void q4_1(MemorySegment w, long at, int n, float[] out, int o) {
        for (int b = 0; b < n; b += 32, at += 20) {
            float d = f16(w, at);
            float m = f16(w, at + 2);
            for (int j = 0; j < 16; j += BL) {
                ByteVector q = bytes(w, at + 4 + j);
                for (int p = 0; p < PARTS; p++) {
                    q4_1Low(q, p, d, m).intoArray(out, o + b + j + p * L);
                    q4_1High(q, p, d, m).intoArray(out, o + b + 16 + j + p * L);
                }
            }
        }
    }

    /**
     * Part p of a Q4_1 block's low nibbles (its values from 0) as floats {@code q * d + m}: the one
     * decoding every float-path product uses, {@link FusedRowDot} in registers too, so that they
     * agree to the bit.
     */
    static FloatVector q4_1Low(ByteVector q, int p, float d, float m) {
        return lowNibbleFloats(q, p).mul(d).add(m);
    }

    /** Part p of a Q4_1 block's high nibbles (its values from 16) as floats, as {@link #q4_1Low}. */
    static FloatVector q4_1High(ByteVector q, int p, float d, float m) {
        return highNibbleFloats(q, p).mul(d).add(m);
    }

    /**
     * A Q4_1 row split into its two parts, for products whose activations carry their own block
     * sums (Q8_1): out[o + i] = q_i * d of value i, then out[o + cols + b] = m of block b. So a dot
     * with an activation row laid out as [values..., block sums...] is sum(q * d * x) + sum(m * s).
     */
    static void q4_1ScaledThenOffsets(MemorySegment w, long at, int cols, float[] out, int o) {
        for (int b = 0; b < cols; b += 32, at += 20) {
            float d = f16(w, at);
            out[o + cols + b / 32] = f16(w, at + 2);
            for (int j = 0; j < 16; j += BL) {
                ByteVector q = bytes(w, at + 4 + j);
                for (int p = 0; p < PARTS; p++) {
                    lowNibbleFloats(q, p).mul(d).intoArray(out, o + b + j + p * L);
                    highNibbleFloats(q, p).mul(d).intoArray(out, o + b + 16 + j + p * L);
                }
            }
        }
    }

    /**
     * A Q5_1 row split as {@link #q4_1ScaledThenOffsets} splits Q4_1's: out[o + i] = q_i * d, then
     * out[o + cols + b] = m of block b.
     */
    static void q5_1ScaledThenOffsets(MemorySegment w, long at, int cols, float[] out, int o) {
        for (int b = 0; b < cols; b += 32, at += 24) {
            float d = f16(w, at);
            out[o + cols + b / 32] = f16(w, at + 2);
            fiveBitCodes(w, at + 4, out, o + b);
            for (int j = 0; j < 32; j++) {
                out[o + b + j] *= d;
            }
        }
    }

    /**
     * The 32 codes (0..31) of a Q5_0 or Q5_1 block as floats, from its u8 qh[4] at byte {@code
     * qhAt} and u8 qs[16] after it: code j has the low nibble of qs[j] (j < 16) or the high one of
     * qs[j - 16], and bit j of qh above it.
     */
    static void fiveBitCodes(MemorySegment w, long qhAt, float[] out, int o) {
        int qh = w.get(Simd.INT_LE, qhAt);
        for (int j = 0; j < 16; j++) {
            int q = w.get(java.lang.foreign.ValueLayout.JAVA_BYTE, qhAt + 4 + j) & 0xFF;
            out[o + j] = q & 0xF | (qh >>> j & 1) << 4;
            out[o + j + 16] = q >>> 4 | (qh >>> (j + 16) & 1) << 4;
        }
    }

    // block_q4_K (144 bytes): f16 d, f16 dmin, u8 scales[12], u8 qs[128]. Each 32-byte chunk of qs
    // holds two sub-blocks of 32: low nibbles, then high nibbles; y = (d * sc) * q - (dmin * m)
    private static void q4_K(MemorySegment w, long at, int n, float[] out, int o) {
        for (int b = 0; b < n; b += 256, at += 144) {
            float d = f16(w, at);
            float dmin = f16(w, at + 2);
            for (int k = 0; k < 4; k++) {
                float d1 = d * Simd.scaleMinK4(w, at + 4, 2 * k, 0);
                float m1 = dmin * Simd.scaleMinK4(w, at + 4, 2 * k, 1);
                float d2 = d * Simd.scaleMinK4(w, at + 4, 2 * k + 1, 0);
                float m2 = dmin * Simd.scaleMinK4(w, at + 4, 2 * k + 1, 1);
                int y = o + b + 64 * k;
                for (int j = 0; j < 32; j += BL) {
                    ByteVector q = bytes(w, at + 16 + 32 * k + j);
                    for (int p = 0; p < PARTS; p++) {
                        lowNibbleFloats(q, p).mul(d1).sub(m1).intoArray(out, y + j + p * L);
                        highNibbleFloats(q, p).mul(d2).sub(m2).intoArray(out, y + 32 + j + p * L);
                    }
                }
            }
        }
    }

    // block_q6_K (210 bytes): u8 ql[128], u8 qh[64], i8 scales[16], f16 d; see Simd.q6 for the bit
    // layout. y = (d * scale) * q, one scale per 16 values
    private static void q6_K(MemorySegment w, long at, int n, float[] out, int o) {
        for (int b = 0; b < n; b += 256, at += 210) {
            float d = f16(w, at + 208);
            for (int h = 0; h < 2; h++) {
                long ql = at + 64 * h;
                long qh = at + 128 + 32 * h;
                long sc = at + 192 + 8 * h;
                int y = o + b + 128 * h;
                for (int l = 0; l < 32; l += BL) {
                    int is = l / 16;
                    ByteVector a = bytes(w, ql + l);
                    ByteVector c = bytes(w, ql + 32 + l);
                    ByteVector hb = bytes(w, qh + l);
                    scaled(Simd.q6(a, hb, 0), d * Simd.s8(w, sc + is), out, y + l);
                    scaled(Simd.q6(c, hb, 1), d * Simd.s8(w, sc + is + 2), out, y + 32 + l);
                    scaled(Simd.q6(a, hb, 2), d * Simd.s8(w, sc + is + 4), out, y + 64 + l);
                    scaled(Simd.q6(c, hb, 3), d * Simd.s8(w, sc + is + 6), out, y + 96 + l);
                }
            }
        }
    }

    private static void scaled(ByteVector q, float scale, float[] out, int o) {
        for (int p = 0; p < PARTS; p++) {
            toFloats(q, p).mul(scale).intoArray(out, o + p * L);
        }
    }
}
