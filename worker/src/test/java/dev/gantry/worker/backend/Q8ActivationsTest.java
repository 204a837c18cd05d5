package dev.gantry.worker.backend;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.gantry.worker.quant.GgmlType;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import org.junit.jupiter.api.Test;

/** ggml's 8-bit activation blocks and integer dot products, on values worked out by hand. */
class Q8ActivationsTest {

    @Test
    void roundsHalfwayValuesToEvenAsGgmlOnX86() {
        // amax 127 makes the factor 127 / amax exactly 1, so the values themselves are rounded.
        float[] x = new float[32];
        x[0] = 127f;
        x[1] = 2.5f;
        x[2] = 3.5f;
        x[3] = -2.5f;
        x[4] = 0.5f;
        x[5] = -126.5f;
        x[6] = 0.49f;
        Q8Activations q = Q8Activations.quantize(x, 1, 32);
        assertThat(new int[] {q.value(0, 0), q.value(0, 1), q.value(0, 2), q.value(0, 3), q.value(0, 4), q.value(0, 5),
                q.value(0, 6)}).containsExactly(127, 2, 4, -2, 0, -126, 0);
        assertThat(q.scale(0, 0)).isEqualTo(1f);
        assertThat(q.blockSum(0, 0)).isEqualTo(127f + 2 + 4 - 2 - 126);
    }

    @Test
    void storesScaleAndBlockSumAsHalfFloats() {
        float[] x = new float[64]; // two blocks: the second all zero
        for (int j = 0; j < 32; j++) {
            x[j] = (j - 10) / 21f;
        }
        Q8Activations q = Q8Activations.quantize(x, 1, 64);
        float amax = 21 / 21f;
        float d = amax / 127f;
        int sum = 0;
        for (int j = 0; j < 32; j++) {
            int v = (int) Math.rint(x[j] * (127f / amax));
            assertThat(q.value(0, j)).isEqualTo(v);
            sum += v;
        }
        assertThat(q.scale(0, 0)).isEqualTo(Float.float16ToFloat(Float.floatToFloat16(d))).isNotEqualTo(d);
        assertThat(q.blockSum(0, 0)).isEqualTo(Float.float16ToFloat(Float.floatToFloat16(d * sum)));
        assertThat(q.scale(0, 1)).isZero();
        assertThat(q.blockSum(0, 1)).isZero();
        assertThat(q.value(0, 40)).isZero();
    }

    @Test
    void dotIsScaleProductTimesIntegerSumPlusOffsets() {
        float[] x = new float[32];
        for (int j = 0; j < 32; j++) {
            x[j] = j % 5 - 2;
        }
        x[0] = 127f; // factor 1: q = x
        Q8Activations q = Q8Activations.quantize(x, 1, 32);
        try (Arena arena = Arena.ofConfined()) {
            ValueLayout.OfShort half = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
            // Q4_1 block: d 0.5, m -3, nibble j = j % 16 for value j and j + 16
            MemorySegment m = arena.allocate(20);
            m.set(half, 0, Float.floatToFloat16(0.5f));
            m.set(half, 2, Float.floatToFloat16(-3f));
            long isum = 0;
            for (int j = 0; j < 16; j++) {
                m.set(ValueLayout.JAVA_BYTE, 4 + j, (byte) (j | (j << 4)));
                isum += (long) j * q.value(0, j) + (long) j * q.value(0, 16 + j);
            }
            Weight w = new Weight("w", GgmlType.Q4_1, 1, 32, m);
            assertThat(q.dot(w, 0, 0)).isEqualTo(0.5 * isum + -3.0 * q.blockSum(0, 0));
        }
    }

    @Test
    void rejectsRowsThatAreNotWholeBlocks() {
        assertThatThrownBy(() -> Q8Activations.quantize(new float[40], 1, 40))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("40");
    }
}
