package dev.gantry.worker.quant;

/**
 * Encodes float values into ggml's block formats (the inverse of {@link Dequant}), so that
 * generated weights can be written as real F16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K and Q6_K tensors that llama.cpp and
 * this worker both read.
 *
 * <p>Q8_0, Q4_0, Q4_1, Q5_0 and Q5_1 follow ggml's reference rounding rules (so a file written here holds the codes
 * llama.cpp's own quantizer would pick for the same floats, up to float rounding of the scale).
 * Q4_K and Q5_K use a simpler rule than ggml's iterative fit: every scale and minimum is rounded
 * <em>outwards</em>, so each sub-block's grid covers all its values and no value is clipped; the
 * error of every value is then at most half a step of its sub-block. That is slightly less
 * accurate on average than ggml's least-squares search, which does not matter for what the
 * quantizer is for (benchmark files and tests), and the bound is something a test can check.
 * Q6_K likewise picks each 16-value group's scale from its largest magnitude instead of ggml's
 * search.
 */
public final class Quantize {
    private Quantize() {}

    /** Whether values can be encoded in {@code type} by {@link #values}. */
    public static boolean supports(GgmlType type) {
        return switch (type) {
            case F32, F16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K, Q6_K -> true;
            default -> false;
        };
    }

    /**
     * Encodes {@code n} values (a multiple of the block size) of {@code x} from {@code off} into
     * {@code dst} from byte {@code dstOff}, writing {@code type.byteSize(n)} bytes.
     */
    public static void values(GgmlType type, float[] x, int off, int n, byte[] dst, int dstOff) {
        if (n % type.blockSize != 0) {
            throw new IllegalArgumentException(n + " values are not whole blocks of " + type);
        }
        int at = dstOff;
        for (int i = 0; i < n; i += type.blockSize, at += type.typeSize) {
            switch (type) {
                case F32 -> putF32(dst, at, x[off + i]);
                case F16 -> putU16(dst, at, Float.floatToFloat16(x[off + i]));
                case Q8_0 -> q8_0(x, off + i, dst, at);
                case Q4_0 -> q4_0(x, off + i, dst, at);
                case Q5_0 -> q5_0(x, off + i, dst, at);
                case Q4_1 -> withOffset(x, off + i, dst, at, 15);
                case Q5_1 -> withOffset(x, off + i, dst, at, 31);
                case Q4_K -> q4k(x, off + i, dst, at);
                case Q5_K -> q5k(x, off + i, dst, at);
                case Q6_K -> q6k(x, off + i, dst, at);
                default -> throw new IllegalArgumentException("no quantizer for " + type);
            }
        }
    }

    // block_q8_0: f16 d, i8 qs[32]; d = max|x| / 127, q = x / d rounded half away from zero
    private static void q8_0(float[] x, int o, byte[] dst, int at) {
        float amax = 0;
        for (int j = 0; j < 32; j++) {
            amax = Math.max(amax, Math.abs(x[o + j]));
        }
        float d = amax / 127;
        float id = d != 0 ? 1 / d : 0;
        putU16(dst, at, Float.floatToFloat16(d));
        for (int j = 0; j < 32; j++) {
            dst[at + 2 + j] = (byte) roundAway(x[o + j] * id);
        }
    }

    // block_q4_0: f16 d, u8 qs[16]; value j in the low nibble of byte j, value j+16 in its high
    // nibble. d = (the value of largest magnitude, sign kept) / -8, so that value maps to code 0
    // exactly and the opposite extreme to 15 (clipped: the grid is one step short on that side).
    private static void q4_0(float[] x, int o, byte[] dst, int at) {
        float d = signedMax(x, o) / -8;
        float id = d != 0 ? 1 / d : 0;
        putU16(dst, at, Float.floatToFloat16(d));
        for (int j = 0; j < 16; j++) {
            int lo = Math.min(15, (int) (x[o + j] * id + 8.5f));
            int hi = Math.min(15, (int) (x[o + j + 16] * id + 8.5f));
            dst[at + 2 + j] = (byte) (lo | (hi << 4));
        }
    }

    // block_q5_0: f16 d, u8 qh[4], u8 qs[16]: Q4_0's nibbles with a fifth bit each in qh (bit j
    // for value j). d = (the value of largest magnitude, sign kept) / -16, codes 0..31 for q - 16.
    private static void q5_0(float[] x, int o, byte[] dst, int at) {
        float d = signedMax(x, o) / -16;
        float id = d != 0 ? 1 / d : 0;
        putU16(dst, at, Float.floatToFloat16(d));
        int[] codes = new int[32];
        for (int j = 0; j < 32; j++) {
            codes[j] = Math.min(31, (int) (x[o + j] * id + 16.5f));
        }
        putFiveBitCodes(codes, dst, at + 2);
    }

    // block_q4_1: f16 d, f16 m, u8 qs[16]; block_q5_1: f16 d, f16 m, u8 qh[4], u8 qs[16]. Values
    // q * d + m, m the block's minimum and d its range over the levels (15 or 31) steps.
    private static void withOffset(float[] x, int o, byte[] dst, int at, int levels) {
        float min = Float.MAX_VALUE;
        float max = -Float.MAX_VALUE;
        for (int j = 0; j < 32; j++) {
            min = Math.min(min, x[o + j]);
            max = Math.max(max, x[o + j]);
        }
        float d = (max - min) / levels;
        float id = d != 0 ? 1 / d : 0;
        putU16(dst, at, Float.floatToFloat16(d));
        putU16(dst, at + 2, Float.floatToFloat16(min));
        int[] codes = new int[32];
        for (int j = 0; j < 32; j++) {
            codes[j] = Math.min(levels, (int) ((x[o + j] - min) * id + 0.5f));
        }
        if (levels == 31) {
            putFiveBitCodes(codes, dst, at + 4);
        } else {
            for (int j = 0; j < 16; j++) {
                dst[at + 4 + j] = (byte) (codes[j] | codes[j + 16] << 4);
            }
        }
    }

    /** The value of largest magnitude, sign kept, of the 32 at x[o..] (the first of equals). */
    private static float signedMax(float[] x, int o) {
        float amax = 0;
        float max = 0;
        for (int j = 0; j < 32; j++) {
            float v = x[o + j];
            if (Math.abs(v) > amax) {
                amax = Math.abs(v);
                max = v;
            }
        }
        return max;
    }

    /** 32 five-bit codes as qh[4] (bit j: bit 4 of code j) then qs[16] (codes j, j + 16 in byte j). */
    private static void putFiveBitCodes(int[] codes, byte[] dst, int at) {
        int qh = 0;
        for (int j = 0; j < 16; j++) {
            dst[at + 4 + j] = (byte) ((codes[j] & 0xF) | (codes[j + 16] & 0xF) << 4);
            qh |= (codes[j] >>> 4) << j | (codes[j + 16] >>> 4) << (j + 16);
        }
        for (int i = 0; i < 4; i++) {
            dst[at + i] = (byte) (qh >>> (8 * i));
        }
    }

    /** A K-quant block's scales: sub-block s (32 values) decodes as d * sc[s] * q - offset[s], offset[s] = dmin * m[s]. */
    private record KScales(short dBits, short dminBits, float d, int[] sc, int[] m, float[] offset) {}

    /** Scales, mins and offsets for a block of 256 values whose codes take {@code levels + 1} steps (15: 4 bits, 31: 5). */
    private static KScales kScales(float[] x, int o, int levels) {
        float[] lift = new float[8]; // -min(0, min x) per sub-block: what the offset must reach
        float[] top = new float[8];  // max(0, max x) per sub-block
        float maxLift = 0;
        for (int s = 0; s < 8; s++) {
            float lo = 0;
            float hi = 0;
            for (int j = 0; j < 32; j++) {
                lo = Math.min(lo, x[o + 32 * s + j]);
                hi = Math.max(hi, x[o + 32 * s + j]);
            }
            lift[s] = -lo;
            top[s] = hi;
            maxLift = Math.max(maxLift, lift[s]);
        }
        // Round the offsets up first, then size each step so that offset + top fits the levels.
        short dminBits = f16AtLeast(maxLift / 63);
        float dmin = Float.float16ToFloat(dminBits);
        int[] m = new int[8];
        float[] offset = new float[8];
        float[] need = new float[8];
        float maxNeed = 0;
        for (int s = 0; s < 8; s++) {
            m[s] = dmin == 0 ? 0 : Math.min(63, (int) Math.ceil(lift[s] / dmin));
            offset[s] = dmin * m[s];
            need[s] = (top[s] + offset[s]) / levels;
            maxNeed = Math.max(maxNeed, need[s]);
        }
        short dBits = f16AtLeast(maxNeed / 63);
        float d = Float.float16ToFloat(dBits);
        int[] sc = new int[8];
        for (int s = 0; s < 8; s++) {
            sc[s] = d == 0 ? 0 : Math.min(63, (int) Math.ceil(need[s] / d));
        }
        return new KScales(dBits, dminBits, d, sc, m, offset);
    }

    // block_q4_K: f16 d, f16 dmin, u8 scales[12], u8 qs[128]. Sub-block s (32 values) decodes as
    // d * sc[s] * q - dmin * m[s], with 6-bit sc and m and 4-bit q.
    private static void q4k(float[] x, int o, byte[] dst, int at) {
        KScales k = kScales(x, o, 15);
        putU16(dst, at, k.dBits);
        putU16(dst, at + 2, k.dminBits);
        packScales(k.sc, k.m, dst, at + 4);
        for (int pair = 0; pair < 4; pair++) {
            for (int l = 0; l < 32; l++) {
                int lo = code(x[o + 64 * pair + l], k.d * k.sc[2 * pair], k.offset[2 * pair], 15);
                int hi = code(x[o + 64 * pair + 32 + l], k.d * k.sc[2 * pair + 1], k.offset[2 * pair + 1], 15);
                dst[at + 16 + 32 * pair + l] = (byte) (lo | (hi << 4));
            }
        }
    }

    // block_q5_K: f16 d, f16 dmin, u8 scales[12], u8 qh[32], u8 qs[128]: Q4_K's layout with a
    // fifth bit per value, bit 2 * pair (low nibble) or 2 * pair + 1 (high) of qh[l].
    private static void q5k(float[] x, int o, byte[] dst, int at) {
        KScales k = kScales(x, o, 31);
        putU16(dst, at, k.dBits);
        putU16(dst, at + 2, k.dminBits);
        packScales(k.sc, k.m, dst, at + 4);
        java.util.Arrays.fill(dst, at + 16, at + 48, (byte) 0);
        for (int pair = 0; pair < 4; pair++) {
            for (int l = 0; l < 32; l++) {
                int lo = code(x[o + 64 * pair + l], k.d * k.sc[2 * pair], k.offset[2 * pair], 31);
                int hi = code(x[o + 64 * pair + 32 + l], k.d * k.sc[2 * pair + 1], k.offset[2 * pair + 1], 31);
                dst[at + 48 + 32 * pair + l] = (byte) ((lo & 0xF) | (hi & 0xF) << 4);
                dst[at + 16 + l] |= (byte) ((lo >>> 4) << (2 * pair) | (hi >>> 4) << (2 * pair + 1));
            }
        }
    }

    // block_q6_K: u8 ql[128], u8 qh[64], i8 scales[16], f16 d. Group g (16 values) decodes as
    // d * sc[g] * (q - 32) with 8-bit signed sc and 6-bit q; value 128h + 32k + l keeps its low 4
    // bits in ql[64h + l + 32 (k & 1)] (low nibble for k < 2, high for k >= 2) and its top 2 in bits
    // 2k, 2k + 1 of qh[32h + l].
    private static void q6k(float[] x, int o, byte[] dst, int at) {
        float[] step = new float[16]; // the step each group needs: max|x| / 31 (q - 32 reaches -32..31)
        float maxStep = 0;
        for (int g = 0; g < 16; g++) {
            float amax = 0;
            for (int j = 0; j < 16; j++) {
                amax = Math.max(amax, Math.abs(x[o + 16 * g + j]));
            }
            step[g] = amax / 31;
            maxStep = Math.max(maxStep, step[g]);
        }
        short dBits = f16AtLeast(maxStep / 127);
        float d = Float.float16ToFloat(dBits);
        java.util.Arrays.fill(dst, at, at + 210, (byte) 0);
        putU16(dst, at + 208, dBits);
        for (int g = 0; g < 16; g++) {
            int sc = d == 0 ? 0 : Math.min(127, (int) Math.ceil(step[g] / d));
            dst[at + 192 + g] = (byte) sc;
            float s = d * sc;
            for (int j = 0; j < 16; j++) {
                int i = 16 * g + j;
                int q = s == 0 ? 32 : Math.clamp(Math.round(x[o + i] / s) + 32, 0, 63);
                int h = i / 128;
                int k = i % 128 / 32;
                int l = i % 32;
                int ql = at + 64 * h + l + 32 * (k & 1);
                dst[ql] |= (byte) (k < 2 ? q & 0x0F : (q & 0x0F) << 4);
                dst[at + 128 + 32 * h + l] |= (byte) ((q >>> 4) << (2 * k));
            }
        }
    }

    private static int code(float v, float step, float offset, int levels) {
        if (step == 0) {
            return 0;
        }
        return Math.clamp(Math.round((v + offset) / step), 0, levels);
    }

    /**
     * The 12 bytes that {@link Dequant#scaleMinK4} unpacks: bytes 0-3 hold sc[0..3] in their low 6
     * bits, bytes 4-7 m[0..3]; bytes 8-11 hold the low 4 bits of sc[4..7] and m[4..7], whose top 2
     * bits go in the spare top bits of bytes 0-3 and 4-7.
     */
    static void packScales(int[] sc, int[] m, byte[] dst, int at) {
        for (int j = 0; j < 4; j++) {
            dst[at + j] = (byte) (sc[j] | ((sc[j + 4] >>> 4) << 6));
            dst[at + j + 4] = (byte) (m[j] | ((m[j + 4] >>> 4) << 6));
            dst[at + j + 8] = (byte) ((sc[j + 4] & 0xF) | ((m[j + 4] & 0xF) << 4));
        }
    }

    /** The f16 nearest to {@code v >= 0} that is not below it, so a scale never shrinks when stored. */
    static short f16AtLeast(float v) {
        short h = Float.floatToFloat16(v);
        if (Float.float16ToFloat(h) < v) {
            h++; // positive f16 bit patterns grow with their value
        }
        return h;
    }

    /** C's roundf: halves away from zero (Math.round rounds them up). */
    private static int roundAway(float v) {
        // Math.round, unlike floor(v + 0.5f), is exact for values just below a half.
        return v >= 0 ? Math.round(v) : -Math.round(-v);
    }

    private static void putU16(byte[] dst, int at, short v) {
        dst[at] = (byte) v;
        dst[at + 1] = (byte) (v >>> 8);
    }

    private static void putF32(byte[] dst, int at, float v) {
        int b = Float.floatToRawIntBits(v);
        for (int i = 0; i < 4; i++) {
            dst[at + i] = (byte) (b >>> (8 * i));
        }
    }
}
