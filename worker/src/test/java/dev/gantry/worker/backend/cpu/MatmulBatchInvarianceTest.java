package dev.gantry.worker.backend.cpu;

import static dev.gantry.worker.backend.TestTensors.assertExact;
import static dev.gantry.worker.backend.TestTensors.floats;

import dev.gantry.worker.backend.Backend;
import dev.gantry.worker.backend.Buffer;
import dev.gantry.worker.backend.TestTensors;
import dev.gantry.worker.backend.Weight;
import dev.gantry.worker.quant.GgmlType;
import java.lang.foreign.Arena;
import java.util.List;
import java.util.Objects;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * For weight types with a fused batched kernel ({@link BatchDotKernels}), a token row's matmul
 * result is bit for bit the same alone (the single-row kernel) as in a batch of any size, in any
 * position of a 4-row tile or of a partial tile, for every batch size that takes the fused path
 * (up to {@link Matmul#FUSED_MAX_ROWS}; larger batches take the decoded path, which agrees with
 * the reference only to float tolerance). Greedy decoding depends on this: a last-bit
 * difference can flip a token between a sequence run alone and the same sequence batched.
 * (Agreement with the reference is BackendContractTest's job; this checks only invariance.)
 */
class MatmulBatchInvarianceTest {
    @ParameterizedTest(name = "{0}: rows of {2}, {1} outputs")
    @CsvSource({"Q8_0, 33, 96", "Q8_0, 19, 320", "Q8_0, 40, 2048", "Q8_0, 21, 6144", "Q4_0, 33, 96",
            "Q4_0, 17, 320", "Q4_0, 40, 2048", "Q4_0, 23, 4096"})
    void batchedRowsEqualRowsAlone(GgmlType type, int outRows, int cols) {
        for (int rows = 2; rows <= Matmul.FUSED_MAX_ROWS; rows++) {
            check(type, rows, outRows, cols);
        }
    }

    /**
     * A weight with rows of several column segments is repacked ({@link ColumnSegments}) and
     * summed piece by piece; its results have the bits of the whole-row kernel on the original
     * layout, alone and in every fused batch size.
     */
    @ParameterizedTest(name = "{0}: {1} outputs of {2} columns")
    @CsvSource({"Q8_0, 37, 6144", "Q4_0, 19, 4096"})
    void segmentedRowsEqualWholeRows(GgmlType type, int outRows, int cols) {
        Random rng = new Random(Objects.hash(type, outRows, cols));
        try (Arena arena = Arena.ofShared(); VectorBackend backend = new VectorBackend(3)) {
            Weight w = TestTensors.weight(arena, rng, type, outRows, cols, "w");
            org.assertj.core.api.Assertions.assertThat(ColumnSegments.applies(w)).isTrue();
            backend.prepare(List.of(w));
            for (int rows = 1; rows <= Matmul.FUSED_MAX_ROWS; rows++) {
                float[] x = floats(rng, rows * cols, 1); // [rows][cols]
                float[] got = matmul(backend, w, null, x, rows, outRows);
                float[] want = new float[rows * outRows];
                for (int r = 0; r < rows; r++) {
                    for (int o = 0; o < outRows; o++) {
                        want[r * outRows + o] = DotKernels.dot(type, w.data(), o * w.rowBytes(), x, r * cols, null, cols);
                    }
                }
                assertExact(got, want, want.length, type + " batch of " + rows);
            }
        }
    }

    private static void check(GgmlType type, int rows, int outRows, int cols) {
        Random rng = new Random(Objects.hash(type, rows, outRows, cols));
        try (Arena arena = Arena.ofShared(); Backend backend = new VectorBackend(3)) {
            Weight w = TestTensors.weight(arena, rng, type, outRows, cols, "w");
            Weight bias = TestTensors.weight(arena, rng, GgmlType.F32, 1, outRows, "b");
            backend.prepare(List.of(w, bias));
            float[] x = floats(rng, rows * cols, 1); // [rows][cols]

            float[] batched = matmul(backend, w, bias, x, rows, outRows);
            for (int r = 0; r < rows; r++) {
                float[] one = new float[cols];
                System.arraycopy(x, r * cols, one, 0, cols);
                float[] alone = matmul(backend, w, bias, one, 1, outRows);
                float[] fromBatch = new float[outRows];
                System.arraycopy(batched, r * outRows, fromBatch, 0, outRows);
                assertExact(fromBatch, alone, outRows, type + " row " + r + " of " + rows);
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
