package dev.gantry.worker.backend.cpu;

/**
 * Per-worker scratch arrays that grow on demand and are kept between calls, so kernels do not
 * allocate per row. Index by the worker index {@link ThreadPool} passes: the pool runs one loop
 * at a time and a worker index runs one chunk at a time, so no two chunks share an array.
 */
final class Scratch {
    /** [workers][grown on demand] */
    private final float[][] floats;

    Scratch(int workers) {
        floats = new float[workers][];
    }

    /** At least {@code n} floats owned by {@code worker}; contents are left over from earlier use. */
    float[] floats(int worker, int n) {
        float[] a = floats[worker];
        if (a == null || a.length < n) {
            a = new float[Math.max(n, a == null ? 0 : a.length * 3 / 2)];
            floats[worker] = a;
        }
        return a;
    }
}
