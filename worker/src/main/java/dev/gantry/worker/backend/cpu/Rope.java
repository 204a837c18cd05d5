package dev.gantry.worker.backend.cpu;

import static dev.gantry.worker.backend.cpu.Simd.F;
import static dev.gantry.worker.backend.cpu.Simd.L;

import dev.gantry.worker.backend.RopeAngles;
import dev.gantry.worker.backend.RopeTable;
import java.util.Arrays;
import jdk.incubator.vector.FloatVector;

/**
 * Rotary position embedding. The cos/sin of every (row, pair) angle ({@link RopeAngles}, shared
 * with the CUDA backend) are computed once and kept: every layer of a forward step rotates Q and
 * K at the same positions, so the next call with the same positions and table reuses them.
 */
final class Rope {
    /**
     * The angles of one batch of positions.
     *
     * @param cos [rows][rotaryDim / 2]
     * @param sin [rows][rotaryDim / 2]
     */
    private record Angles(RopeTable rope, int[] positions, float[] cos, float[] sin) {}

    private final ThreadPool pool;
    /** The last batch's angles; replaced whole, so readers need no lock. */
    private volatile Angles cached;

    Rope(ThreadPool pool) {
        this.pool = pool;
    }

    /** x: [rows][heads * headDim], rotated in place; row r is at position positions[r]. */
    void run(float[] x, int rows, int heads, int headDim, int[] positions, RopeTable rope) {
        int half = rope.rotaryDim() / 2;
        if (half == 0 || rows == 0) {
            return;
        }
        Angles a = angles(rows, positions, rope);
        int grain = Math.max(1, 8192 / (heads * headDim));
        pool.parallelFor(rows, grain, (start, end, worker) -> {
            for (int r = start; r < end; r++) {
                for (int h = 0; h < heads; h++) {
                    int base = (r * heads + h) * headDim;
                    if (rope.neox()) {
                        neox(x, base, half, a.cos, a.sin, r * half);
                    } else {
                        interleaved(x, base, half, a.cos, a.sin, r * half);
                    }
                }
            }
        });
    }

    private Angles angles(int rows, int[] positions, RopeTable rope) {
        Angles a = cached;
        if (a != null && a.rope == rope && a.positions.length == rows
                && Arrays.equals(a.positions, 0, rows, positions, 0, rows)) {
            return a;
        }
        int half = rope.rotaryDim() / 2;
        RopeAngles table = new RopeAngles(new float[rows * half], new float[rows * half]);
        pool.parallelFor(rows, Math.max(1, 256 / half),
                (start, end, worker) -> RopeAngles.fill(rope, positions, start, end, table));
        float[] cos = table.cos();
        float[] sin = table.sin();
        a = new Angles(rope, Arrays.copyOf(positions, rows), cos, sin);
        cached = a;
        return a;
    }

    /** NEOX: pair i is (i, i + half), so both halves are contiguous vectors. */
    private static void neox(float[] x, int base, int half, float[] cos, float[] sin, int at) {
        int i = 0;
        for (int bound = F.loopBound(half); i < bound; i += L) {
            FloatVector x0 = FloatVector.fromArray(F, x, base + i);
            FloatVector x1 = FloatVector.fromArray(F, x, base + half + i);
            FloatVector c = FloatVector.fromArray(F, cos, at + i);
            FloatVector s = FloatVector.fromArray(F, sin, at + i);
            x0.mul(c).sub(x1.mul(s)).intoArray(x, base + i);
            x0.mul(s).add(x1.mul(c)).intoArray(x, base + half + i);
        }
        for (; i < half; i++) {
            rotate(x, base + i, base + half + i, cos[at + i], sin[at + i]);
        }
    }

    /** NORM: pair i is (2i, 2i + 1); interleaved, so plain scalar code (cheap next to matmul). */
    private static void interleaved(float[] x, int base, int half, float[] cos, float[] sin, int at) {
        for (int i = 0; i < half; i++) {
            rotate(x, base + 2 * i, base + 2 * i + 1, cos[at + i], sin[at + i]);
        }
    }

    private static void rotate(float[] x, int a, int b, float cos, float sin) {
        float x0 = x[a];
        float x1 = x[b];
        x[a] = x0 * cos - x1 * sin;
        x[b] = x0 * sin + x1 * cos;
    }
}
