package dev.gantry.worker.model.sample;

/**
 * A (value, token id) pair packed into one long that orders by value, then by lower id first,
 * so that top-k and top-p can use primitive sorts and heaps without index arrays or boxing.
 * The heap helpers keep a min-heap of such keys: its root is the worst of the best k.
 */
final class PackedKeys {
    private PackedKeys() {}

    /**
     * The key of (value, id): larger value first, then lower id. The float's bits are made to sort as signed ints
     * (negative values get their magnitude bits flipped); NaN counts as -infinity.
     */
    static long key(float value, int id) {
        float v = value != value ? Float.NEGATIVE_INFINITY : value + 0f; // + 0f turns -0 into +0
        int bits = Float.floatToRawIntBits(v);
        int sortable = bits ^ ((bits >> 31) & 0x7fffffff);
        return ((long) sortable << 32) | (Integer.MAX_VALUE - id);
    }

    static int idOf(long key) {
        return Integer.MAX_VALUE - (int) key;
    }

    /** Adds {@code key} to a heap of {@code pos} keys and restores the heap. */
    static void siftUp(long[] heap, int pos, long key) {
        while (pos > 0) {
            int parent = (pos - 1) >>> 1;
            if (heap[parent] <= key) {
                break;
            }
            heap[pos] = heap[parent];
            pos = parent;
        }
        heap[pos] = key;
    }

    /** Replaces the root (the smallest key) with {@code key} and restores the heap. */
    static void replaceMin(long[] heap, int size, long key) {
        int pos = 0;
        while (true) {
            int child = 2 * pos + 1;
            if (child >= size) {
                break;
            }
            if (child + 1 < size && heap[child + 1] < heap[child]) {
                child++;
            }
            if (key <= heap[child]) {
                break;
            }
            heap[pos] = heap[child];
            pos = child;
        }
        heap[pos] = key;
    }
}
