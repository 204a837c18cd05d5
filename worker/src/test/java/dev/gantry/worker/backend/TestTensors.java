package dev.gantry.worker.backend;

import dev.gantry.worker.quant.Dequant;
import dev.gantry.worker.quant.GgmlType;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Random;

/**
 * Random test inputs for backend tests: float activations, and weights of every supported type
 * as ggml lays them out in a GGUF file, built byte by byte in native memory (random quant bytes,
 * finite f16 scales of the magnitudes real models have), plus the float comparison the tests use.
 */
public final class TestTensors {
    private static final ValueLayout.OfShort SHORT =
            ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfFloat FLOAT =
            ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private TestTensors() {}

    /** n normal floats times {@code scale}. */
    public static float[] floats(Random rng, int n, float scale) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) rng.nextGaussian() * scale;
        }
        return a;
    }

    /**
     * A {@code rows x cols} weight of {@code type} with random valid contents. The data starts at
     * an odd address, as nothing guarantees a tensor or row inside a mapped file is aligned.
     */
    public static Weight weight(Arena arena, Random rng, GgmlType type, int rows, int cols, String name) {
        long bytes = type.byteSize(cols) * rows;
        MemorySegment data = arena.allocate(bytes + 1).asSlice(1, bytes);
        long blocks = bytes / type.typeSize;
        for (long b = 0; b < blocks; b++) {
            block(data, b * type.typeSize, type, rng);
        }
        return new Weight(name, type, rows, cols, data);
    }

    private static void block(MemorySegment m, long at, GgmlType type, Random rng) {
        switch (type) {
            case F32 -> m.set(FLOAT, at, (float) rng.nextGaussian());
            case F16 -> m.set(SHORT, at, Float.floatToFloat16((float) rng.nextGaussian()));
            case BF16 -> m.set(SHORT, at, (short) (Float.floatToRawIntBits((float) rng.nextGaussian()) >>> 16));
            case Q8_0 -> { // f16 d, i8 qs[32]
                m.set(SHORT, at, f16(scale(rng, 1e-3, 2e-2)));
                randomBytes(m, at + 2, 32, rng);
            }
            case Q4_0 -> { // f16 d, u8 qs[16]
                m.set(SHORT, at, f16(scale(rng, 1e-2, 2e-1)));
                randomBytes(m, at + 2, 16, rng);
            }
            case Q4_1 -> { // f16 d, f16 m, u8 qs[16]; m near -8d as a quantizer makes it, so values straddle 0
                double d = scale(rng, 1e-2, 2e-1);
                m.set(SHORT, at, f16(d));
                m.set(SHORT, at + 2, f16(-d * (8 + rng.nextGaussian())));
                randomBytes(m, at + 4, 16, rng);
            }
            case Q5_0 -> { // f16 d, u8 qh[4], u8 qs[16]
                m.set(SHORT, at, f16(scale(rng, 5e-3, 1e-1)));
                randomBytes(m, at + 2, 4 + 16, rng);
            }
            case Q5_1 -> { // f16 d, f16 m, u8 qh[4], u8 qs[16]; m near -16d so values straddle 0
                double d = scale(rng, 5e-3, 1e-1);
                m.set(SHORT, at, f16(d));
                m.set(SHORT, at + 2, f16(-d * (16 + rng.nextGaussian())));
                randomBytes(m, at + 4, 4 + 16, rng);
            }
            case Q5_K -> { // f16 d, f16 dmin, u8 scales[12], u8 qh[32], u8 qs[128]
                m.set(SHORT, at, f16(scale(rng, 5e-5, 2.5e-3)));
                m.set(SHORT, at + 2, f16(scale(rng, 1e-4, 5e-3)));
                randomBytes(m, at + 4, 12 + 32 + 128, rng);
            }
            case Q4_K -> { // f16 d, f16 dmin, u8 scales[12], u8 qs[128]
                m.set(SHORT, at, f16(scale(rng, 1e-4, 5e-3)));
                m.set(SHORT, at + 2, f16(scale(rng, 1e-4, 5e-3)));
                randomBytes(m, at + 4, 12 + 128, rng);
            }
            case Q6_K -> { // u8 ql[128], u8 qh[64], i8 scales[16], f16 d
                randomBytes(m, at, 128 + 64 + 16, rng);
                m.set(SHORT, at + 208, f16(scale(rng, 1e-4, 2e-3)));
            }
            default -> throw new IllegalArgumentException("no random weights of " + type);
        }
    }

    /** A positive magnitude spread evenly on a log scale over [lo, hi). */
    private static double scale(Random rng, double lo, double hi) {
        return Math.exp(Math.log(lo) + rng.nextDouble() * (Math.log(hi) - Math.log(lo)));
    }

    private static short f16(double v) {
        return Float.floatToFloat16((float) v);
    }

    private static void randomBytes(MemorySegment m, long at, int n, Random rng) {
        byte[] b = new byte[n];
        rng.nextBytes(b);
        MemorySegment.copy(MemorySegment.ofArray(b), 0, m, at, n);
    }

    /** The weight dequantized by the scalar reference: [rows][cols]. */
    public static float[] dequantize(Weight w) {
        float[] v = new float[w.rows() * w.cols()];
        for (int r = 0; r < w.rows(); r++) {
            Dequant.row(w.type(), w.data(), r, w.cols(), v, r * w.cols());
        }
        return v;
    }

    /**
     * Asserts |got[i] - want[i]| <= bound[i] for i < n, naming the worst offender on failure.
     * Bounds are per value because float error scales with the magnitudes that were summed.
     */
    public static void assertClose(float[] got, float[] want, double[] bound, int n, String what) {
        int worst = -1;
        double worstRatio = 1;
        for (int i = 0; i < n; i++) {
            double err = Math.abs((double) got[i] - want[i]);
            boolean bad = !(err <= bound[i]) || Float.isNaN(got[i]) != Float.isNaN(want[i]);
            double ratio = bad ? (Double.isNaN(err) ? Double.POSITIVE_INFINITY : err / bound[i]) : 0;
            if (bad && ratio >= worstRatio) {
                worst = i;
                worstRatio = ratio;
            }
        }
        if (worst >= 0) {
            throw new AssertionError(String.format("%s: value %d is %s, reference %s, allowed error %.3g (%d values)",
                    what, worst, got[worst], want[worst], bound[worst], n));
        }
    }

    /** Bounds {@code atol + rtol * |want[i]|}: for results that are products, with no cancellation. */
    public static double[] relative(float[] want, int n, double rtol, double atol) {
        double[] b = new double[n];
        for (int i = 0; i < n; i++) {
            b[i] = atol + rtol * Math.abs(want[i]);
        }
        return b;
    }

    /** Asserts the first n values are equal bit for bit. */
    public static void assertExact(float[] got, float[] want, int n, String what) {
        for (int i = 0; i < n; i++) {
            if (Float.floatToRawIntBits(got[i]) != Float.floatToRawIntBits(want[i])) {
                throw new AssertionError(String.format("%s: value %d is %s, reference %s (must be equal)", what, i,
                        got[i], want[i]));
            }
        }
    }
}
