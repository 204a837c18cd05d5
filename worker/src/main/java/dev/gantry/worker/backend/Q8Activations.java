package dev.gantry.worker.backend;

import dev.gantry.worker.quant.GgmlType;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Activation rows quantized to ggml's 8-bit blocks, and the integer dot products llama.cpp takes
 * between them and a quantized weight row: the plain scalar statement of {@link
 * ActivationPrecision#Q8}, used by {@link ReferenceBackend} and the truth faster kernels are
 * tested against.
 *
 * <p>Quantization follows ggml's x86 code ({@code quantize_row_q8_1} in {@code
 * ggml-cpu/arch/x86/quants.c}), which is what llama.cpp runs on the machines this worker serves
 * from; ggml's portable C version rounds ties away from zero instead of to even. Per block of 32
 * values: {@code amax = max|x|}, {@code d = amax / 127}, {@code q = rint(x * (127 / amax))} in
 * float arithmetic, then {@code d} is stored as f16 and so is {@code s = d * sum(q)} (the Q8_1
 * block sum, computed from the float {@code d} before its rounding). The Q8_0 blocks llama.cpp
 * uses for Q4_0 and Q8_0 weights are the same without {@code s}.
 *
 * <p>The dot product of a weight row with an activation row then sums, block by block, {@code
 * (d_w * d_x) * sum(q_w * q_x)} (the scale product rounded to float, the integer sum exact), plus
 * {@code m_w * s_x} for Q4_1 and Q5_1, whose values are {@code q * d + m}.
 */
public final class Q8Activations {
    /** Values per block, for activations and for the weight types they meet. */
    public static final int BLOCK = 32;

    private static final ValueLayout.OfShort SHORT_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt INT_LE = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final int rows;
    private final int cols;
    private final byte[] q;   // [rows][cols]
    private final float[] d;  // [rows][cols / BLOCK] the block scale, f16-rounded
    private final float[] s;  // [rows][cols / BLOCK] d * sum(q) of the block, f16-rounded

    private Q8Activations(int rows, int cols) {
        this.rows = rows;
        this.cols = cols;
        this.q = new byte[rows * cols];
        this.d = new float[rows * cols / BLOCK];
        this.s = new float[rows * cols / BLOCK];
    }

    /** Quantizes {@code rows} rows of {@code cols} values (a multiple of {@link #BLOCK}) of x: [rows][cols]. */
    public static Q8Activations quantize(float[] x, int rows, int cols) {
        if (cols % BLOCK != 0) {
            throw new IllegalArgumentException("rows of " + cols + " values are not whole blocks of " + BLOCK);
        }
        Q8Activations a = new Q8Activations(rows, cols);
        for (int b = 0; b < rows * cols / BLOCK; b++) {
            a.quantizeBlock(x, b);
        }
        return a;
    }

    private void quantizeBlock(float[] x, int b) {
        int at = b * BLOCK;
        float amax = 0;
        for (int j = 0; j < BLOCK; j++) {
            amax = Math.max(amax, Math.abs(x[at + j]));
        }
        float scale = amax / 127f;
        float inverse = inverseScale(amax);
        int sum = 0;
        for (int j = 0; j < BLOCK; j++) {
            int v = (int) Math.rint(x[at + j] * inverse);
            q[at + j] = (byte) v;
            sum += v;
        }
        d[b] = roundToF16(scale);
        s[b] = roundToF16(scale * sum);
    }

    /**
     * {@code 127 / amax}, the factor taking a block's values to -127..127; 0 for an all-zero block,
     * as in ggml. Below about 4e-37, where ggml's factor overflows to infinity and its integers
     * come out of an overflowed conversion, this gives 0 too: such a block adds nothing either way
     * (its f16 scale is 0).
     */
    public static float inverseScale(float amax) {
        float inverse = amax != 0 ? 127f / amax : 0f;
        return Float.isInfinite(inverse) ? 0f : inverse;
    }

    /** The float nearest to v that f16 can hold (round to nearest even, as F16C's conversion). */
    public static float roundToF16(float v) {
        return Float.float16ToFloat(Float.floatToFloat16(v));
    }

    public int rows() {
        return rows;
    }

    public int cols() {
        return cols;
    }

    /** Quantized value i (-127..127) of a row. */
    public int value(int row, int i) {
        return q[row * cols + i];
    }

    /** The f16 scale of a block of a row. */
    public float scale(int row, int block) {
        return d[row * cols / BLOCK + block];
    }

    /** The f16 {@code d * sum(q)} of a block of a row (Q8_1's {@code s}). */
    public float blockSum(int row, int block) {
        return s[row * cols / BLOCK + block];
    }

    /**
     * The dot product of weight row {@code wRow} (Q4_0, Q4_1, Q5_0, Q5_1 or Q8_0) with activation
     * row {@code xRow}, as llama.cpp's {@code ggml_vec_dot_q4_0_q8_0}, {@code
     * ggml_vec_dot_q4_1_q8_1}, {@code ggml_vec_dot_q5_0_q8_0}, {@code ggml_vec_dot_q5_1_q8_1} and
     * {@code ggml_vec_dot_q8_0_q8_0} compute it, accumulated in double.
     */
    public double dot(Weight w, int wRow, int xRow) {
        if (w.cols() != cols) {
            throw new IllegalArgumentException(w.name() + " has " + w.cols() + " columns, the activations " + cols);
        }
        MemorySegment m = w.data();
        long at = wRow * w.rowBytes();
        int x = xRow * cols;
        double acc = 0;
        for (int b = 0; b < cols / BLOCK; b++, x += BLOCK, at += w.type().typeSize) {
            float dw = Float.float16ToFloat(m.get(SHORT_LE, at));
            float dx = scale(xRow, b);
            int isum = 0;
            switch (w.type()) {
                case Q8_0 -> { // f16 d, i8 qs[32]
                    for (int j = 0; j < BLOCK; j++) {
                        isum += m.get(ValueLayout.JAVA_BYTE, at + 2 + j) * q[x + j];
                    }
                }
                case Q4_0 -> { // f16 d, u8 qs[16]: value j is the low nibble of qs[j], value 16 + j the high one, minus 8
                    for (int j = 0; j < 16; j++) {
                        int packed = m.get(ValueLayout.JAVA_BYTE, at + 2 + j) & 0xFF;
                        isum += ((packed & 0x0F) - 8) * q[x + j] + ((packed >>> 4) - 8) * q[x + 16 + j];
                    }
                }
                case Q4_1 -> { // f16 d, f16 m, u8 qs[16]: values q * d + m
                    for (int j = 0; j < 16; j++) {
                        int packed = m.get(ValueLayout.JAVA_BYTE, at + 4 + j) & 0xFF;
                        isum += (packed & 0x0F) * q[x + j] + (packed >>> 4) * q[x + 16 + j];
                    }
                    acc += Float.float16ToFloat(m.get(SHORT_LE, at + 2)) * blockSum(xRow, b);
                }
                case Q5_0 -> { // f16 d, u8 qh[4], u8 qs[16]: Q4_0's nibbles with a fifth bit each, minus 16
                    int qh = m.get(INT_LE, at + 2);
                    for (int j = 0; j < 16; j++) {
                        int packed = m.get(ValueLayout.JAVA_BYTE, at + 6 + j) & 0xFF;
                        isum += ((packed & 0x0F | (qh >>> j & 1) << 4) - 16) * q[x + j]
                                + ((packed >>> 4 | (qh >>> (j + 16) & 1) << 4) - 16) * q[x + 16 + j];
                    }
                }
                case Q5_1 -> { // f16 d, f16 m, u8 qh[4], u8 qs[16]: values q * d + m
                    int qh = m.get(INT_LE, at + 4);
                    for (int j = 0; j < 16; j++) {
                        int packed = m.get(ValueLayout.JAVA_BYTE, at + 8 + j) & 0xFF;
                        isum += (packed & 0x0F | (qh >>> j & 1) << 4) * q[x + j]
                                + (packed >>> 4 | (qh >>> (j + 16) & 1) << 4) * q[x + 16 + j];
                    }
                    acc += Float.float16ToFloat(m.get(SHORT_LE, at + 2)) * blockSum(xRow, b);
                }
                default -> throw new IllegalArgumentException("no 8-bit activation dot product for " + w.type());
            }
            acc += (double) (dw * dx) * isum;
        }
        return acc;
    }

    /** Whether {@link #dot} takes weights of this type. */
    public static boolean supports(GgmlType type) {
        return type == GgmlType.Q4_0 || type == GgmlType.Q4_1 || type == GgmlType.Q8_0 || type == GgmlType.Q5_0
                || type == GgmlType.Q5_1;
    }
}
