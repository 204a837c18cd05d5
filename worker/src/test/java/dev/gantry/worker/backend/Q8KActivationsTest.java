package dev.gantry.worker.backend;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import dev.gantry.worker.quant.Dequant;
import dev.gantry.worker.quant.GgmlType;
import dev.gantry.worker.quant.Quantize;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * ggml's Q8_K activation blocks and the K-quant integer dot products: quantization on values
 * worked out by hand, the products against the dequantized weights times the dequantized
 * activations (an independent path: {@link Dequant} decodes the weights' bits its own way).
 */
class Q8KActivationsTest {

    @Test
    void scalesByTheSignedValueOfLargestMagnitude() {
        float[] x = new float[256];
        x[0] = -127f; // the largest magnitude, negative: iscale = -127 / -127 = 1, d = 1
        x[1] = 2.5f;  // ties to even
        x[2] = 3.5f;
        x[3] = -126.5f;
        x[4] = 126.9f;
        Q8KActivations q = Q8KActivations.quantize(x, 1, 256);
        assertThat(new int[] {q.value(0, 0), q.value(0, 1), q.value(0, 2), q.value(0, 3), q.value(0, 4)})
                .containsExactly(-127, 2, 4, -126, 127);
        assertThat(q.scale(0, 0)).isEqualTo(1f);
        assertThat(q.groupSum(0, 0)).isEqualTo(-127 + 2 + 4 - 126 + 127);

        float[] y = new float[512];
        y[5] = 2f; // positive extreme: iscale = -63.5, d negative, values negated
        y[6] = -1f;
        Q8KActivations p = Q8KActivations.quantize(y, 1, 512);
        assertThat(p.value(0, 5)).isEqualTo(-127);
        assertThat(p.value(0, 6)).isEqualTo(64);
        assertThat(p.scale(0, 0)).isEqualTo(-1 / 63.5f);
        assertThat(p.scale(0, 1)).isZero(); // all zero
        assertThat(p.value(0, 300)).isZero();
    }

    @Test
    void productsEqualTheDequantizedWeightsTimesTheQuantizedActivations() {
        SplittableRandom rnd = new SplittableRandom(7);
        int rows = 5;
        int cols = 512;
        for (GgmlType type : new GgmlType[] {GgmlType.Q4_K, GgmlType.Q6_K}) {
            try (Arena arena = Arena.ofConfined()) {
                float[] values = gaussian(rnd, rows * cols);
                byte[] bytes = new byte[(int) type.byteSize(cols) * rows];
                Quantize.values(type, values, 0, rows * cols, bytes, 0);
                MemorySegment data = arena.allocate(bytes.length);
                data.copyFrom(MemorySegment.ofArray(bytes));
                Weight w = new Weight("w", type, rows, cols, data);
                float[] x = gaussian(rnd, 2 * cols);
                Q8KActivations q = Q8KActivations.quantize(x, 2, cols);
                float[] row = new float[cols];
                for (int o = 0; o < rows; o++) {
                    Dequant.row(type, data, o, cols, row, 0);
                    for (int t = 0; t < 2; t++) {
                        double want = 0;
                        double magnitude = 0;
                        for (int i = 0; i < cols; i++) {
                            double v = (double) row[i] * q.value(t, i) * q.scale(t, i / 256);
                            want += v;
                            magnitude += Math.abs(v);
                        }
                        assertThat(q.dot(w, o, t)).as("%s row %d token %d", type, o, t)
                                .isCloseTo(want, within(1e-5 * magnitude));
                    }
                }
            }
        }
    }

    @Test
    void rejectsRowsOfPartBlocksAndOtherTypes() {
        assertThatThrownBy(() -> Q8KActivations.quantize(new float[300], 1, 300))
                .hasMessageContaining("not whole blocks of 256");
        assertThat(Q8KActivations.supports(GgmlType.Q4_0)).isFalse();
        assertThat(ActivationPrecision.Q8.quantizes(GgmlType.Q6_K)).isTrue();
        assertThat(ActivationPrecision.F32.quantizes(GgmlType.Q4_K)).isFalse();
    }

    private static float[] gaussian(SplittableRandom rnd, int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) rnd.nextGaussian();
        }
        return x;
    }
}
