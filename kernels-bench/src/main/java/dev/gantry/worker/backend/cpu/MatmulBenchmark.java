package dev.gantry.worker.backend.cpu;

import dev.gantry.worker.backend.Buffer;
import dev.gantry.worker.backend.Weight;
import dev.gantry.worker.quant.GgmlType;
import dev.gantry.worker.quant.Quantize;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
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
 * One matrix product of the CPU backend ({@link VectorBackend#matmul}) per call: a weight of
 * {@code shape} (output rows x columns) and {@code type} times {@code rows} token rows, on
 * {@code threads} threads. {@code layers} copies of the weight are cycled so that, as in a
 * model, the weight comes from memory, not from the last-level cache (16 copies of a 2048x8192
 * Q8_0 weight are 285 MB). The shapes are Llama 3.2 1B's FFN up (8192x2048) and down (2048x8192)
 * projections; rows 1 is decode of one sequence, 4 and 8 the fused small-batch path, 16 and 128
 * the token-lane path (batched decode, prefill).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
public class MatmulBenchmark {
    @Param({"Q8_0", "Q4_0"})
    public String type;

    @Param({"8192x2048", "2048x8192"})
    public String shape;

    @Param({"1", "4", "16", "128"})
    public int rows;

    @Param("2")
    public int threads;

    @Param("16")
    public int layers;

    private Arena arena;
    private VectorBackend backend;
    private List<Weight> weights;
    private Buffer x;
    private Buffer out;
    private int next;

    @Setup(Level.Trial)
    public void setUp() {
        String[] dims = shape.split("x");
        int outRows = Integer.parseInt(dims[0]);
        int cols = Integer.parseInt(dims[1]);
        GgmlType t = GgmlType.valueOf(type);
        arena = Arena.ofShared();
        Random rng = new Random(42);
        weights = new ArrayList<>();
        for (int l = 0; l < layers; l++) {
            weights.add(randomWeight(arena, rng, t, outRows, cols, "w" + l));
        }
        backend = new VectorBackend(threads);
        backend.prepare(weights);
        float[] input = new float[rows * cols]; // [rows][cols]
        for (int i = 0; i < input.length; i++) {
            input[i] = (float) rng.nextGaussian();
        }
        x = backend.allocate(input.length);
        backend.upload(input, input.length, x);
        out = backend.allocate((long) rows * outRows);
    }

    /** A weight of random values (Gaussian, like trained weights) encoded in {@code type}. */
    static Weight randomWeight(Arena arena, Random rng, GgmlType type, int rows, int cols, String name) {
        long rowBytes = type.byteSize(cols);
        MemorySegment data = arena.allocate(rows * rowBytes, 64);
        float[] row = new float[cols];
        byte[] encoded = new byte[(int) rowBytes];
        for (int r = 0; r < rows; r++) {
            for (int i = 0; i < cols; i++) {
                row[i] = (float) (rng.nextGaussian() * 0.02);
            }
            Quantize.values(type, row, 0, cols, encoded, 0);
            MemorySegment.copy(MemorySegment.ofArray(encoded), 0, data, r * rowBytes, rowBytes);
        }
        return new Weight(name, type, rows, cols, data);
    }

    @Benchmark
    public void matmul() {
        Weight w = weights.get(next);
        next = (next + 1) % weights.size();
        backend.matmul(w, null, x, rows, out);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        backend.close();
        arena.close();
    }
}
