package dev.gantry.worker.backend;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.Random;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;
import org.junit.jupiter.api.Test;

/** {@link VectorExp#exp} against Math.exp on fresh random inputs over the range softmax and SiLU use, and at its ends. */
class VectorExpTest {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final int L = F.length();

    @Test
    void expIsMathExpToAFewUlp() {
        Random rng = new Random();
        float[] x = new float[4096 * L];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) (rng.nextDouble() * 170 - 86);
        }
        x[0] = 0f;
        x[1] = -87.3f;
        x[2] = 88f;
        x[3] = 1e-8f;
        float[] got = new float[x.length];
        for (int i = 0; i < x.length; i += L) {
            VectorExp.exp(FloatVector.fromArray(F, x, i)).intoArray(got, i);
        }
        for (int i = 0; i < x.length; i++) {
            double want = Math.exp(x[i]);
            assertThat((double) got[i]).as("exp(%s)", x[i]).isCloseTo(want, within(want * 3e-7));
        }
        assertThat(got[0]).isEqualTo(1f);
    }

    @Test
    void isZeroBelowItsRangeAndFiniteAbove() {
        float[] x = new float[L];
        for (int i = 0; i < L; i++) {
            x[i] = switch (i % 4) {
                case 0 -> Float.NEGATIVE_INFINITY;
                case 1 -> -1000f;
                case 2 -> -87.5f;
                default -> 1000f;
            };
        }
        float[] got = new float[L];
        VectorExp.exp(FloatVector.fromArray(F, x, 0)).intoArray(got, 0);
        for (int i = 0; i < L; i++) {
            if (i % 4 == 3) {
                assertThat(got[i]).as("exp(%s)", x[i]).isFinite().isGreaterThan(1e38f);
            } else {
                assertThat(got[i]).as("exp(%s)", x[i]).isEqualTo(0f);
            }
        }
    }
}
