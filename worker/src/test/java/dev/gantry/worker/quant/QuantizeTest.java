package dev.gantry.worker.quant;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.MemorySegment;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The quantizers against the scalar {@link Dequant} reference: random values of many magnitudes
 * are encoded, decoded by Dequant, and every value must come back within the error its format
 * allows (half a quantization step, one step where Q4_0 clips). The error bounds are tight, so
 * a wrong layout (nibble order, scale packing, sign of an offset) fails them by far.
 */
class QuantizeTest {
    private static final int BLOCKS = 400;

    @Test
    void q8_0WithinHalfAStep() {
        float[] x = values(32, new Random(1));
        float[] y = roundTrip(GgmlType.Q8_0, x);
        for (int b = 0; b < x.length / 32; b++) {
            float amax = amax(x, b * 32, 32);
            float d = amax / 127;
            float d16 = Float.float16ToFloat(Float.floatToFloat16(d));
            for (int j = b * 32; j < b * 32 + 32; j++) {
                // half a step, plus what rounding the scale to f16 moves the largest code
                assertThat(Math.abs(x[j] - y[j])).as("value %d", j).isLessThanOrEqualTo(d / 2 + 127 * Math.abs(d - d16) + 1e-12f);
            }
            // The largest value lands on code +-127 exactly.
            int at = argAmax(x, b * 32, 32);
            assertThat(Math.abs(y[at])).isEqualTo(127 * d16);
        }
    }

    @Test
    void q4_0WithinHalfAStepOrOneWhereClipped() {
        float[] x = values(32, new Random(2));
        float[] y = roundTrip(GgmlType.Q4_0, x);
        for (int b = 0; b < x.length / 32; b++) {
            int at = argAmax(x, b * 32, 32);
            float d = -x[at] / 8;
            float d16 = Float.float16ToFloat(Float.floatToFloat16(d));
            for (int j = b * 32; j < b * 32 + 32; j++) {
                float err = Math.abs(x[j] - y[j]);
                float bound = 8 * Math.abs(d - d16) + 1e-12f;
                // The grid runs from -8d to 7d: values beyond 7.5 steps on the far side are clipped.
                boolean clipped = x[j] / d > 7.5f;
                assertThat(err).as("value %d", j).isLessThanOrEqualTo((clipped ? 1f : 0.5f) * Math.abs(d) + bound);
            }
            assertThat(y[at]).as("the largest value is code 0, exactly -8 d").isEqualTo(-8 * d16);
        }
    }

    @Test
    void q5_0WithinHalfAStepOrOneWhereClipped() {
        float[] x = values(32, new Random(6));
        float[] y = roundTrip(GgmlType.Q5_0, x);
        for (int b = 0; b < x.length / 32; b++) {
            int at = argAmax(x, b * 32, 32);
            float d = -x[at] / 16;
            float d16 = Float.float16ToFloat(Float.floatToFloat16(d));
            for (int j = b * 32; j < b * 32 + 32; j++) {
                float err = Math.abs(x[j] - y[j]);
                float bound = 16 * Math.abs(d - d16) + 1e-12f;
                // The grid runs from -16d to 15d: values beyond 15.5 steps on the far side are clipped.
                boolean clipped = x[j] / d > 15.5f;
                assertThat(err).as("value %d", j).isLessThanOrEqualTo((clipped ? 1f : 0.5f) * Math.abs(d) + bound);
            }
            assertThat(y[at]).as("the largest value is code 0, exactly -16 d").isEqualTo(-16 * d16);
        }
    }

    @ParameterizedTest
    @EnumSource(value = GgmlType.class, names = {"Q4_1", "Q5_1"})
    void withOffsetsWithinHalfAStep(GgmlType type) {
        int levels = type == GgmlType.Q4_1 ? 15 : 31;
        float[] x = values(32, new Random(7));
        float[] y = roundTrip(type, x);
        for (int b = 0; b < x.length / 32; b++) {
            float min = Float.MAX_VALUE;
            float max = -Float.MAX_VALUE;
            for (int j = b * 32; j < b * 32 + 32; j++) {
                min = Math.min(min, x[j]);
                max = Math.max(max, x[j]);
            }
            float d = (max - min) / levels;
            float d16 = Float.float16ToFloat(Float.floatToFloat16(d));
            float m16 = Float.float16ToFloat(Float.floatToFloat16(min));
            for (int j = b * 32; j < b * 32 + 32; j++) {
                // half a step, plus what the f16 scale and offset move the codes
                float bound = d / 2 + levels * Math.abs(d - d16) + Math.abs(min - m16) + 1e-6f;
                assertThat(Math.abs(x[j] - y[j])).as("value %d", j).isLessThanOrEqualTo(bound);
            }
        }
    }

    @ParameterizedTest
    @EnumSource(value = GgmlType.class, names = {"Q4_K", "Q5_K"})
    void kQuantsWithinHalfASubBlockStep(GgmlType type) {
        float[] x = values(256, new Random(3));
        byte[] q = new byte[(int) type.byteSize(x.length)];
        Quantize.values(type, x, 0, x.length, q, 0);
        float[] y = decode(type, q, x.length);
        MemorySegment seg = MemorySegment.ofArray(q);
        double sumSq = 0;
        double sumSteps = 0;
        for (int b = 0; b < x.length / 256; b++) {
            long at = b * (long) type.typeSize;
            float d = Dequant.f16(seg, at);
            int[] sm = new int[2];
            for (int s = 0; s < 8; s++) {
                Dequant.scaleMinK4(s, seg, at + 4, sm);
                float step = d * sm[0];
                for (int j = b * 256 + s * 32; j < b * 256 + s * 32 + 32; j++) {
                    float err = Math.abs(x[j] - y[j]);
                    assertThat(err).as("value %d", j).isLessThanOrEqualTo(step / 2 * 1.0001f + 1e-12f);
                    sumSq += (double) err * err;
                    sumSteps += (double) step * step;
                }
            }
        }
        // Uniform rounding error has RMS step/sqrt(12); outward-rounded scales make steps a little
        // larger but not the error per step.
        assertThat(Math.sqrt(sumSq / sumSteps)).isLessThan(0.32);
    }

    @Test
    void q6kWithinHalfAGroupStep() {
        float[] x = values(256, new Random(4));
        byte[] q = new byte[(int) GgmlType.Q6_K.byteSize(x.length)];
        Quantize.values(GgmlType.Q6_K, x, 0, x.length, q, 0);
        float[] y = decode(GgmlType.Q6_K, q, x.length);
        MemorySegment seg = MemorySegment.ofArray(q);
        for (int b = 0; b < x.length / 256; b++) {
            long at = b * 210L;
            float d = Dequant.f16(seg, at + 208);
            for (int g = 0; g < 16; g++) {
                float step = d * seg.get(java.lang.foreign.ValueLayout.JAVA_BYTE, at + 192 + g);
                for (int j = b * 256 + g * 16; j < b * 256 + g * 16 + 16; j++) {
                    assertThat(Math.abs(x[j] - y[j])).as("value %d", j).isLessThanOrEqualTo(step / 2 * 1.0001f + 1e-12f);
                }
            }
        }
    }

    @Test
    void q4kScalesPackAsDequantUnpacksThem() {
        Random r = new Random(4);
        for (int trial = 0; trial < 1000; trial++) {
            int[] sc = new int[8];
            int[] m = new int[8];
            for (int i = 0; i < 8; i++) {
                sc[i] = r.nextInt(64);
                m[i] = r.nextInt(64);
            }
            byte[] packed = new byte[12];
            Quantize.packScales(sc, m, packed, 0);
            int[] out = new int[2];
            for (int j = 0; j < 8; j++) {
                Dequant.scaleMinK4(j, MemorySegment.ofArray(packed), 0, out);
                assertThat(out).containsExactly(sc[j], m[j]);
            }
        }
    }

    @Test
    void f16AndF32AreExactRoundings() {
        float[] x = values(1, new Random(5));
        float[] h = roundTrip(GgmlType.F16, x);
        float[] f = roundTrip(GgmlType.F32, x);
        for (int i = 0; i < x.length; i++) {
            assertThat(h[i]).isEqualTo(Float.float16ToFloat(Float.floatToFloat16(x[i])));
            assertThat(f[i]).isEqualTo(x[i]);
        }
    }

    @Test
    void zeroBlocksStayZero() {
        for (GgmlType t : new GgmlType[] {GgmlType.Q8_0, GgmlType.Q4_0, GgmlType.Q4_1, GgmlType.Q5_0, GgmlType.Q5_1, GgmlType.Q4_K,
                GgmlType.Q5_K, GgmlType.Q6_K}) {
            float[] y = roundTrip(t, new float[256]);
            for (float v : y) {
                assertThat(v == 0).as(t.name()).isTrue(); // -0.0 (Q4_0's (0 - 8) * 0) is zero too
            }
        }
    }

    @Test
    void f16AtLeastNeverRoundsDown() {
        Random r = new Random(6);
        for (int i = 0; i < 100_000; i++) {
            float v = (float) Math.abs(r.nextGaussian()) * (float) Math.pow(10, r.nextInt(9) - 6);
            short bits = Quantize.f16AtLeast(v);
            // the smallest f16 not below v: it is >= v and the f16 just under it is < v
            assertThat(Float.float16ToFloat(bits)).isGreaterThanOrEqualTo(v);
            if (bits != 0) {
                assertThat(Float.float16ToFloat((short) (bits - 1))).isLessThan(v);
            }
        }
    }

    @Test
    void rejectsPartialBlocksAndUnsupportedTypes() {
        assertThatThrownBy(() -> Quantize.values(GgmlType.Q4_K, new float[64], 0, 64, new byte[144], 0))
                .hasMessageContaining("whole blocks");
        assertThatThrownBy(() -> Quantize.values(GgmlType.Q2_K, new float[256], 0, 256, new byte[84], 0))
                .hasMessageContaining("no quantizer");
    }

    private static float[] roundTrip(GgmlType t, float[] x) {
        byte[] q = new byte[(int) t.byteSize(x.length)];
        Quantize.values(t, x, 0, x.length, q, 0);
        return decode(t, q, x.length);
    }

    private static float[] decode(GgmlType t, byte[] q, int n) {
        float[] y = new float[n];
        Dequant.values(t, MemorySegment.ofArray(q), 0, n, y, 0);
        return y;
    }

    /**
     * BLOCKS blocks of {@code block} values; each block has its own magnitude (1e-3 .. 1e1) and
     * kind: Gaussian, all positive, all negative, one outlier, or constant, so both signs of the
     * extreme value, offsets that must cover all of a sub-block and degenerate ranges occur.
     */
    private static float[] values(int block, Random r) {
        int per = Math.max(block, 32);
        float[] x = new float[BLOCKS * per];
        for (int b = 0; b < BLOCKS; b++) {
            float scale = (float) Math.pow(10, -3 + 4 * r.nextDouble());
            int kind = b % 5;
            for (int j = b * per; j < (b + 1) * per; j++) {
                float g = (float) r.nextGaussian() * scale;
                x[j] = switch (kind) {
                    case 0 -> g;
                    case 1 -> Math.abs(g);
                    case 2 -> -Math.abs(g);
                    case 3 -> j % per == 7 ? 20 * scale : g;
                    default -> scale;
                };
            }
        }
        return x;
    }

    private static float amax(float[] x, int from, int n) {
        return Math.abs(x[argAmax(x, from, n)]);
    }

    private static int argAmax(float[] x, int from, int n) {
        int best = from;
        for (int j = from; j < from + n; j++) {
            if (Math.abs(x[j]) > Math.abs(x[best])) {
                best = j;
            }
        }
        return best;
    }
}
