package dev.gantry.worker.perf;

import dev.gantry.worker.backend.HostMemory;
import dev.gantry.worker.backend.cpu.NativeCpu;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * A STREAM-like read bandwidth: threads sum disjoint slices of one large off-heap array with
 * vector loads, the best of a few passes. It is the ceiling a memory-bound kernel can reach on
 * this machine with these threads; decode at batch 1 reads every weight once per token, so its
 * tokens/s times the bytes it reads, over this figure, says how close it is to that ceiling.
 *
 * <p>The array must be far larger than the last-level cache (the default 1 GiB is) so that what
 * is measured is memory, not cache. Where the native CPU kernels are loaded they read it (as they
 * read the weights): the Vector API's loop measured two thirds of what the machine reads, and
 * llama.cpp then "exceeded" the ceiling.
 */
public final class MemoryBandwidth {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    /** The native kernels, which read the array where they are loaded (null: the Vector API does). */
    private static final NativeCpu NATIVE = NativeCpu.get().orElse(null);

    /** Keeps the sums alive so the JIT cannot drop the loads. */
    private static volatile float sink;

    private MemoryBandwidth() {}

    /** Best read bandwidth in GB/s (10^9 bytes per second) over {@code passes} passes of {@code bytes} bytes. */
    public static double measure(int threads, long bytes, int passes) {
        long step = (long) threads * F.vectorByteSize() * 4;
        long size = Math.max(step, bytes / step * step);
        try (Arena arena = Arena.ofShared()) {
            // On the pages the packed weights get (huge pages where the system has them), so that
            // the ceiling and the products read the same kind of memory.
            MemorySegment a = HostMemory.allocate(size, false, arena);
            // Touch every page from the threads that will read it, as a first pass would.
            run(threads, a, size, true);
            // Compile sum() before timing it: interpreted, it reads at a few percent of the bandwidth.
            for (int i = 0; i < 2000; i++) {
                sink += sum(a, 0, Math.min(size, 64 << 10));
            }
            double best = 0;
            for (int p = 0; p < passes; p++) {
                long t0 = System.nanoTime();
                run(threads, a, size, false);
                double secs = (System.nanoTime() - t0) / 1e9;
                best = Math.max(best, size / secs / 1e9);
            }
            return best;
        }
    }

    private static void run(int threads, MemorySegment a, long size, boolean fill) {
        long slice = size / threads;
        OnThreads.run(threads, t -> {
            long from = t * slice;
            long to = t == threads - 1 ? size : from + slice;
            if (fill) {
                a.asSlice(from, to - from).fill((byte) 1);
            } else if (NATIVE != null) {
                sink += NATIVE.readBytes(a.asSlice(from, to - from));
            } else {
                sink += sum(a, from, to);
            }
        });
    }

    /** Sum of the floats in [from, to); four accumulators keep several loads in flight. */
    private static float sum(MemorySegment a, long from, long to) {
        int vb = F.vectorByteSize();
        FloatVector s0 = FloatVector.zero(F), s1 = s0, s2 = s0, s3 = s0;
        long i = from;
        for (; i + 4L * vb <= to; i += 4L * vb) {
            s0 = s0.add(FloatVector.fromMemorySegment(F, a, i, ByteOrder.LITTLE_ENDIAN));
            s1 = s1.add(FloatVector.fromMemorySegment(F, a, i + vb, ByteOrder.LITTLE_ENDIAN));
            s2 = s2.add(FloatVector.fromMemorySegment(F, a, i + 2L * vb, ByteOrder.LITTLE_ENDIAN));
            s3 = s3.add(FloatVector.fromMemorySegment(F, a, i + 3L * vb, ByteOrder.LITTLE_ENDIAN));
        }
        return s0.add(s1).add(s2).add(s3).reduceLanes(VectorOperators.ADD);
    }
}
