package dev.gantry.worker.backend.cpu;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gantry.worker.backend.Q8Activations;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The vectorized quantizer must pick exactly the reference's integers, scales and block sums:
 * one integer off is a whole quantization step, which no float tolerance downstream would excuse.
 */
class ActivationQuantTest {

    @Test
    void matchesTheReferenceBitForBit() {
        Random rng = new Random(7);
        int rows = 40;
        int cols = 256;
        float[] x = new float[rows * cols];
        for (int r = 0; r < rows; r++) {
            double scale = Math.pow(10, rng.nextInt(9) - 4); // 1e-4 .. 1e4, as activations range
            for (int i = 0; i < cols; i++) {
                x[r * cols + i] = (float) (rng.nextGaussian() * scale);
            }
        }
        // Special blocks: all zero; halfway values (factor exactly 1); one huge outlier; a tiny subnormal block.
        java.util.Arrays.fill(x, 0, 32, 0f);
        for (int j = 0; j < 32; j++) {
            x[32 + j] = j == 0 ? 127f : (j - 16) + 0.5f;
            x[64 + j] = j == 5 ? 3e4f : (float) rng.nextGaussian();
            x[96 + j] = Float.MIN_VALUE * j;
        }
        Q8Activations want = Q8Activations.quantize(x, rows, cols);
        float[] xq = new float[rows * cols];
        float[] sums = new float[rows * cols / 32];
        for (int r = 0; r < rows; r++) {
            ActivationQuant.row(x, r * cols, cols, xq, r * cols, sums, r * cols / 32);
        }
        for (int r = 0; r < rows; r++) {
            for (int b = 0; b < cols / 32; b++) {
                assertThat(sums[r * cols / 32 + b]).as("block sum %d of row %d", b, r).isEqualTo(want.blockSum(r, b));
                for (int j = 0; j < 32; j++) {
                    int i = b * 32 + j;
                    assertThat(xq[r * cols + i]).as("value %d of row %d", i, r)
                            .isEqualTo(want.value(r, i) * want.scale(r, b));
                }
            }
        }
    }
}
