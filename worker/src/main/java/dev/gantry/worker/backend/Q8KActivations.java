package dev.gantry.worker.backend;

import dev.gantry.worker.quant.GgmlType;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Activation rows quantized to ggml's Q8_K blocks (256 values, a float scale, the sums of each 16
 * values), and the integer dot products llama.cpp takes between them and Q4_K, Q5_K or Q6_K weight rows:
 * the plain scalar statement of {@link ActivationPrecision#Q8} for the K-quants, as {@link
 * Q8Activations} is for the 32-value block types.
 *
 * <p>Quantization is ggml's {@code quantize_row_q8_K_ref}, which its x86 build also runs: per
 * block, {@code max} is the value of largest magnitude (the first one), {@code iscale = -127 /
 * max}, {@code q = min(127, rint(iscale * x))} and {@code d = 1 / iscale} (a float, negative when
 * max is positive); an all-zero block is all zeros.
 *
 * <p>Dot products, per 256-value block, with integers summed exactly:
 * <ul>
 *   <li>Q4_K and Q5_K ({@code w = d * sc * q - dmin * m} per 32 values, q of 4 or 5 bits): {@code (d_x * d) * sum(sc *
 *       sum(q * q_x)) - (d_x * dmin) * sum(m * sum(q_x))}, the activation sums from the 16-value
 *       block sums.
 *   <li>Q6_K ({@code w = d * sc * (q - 32)} per 16 values): {@code (d_x * d) * sum(sc * sum((q -
 *       32) * q_x))}.
 * </ul>
 */
public final class Q8KActivations {
    /** Values per block. */
    public static final int BLOCK = 256;

    private static final ValueLayout.OfShort SHORT_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final int cols;
    private final byte[] q;      // [rows][cols]
    private final float[] d;     // [rows][cols / 256]
    private final short[] sums;  // [rows][cols / 16] the sum of each 16 q

    private Q8KActivations(int rows, int cols) {
        this.cols = cols;
        this.q = new byte[rows * cols];
        this.d = new float[rows * cols / BLOCK];
        this.sums = new short[rows * cols / 16];
    }

    /** Quantizes {@code rows} rows of {@code cols} values (a multiple of 256) of x: [rows][cols]. */
    public static Q8KActivations quantize(float[] x, int rows, int cols) {
        if (cols % BLOCK != 0) {
            throw new IllegalArgumentException("rows of " + cols + " values are not whole blocks of " + BLOCK);
        }
        Q8KActivations a = new Q8KActivations(rows, cols);
        for (int b = 0; b < rows * cols / BLOCK; b++) {
            a.quantizeBlock(x, b);
        }
        return a;
    }

    private void quantizeBlock(float[] x, int b) {
        int at = b * BLOCK;
        float max = 0;
        float amax = 0;
        for (int j = 0; j < BLOCK; j++) {
            float ax = Math.abs(x[at + j]);
            if (ax > amax) {
                amax = ax;
                max = x[at + j];
            }
        }
        float iscale = inverseScale(amax, max);
        for (int j = 0; j < BLOCK; j++) {
            q[at + j] = (byte) Math.min(127, (int) Math.rint(iscale * x[at + j]));
        }
        for (int g = 0; g < BLOCK / 16; g++) {
            int sum = 0;
            for (int j = 0; j < 16; j++) {
                sum += q[at + g * 16 + j];
            }
            sums[b * (BLOCK / 16) + g] = (short) sum;
        }
        d[b] = iscale != 0 ? 1 / iscale : 0;
    }

    /**
     * {@code -127 / max}, the factor taking a block to -127..127 (max: its value of largest
     * magnitude, amax that magnitude); 0 for an all-zero block, and for blocks so small (below
     * about 4e-37) that the factor overflows, where ggml's integers would come out of an overflowed
     * conversion: such a block adds nothing.
     */
    public static float inverseScale(float amax, float max) {
        float iscale = amax != 0 ? -127f / max : 0f;
        return Float.isInfinite(iscale) ? 0f : iscale;
    }

    /** Quantized value i (-127..127) of a row. */
    public int value(int row, int i) {
        return q[row * cols + i];
    }

    /** The scale of a block of a row. */
    public float scale(int row, int block) {
        return d[row * cols / BLOCK + block];
    }

    /** The sum of the 16 quantized values of group g (of cols / 16) of a row. */
    public int groupSum(int row, int g) {
        return sums[row * cols / 16 + g];
    }

    /**
     * The dot product of weight row {@code wRow} (Q4_K, Q5_K or Q6_K) with activation row {@code
     * xRow}, as llama.cpp's {@code ggml_vec_dot_q4_K_q8_K}, {@code ggml_vec_dot_q5_K_q8_K} and {@code
     * ggml_vec_dot_q6_K_q8_K} compute it,
     * accumulated in double.
     */
    public double dot(Weight w, int wRow, int xRow) {
        if (w.cols() != cols) {
            throw new IllegalArgumentException(w.name() + " has " + w.cols() + " columns, the activations " + cols);
        }
        MemorySegment m = w.data();
        long at = wRow * w.rowBytes();
        double acc = 0;
        for (int b = 0; b < cols / BLOCK; b++, at += w.type().typeSize) {
            int x = xRow * cols + b * BLOCK;
            float dx = scale(xRow, b);
            switch (w.type()) {
                case Q4_K, Q5_K -> { // f16 d, f16 dmin, u8 scales[12], (Q5_K: u8 qh[32],) u8 qs[128]
                    boolean five = w.type() == GgmlType.Q5_K;
                    float dw = Float.float16ToFloat(m.get(SHORT_LE, at));
                    float dmin = Float.float16ToFloat(m.get(SHORT_LE, at + 2));
                    long qs = at + (five ? 48 : 16);
                    long isum = 0;
                    long msum = 0;
                    for (int s = 0; s < 8; s++) {
                        int sc = scaleMinK4(m, at + 4, s, false);
                        int mn = scaleMinK4(m, at + 4, s, true);
                        long sub = 0;
                        for (int l = 0; l < 32; l++) {
                            int packed = m.get(ValueLayout.JAVA_BYTE, qs + 32L * (s / 2) + l) & 0xFF;
                            // Q5_K's fifth bit of the value: bit s of qh[l]
                            int high = five ? (m.get(ValueLayout.JAVA_BYTE, at + 16 + l) & 0xFF) >>> s & 1 : 0;
                            int v = (s % 2 == 0 ? packed & 0x0F : packed >>> 4) | high << 4;
                            sub += (long) v * q[x + 32 * s + l];
                        }
                        isum += sc * sub;
                        msum += (long) mn * (groupSum(xRow, b * 16 + 2 * s) + groupSum(xRow, b * 16 + 2 * s + 1));
                    }
                    acc += (double) (dx * dw) * isum - (double) (dx * dmin) * msum;
                }
                case Q6_K -> { // u8 ql[128], u8 qh[64], i8 scales[16], f16 d
                    float dw = Float.float16ToFloat(m.get(SHORT_LE, at + 208));
                    long isum = 0;
                    for (int i = 0; i < BLOCK; i++) {
                        int sc = m.get(ValueLayout.JAVA_BYTE, at + 192 + i / 16);
                        isum += (long) sc * (q6(m, at, i) - 32) * q[x + i];
                    }
                    acc += (double) (dx * dw) * isum;
                }
                default -> throw new IllegalArgumentException("no Q8_K dot product for " + w.type());
            }
        }
        return acc;
    }

    /** ggml's get_scale_min_k4: the 6-bit scale (or min) of sub-block s (0..7) from a Q4_K block's 12 scale bytes. */
    private static int scaleMinK4(MemorySegment m, long scales, int s, boolean min) {
        int off = min ? 4 : 0;
        if (s < 4) {
            return m.get(ValueLayout.JAVA_BYTE, scales + s + off) & 63;
        }
        int low = m.get(ValueLayout.JAVA_BYTE, scales + s + 4) & 0xFF;
        int high = (m.get(ValueLayout.JAVA_BYTE, scales + s - 4 + off) & 0xFF) >>> 6;
        return (min ? low >>> 4 : low & 0x0F) | high << 4;
    }

    /** The stored six-bit value (0..63) i of the Q6_K block at byte {@code at}. */
    private static int q6(MemorySegment m, long at, int i) {
        int half = i / 128;
        int k = i % 128 / 32;
        int l = i % 32;
        int ql = m.get(ValueLayout.JAVA_BYTE, at + 64L * half + l + 32L * (k & 1)) & 0xFF;
        int qh = m.get(ValueLayout.JAVA_BYTE, at + 128 + 32L * half + l) & 0xFF;
        int low = k < 2 ? ql & 0x0F : ql >>> 4;
        return low | (qh >>> (2 * k) & 3) << 4;
    }

    /** Whether {@link #dot} takes weights of this type. */
    public static boolean supports(GgmlType type) {
        return type == GgmlType.Q4_K || type == GgmlType.Q5_K || type == GgmlType.Q6_K;
    }
}
