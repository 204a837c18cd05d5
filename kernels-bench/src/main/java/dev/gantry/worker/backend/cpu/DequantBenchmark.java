package dev.gantry.worker.backend.cpu;

import dev.gantry.worker.backend.Weight;
import dev.gantry.worker.quant.GgmlType;
import java.lang.foreign.Arena;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * {@link RowDequant} on one thread: every row of a 1024x2048 weight (fits in L2 and L3, so this
 * measures the kernel, not memory) decoded into one 2048-float row buffer. The batched matrix
 * products spend this once per weight row and call.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
public class DequantBenchmark {
    @Param({"Q8_0", "Q4_0", "Q4_K", "F16"})
    public String type;

    private Arena arena;
    private Weight weight;
    private float[] row;

    @Setup(Level.Trial)
    public void setUp() {
        arena = Arena.ofShared();
        weight = MatmulBenchmark.randomWeight(arena, new Random(7), GgmlType.valueOf(type), 1024, 2048, "w");
        row = new float[weight.cols()];
    }

    @Benchmark
    public float[] dequantize() {
        for (int r = 0; r < weight.rows(); r++) {
            RowDequant.row(weight.type(), weight.data(), r * weight.rowBytes(), weight.cols(), row, 0);
        }
        return row;
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        arena.close();
    }
}
