package dev.gantry.worker.quant;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Scalar dequantization of every supported {@link GgmlType}, block by block, written to follow
 * ggml's block layouts literally. This is the reference the fast kernels are tested against, so
 * it favours plainness over speed.
 */
public final class Dequant {
    private static final ValueLayout.OfShort F16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private Dequant() {}

    /** Dequantizes {@code n} values (a multiple of the block size) starting at byte {@code at}. */
    public static void values(GgmlType type, MemorySegment src, long at, int n, float[] out, int outOff) {
        for (int i = 0; i < n; i += type.blockSize) {
            block(type, src, at + type.byteSize(i), out, outOff + i);
        }
    }

    /** Dequantizes row {@code row} of a row-major tensor with {@code cols} values per row. */
    public static void row(GgmlType type, MemorySegment src, int row, int cols, float[] out, int outOff) {
        values(type, src, row * type.byteSize(cols), cols, out, outOff);
    }

    /** Dequantizes the one block (blockSize values) at byte {@code at} into {@code out[outOff..]}. */
    public static void block(GgmlType type, MemorySegment src, long at, float[] y, int o) {
        switch (type) {
            case F32 -> y[o] = src.get(F32, at);
            case F16 -> y[o] = f16(src, at);
            case BF16 -> y[o] = Float.intBitsToFloat((src.get(F16, at) & 0xffff) << 16);
            case Q8_0 -> {
                float d = f16(src, at);
                for (int j = 0; j < 32; j++) {
                    y[o + j] = d * src.get(ValueLayout.JAVA_BYTE, at + 2 + j);
                }
            }
            case Q4_0 -> {
                float d = f16(src, at);
                for (int j = 0; j < 16; j++) {
                    int q = u8(src, at + 2 + j);
                    y[o + j] = ((q & 0xF) - 8) * d;
                    y[o + j + 16] = ((q >>> 4) - 8) * d;
                }
            }
            case Q4_1 -> {
                float d = f16(src, at);
                float m = f16(src, at + 2);
                for (int j = 0; j < 16; j++) {
                    int q = u8(src, at + 4 + j);
                    y[o + j] = (q & 0xF) * d + m;
                    y[o + j + 16] = (q >>> 4) * d + m;
                }
            }
            case Q5_0 -> { // f16 d, u8 qh[4] (bit j: the fifth bit of value j), u8 qs[16] as Q4_0's
                float d = f16(src, at);
                int qh = src.get(U32, at + 2);
                for (int j = 0; j < 16; j++) {
                    int q = u8(src, at + 6 + j);
                    y[o + j] = ((q & 0xF | (qh >>> j & 1) << 4) - 16) * d;
                    y[o + j + 16] = ((q >>> 4 | (qh >>> (j + 16) & 1) << 4) - 16) * d;
                }
            }
            case Q5_1 -> { // f16 d, f16 m, u8 qh[4], u8 qs[16]; values q * d + m
                float d = f16(src, at);
                float m = f16(src, at + 2);
                int qh = src.get(U32, at + 4);
                for (int j = 0; j < 16; j++) {
                    int q = u8(src, at + 8 + j);
                    y[o + j] = (q & 0xF | (qh >>> j & 1) << 4) * d + m;
                    y[o + j + 16] = (q >>> 4 | (qh >>> (j + 16) & 1) << 4) * d + m;
                }
            }
            case Q4_K -> kQuant(src, at, y, o, false);
            case Q5_K -> kQuant(src, at, y, o, true);
            case Q6_K -> q6k(src, at, y, o);
            default -> throw new IllegalArgumentException("no dequantization for " + type);
        }
    }

    // block_q4_K: f16 d, f16 dmin, u8 scales[12] (8 six-bit scales and 8 six-bit mins), u8 qs[128].
    // block_q5_K (five): f16 d, f16 dmin, u8 scales[12] (as Q4_K's), u8 qh[32], u8 qs[128]: value
    // 64j + l (l < 32) is the low nibble of qs[32j + l], with bit 2j of qh[l] above it for Q5_K;
    // value 64j + 32 + l the high nibble, with bit 2j + 1. y = (d * sc) * q - (dmin * m)
    private static void kQuant(MemorySegment src, long at, float[] y, int o, boolean five) {
        float d = f16(src, at);
        float dmin = f16(src, at + 2);
        long scales = at + 4;
        long qh = at + 16;
        long qs = five ? at + 48 : at + 16;
        int[] sm = new int[2];
        for (int j = 0, is = 0; j < 256; j += 64, is += 2) {
            scaleMinK4(is, src, scales, sm);
            float d1 = d * sm[0];
            float m1 = dmin * sm[1];
            scaleMinK4(is + 1, src, scales, sm);
            float d2 = d * sm[0];
            float m2 = dmin * sm[1];
            for (int l = 0; l < 32; l++) {
                int h = five ? u8(src, qh + l) >>> is : 0;
                y[o + j + l] = d1 * (u8(src, qs + l) & 0xF | (h & 1) << 4) - m1;
                y[o + j + 32 + l] = d2 * (u8(src, qs + l) >>> 4 | (h >>> 1 & 1) << 4) - m2;
            }
            qs += 32;
        }
    }

    /** ggml's get_scale_min_k4: the j-th (scale, min) pair of the 12 packed bytes at {@code q}. */
    static void scaleMinK4(int j, MemorySegment src, long q, int[] out) {
        if (j < 4) {
            out[0] = u8(src, q + j) & 63;
            out[1] = u8(src, q + j + 4) & 63;
        } else {
            out[0] = (u8(src, q + j + 4) & 0xF) | ((u8(src, q + j - 4) >>> 6) << 4);
            out[1] = (u8(src, q + j + 4) >>> 4) | ((u8(src, q + j) >>> 6) << 4);
        }
    }

    // block_q6_K: u8 ql[128] (low 4 bits), u8 qh[64] (high 2 bits), i8 scales[16], f16 d
    private static void q6k(MemorySegment src, long at, float[] y, int o) {
        long ql = at;
        long qh = at + 128;
        long sc = at + 192;
        float d = f16(src, at + 208);
        for (int n = 0; n < 256; n += 128) {
            for (int l = 0; l < 32; l++) {
                int is = l / 16;
                int h = u8(src, qh + l);
                int q1 = ((u8(src, ql + l) & 0xF) | ((h & 3) << 4)) - 32;
                int q2 = ((u8(src, ql + l + 32) & 0xF) | (((h >>> 2) & 3) << 4)) - 32;
                int q3 = ((u8(src, ql + l) >>> 4) | (((h >>> 4) & 3) << 4)) - 32;
                int q4 = ((u8(src, ql + l + 32) >>> 4) | (((h >>> 6) & 3) << 4)) - 32;
                y[o + n + l] = d * s8(src, sc + is) * q1;
                y[o + n + l + 32] = d * s8(src, sc + is + 2) * q2;
                y[o + n + l + 64] = d * s8(src, sc + is + 4) * q3;
                y[o + n + l + 96] = d * s8(src, sc + is + 6) * q4;
            }
            ql += 64;
            qh += 32;
            sc += 8;
        }
    }

    public static float f16(MemorySegment src, long at) {
        return Float.float16ToFloat(src.get(F16, at));
    }

    private static int u8(MemorySegment src, long at) {
        return src.get(ValueLayout.JAVA_BYTE, at) & 0xff;
    }

    private static int s8(MemorySegment src, long at) {
        return src.get(ValueLayout.JAVA_BYTE, at);
    }
}
