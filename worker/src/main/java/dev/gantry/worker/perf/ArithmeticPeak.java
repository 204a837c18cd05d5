package dev.gantry.worker.perf;

import java.util.Arrays;
import java.util.function.DoubleSupplier;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The float multiply-add peak the Vector API reaches on this machine: each thread runs 12
 * independent chains of fused multiply-adds on registers (enough to cover the FMA latency of
 * every current x86 core), no memory traffic at all. It is the ceiling of any float kernel the
 * CPU backend can write; batched decode and prefill are measured against it. Counted as 2 FLOPs
 * per lane per multiply-add.
 */
public final class ArithmeticPeak {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final int CHAINS = 12;

    /** Keeps the results alive so the JIT cannot drop the work. */
    private static volatile float sink;

    private ArithmeticPeak() {}

    /** Best of {@code passes} passes of about {@code millis} ms each, in GFLOP/s, over {@code threads} threads. */
    public static double measure(int threads, int millis, int passes) {
        // Compile chains() before timing it, and size the passes from one timed call.
        double perIteration = onThreads(1, () -> {
            for (int i = 0; i < 3000; i++) {
                sink += chains(1000, i);
            }
            long t0 = System.nanoTime();
            sink += chains(1_000_000, 1);
            return (System.nanoTime() - t0) / 1e9 / 1_000_000;
        });
        int iterations = (int) Math.clamp(millis / 1000.0 / Math.max(1e-12, perIteration), 1000, Integer.MAX_VALUE);
        double best = 0;
        for (int p = 0; p < passes; p++) {
            double secs = onThreads(threads, () -> {
                long t0 = System.nanoTime();
                sink += chains(iterations, 7);
                return (System.nanoTime() - t0) / 1e9;
            });
            best = Math.max(best, (double) threads * iterations * CHAINS * F.length() * 2.0 / secs / 1e9);
        }
        return best;
    }

    /** Runs {@code task} on {@code threads} threads at once; returns the longest time any took. */
    private static double onThreads(int threads, DoubleSupplier task) {
        double[] secs = new double[threads];
        OnThreads.run(threads, t -> secs[t] = task.getAsDouble());
        return Arrays.stream(secs).max().orElse(0);
    }

    /**
     * 12 chains of {@code a = a * m + c}. The shape matters to C2: an int trip count (it unrolls
     * counted int loops, not long ones) and a float seed; with a long counter, or with an int
     * seed and the constants made first, the loop ran at half this rate on the same core.
     */
    private static float chains(int iterations, float seed) {
        FloatVector a0 = FloatVector.broadcast(F, seed), a1 = a0.add(1), a2 = a0.add(2), a3 = a0.add(3);
        FloatVector a4 = a0.add(4), a5 = a0.add(5), a6 = a0.add(6), a7 = a0.add(7);
        FloatVector a8 = a0.add(8), a9 = a0.add(9), a10 = a0.add(10), a11 = a0.add(11);
        FloatVector m = FloatVector.broadcast(F, 0.999f);
        FloatVector c = FloatVector.broadcast(F, 0.001f);
        for (int i = 0; i < iterations; i++) {
            a0 = a0.fma(m, c);
            a1 = a1.fma(m, c);
            a2 = a2.fma(m, c);
            a3 = a3.fma(m, c);
            a4 = a4.fma(m, c);
            a5 = a5.fma(m, c);
            a6 = a6.fma(m, c);
            a7 = a7.fma(m, c);
            a8 = a8.fma(m, c);
            a9 = a9.fma(m, c);
            a10 = a10.fma(m, c);
            a11 = a11.fma(m, c);
        }
        return a0.add(a1).add(a2).add(a3).add(a4).add(a5).add(a6).add(a7).add(a8).add(a9).add(a10).add(a11)
                .reduceLanes(VectorOperators.ADD);
    }
}
