package dev.gantry.worker.backend.cpu;

import static dev.gantry.worker.backend.TestTensors.assertExact;
import static dev.gantry.worker.backend.TestTensors.floats;

import dev.gantry.worker.backend.ActivationPrecision;
import dev.gantry.worker.backend.Backend;
import dev.gantry.worker.backend.Buffer;
import dev.gantry.worker.backend.TestTensors;
import dev.gantry.worker.backend.Weight;
import dev.gantry.worker.quant.GgmlType;
import java.lang.foreign.Arena;
import java.util.List;
import java.util.Objects;
import java.util.Random;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * A token row's matmul result is bit for bit the same alone as in a batch of any size, in any
 * position of any register tile or partial tile: on the decoded float path (float activations,
 * float weights, and 8-bit activations without the native library) for every weight type, and in
 * the native kernels. Greedy decoding depends on this: a last-bit difference can flip a token
 * between a sequence run alone and the same sequence batched, and the engine batches a request's
 * decode steps with whatever else is running. (Agreement with the reference is
 * BackendContractTest's job; this checks only invariance.)
 */
class MatmulBatchInvarianceTest {
    /** Batch sizes: alone, every tile remainder, a decode batch, a prefill chunk. */
    private static final int[] BATCHES = {2, 3, 4, 5, 7, 8, 9, 13, 16, 17, 33, 40};

    @ParameterizedTest(name = "{0}, activations {1}: {2} outputs of {3} columns")
    @CsvSource({"F32, F32, 37, 100", "F16, F32, 21, 256", "BF16, F32, 18, 96", "Q8_0, F32, 33, 320",
            "Q4_0, F32, 17, 2048", "Q4_1, F32, 33, 576", "Q5_0, F32, 19, 96", "Q5_1, F32, 18, 160",
            "Q4_K, F32, 23, 512", "Q5_K, F32, 17, 256", "Q6_K, F32, 21, 768", "Q8_0, Q8, 33, 320", "Q4_0, Q8, 17, 2048",
            "Q4_1, Q8, 33, 576", "Q5_1, Q8, 18, 160", "Q4_K, Q8, 23, 512", "Q6_K, Q8, 21, 768"})
    void decodedPathGivesARowTheSameBitsInAnyBatch(GgmlType type, ActivationPrecision precision, int outRows, int cols) {
        try (VectorBackend backend = new VectorBackend(3, precision, null)) {
            check(backend, type, outRows, cols);
        }
    }

    @ParameterizedTest(name = "{0}: {1} outputs of {2} columns")
    @CsvSource({"Q8_0, 33, 320", "Q4_0, 40, 2048", "Q4_1, 33, 576", "Q5_0, 17, 96", "Q5_1, 18, 160",
            "Q4_K, 23, 512", "Q5_K, 17, 256", "Q6_K, 37, 768"})
    void nativeKernelsGiveARowTheSameBitsInAnyBatch(GgmlType type, int outRows, int cols) {
        NativeCpu lib = NativeCpu.get().orElse(null);
        Assumptions.assumeTrue(lib != null, "no native CPU kernels for this machine (or GANTRY_NATIVE=off)");
        try (VectorBackend backend = new VectorBackend(3, ActivationPrecision.Q8, lib)) {
            check(backend, type, outRows, cols);
        }
    }

    private static void check(VectorBackend backend, GgmlType type, int outRows, int cols) {
        Random rng = new Random(Objects.hash(type, outRows, cols, backend.describe()));
        try (Arena arena = Arena.ofShared()) {
            Weight w = TestTensors.weight(arena, rng, type, outRows, cols, "w");
            Weight bias = TestTensors.weight(arena, rng, GgmlType.F32, 1, outRows, "b");
            backend.prepare(List.of(w, bias));
            int most = BATCHES[BATCHES.length - 1];
            float[] x = floats(rng, most * cols, 1); // [most][cols]
            // [most][outRows] each row alone
            float[] alone = new float[most * outRows];
            for (int r = 0; r < most; r++) {
                float[] one = new float[cols];
                System.arraycopy(x, r * cols, one, 0, cols);
                System.arraycopy(matmul(backend, w, bias, one, 1, outRows), 0, alone, r * outRows, outRows);
            }
            for (int rows : BATCHES) {
                // the batch's rows from row `first` of x, so rows meet other positions in the tiles
                int first = rows % 3;
                int n = Math.min(rows, most - first);
                float[] batch = new float[n * cols];
                System.arraycopy(x, first * cols, batch, 0, batch.length);
                float[] got = matmul(backend, w, bias, batch, n, outRows);
                float[] want = new float[n * outRows];
                System.arraycopy(alone, first * outRows, want, 0, want.length);
                assertExact(got, want, want.length, type + " " + backend.describe() + ", rows " + first + ".." + (first + n - 1)
                        + " in a batch of " + n);
            }
        }
    }

    private static float[] matmul(Backend b, Weight w, Weight bias, float[] x, int rows, int outRows) {
        Buffer in = b.allocate(x.length);
        b.upload(x, x.length, in);
        Buffer out = b.allocate((long) rows * outRows);
        b.matmul(w, bias, in, rows, out);
        float[] got = new float[rows * outRows];
        b.download(out, got.length, got);
        return got;
    }
}
