package dev.gantry.worker.model.sample;

import java.util.Arrays;

/**
 * Occurrence counts of token ids, sparse: memory grows with the number of distinct ids, not with
 * the vocabulary, because a server holds one per running sequence. The distinct ids are kept
 * dense in first-seen order so that applying penalties walks two small arrays.
 */
final class TokenCounter {
    private int[] ids = new int[16];
    private int[] counts = new int[16];
    private int size;
    /** Open addressing, linear probing: 0 = empty, otherwise index into ids/counts plus one. */
    private int[] slots = new int[32];

    /** Adds one occurrence of {@code id}. */
    void increment(int id) {
        int mask = slots.length - 1;
        int s = hash(id) & mask;
        while (true) {
            int ref = slots[s];
            if (ref == 0) {
                break;
            }
            if (ids[ref - 1] == id) {
                counts[ref - 1]++;
                return;
            }
            s = (s + 1) & mask;
        }
        if (size == ids.length) {
            ids = Arrays.copyOf(ids, size * 2);
            counts = Arrays.copyOf(counts, size * 2);
        }
        ids[size] = id;
        counts[size] = 1;
        size++;
        slots[s] = size;
        // Load factor at most 1/2 keeps probe chains short.
        if (size * 2 > slots.length) {
            rehash(slots.length * 2);
        }
    }

    /** How many times {@code id} was added (0 if never). */
    int count(int id) {
        int mask = slots.length - 1;
        int s = hash(id) & mask;
        while (true) {
            int ref = slots[s];
            if (ref == 0) {
                return 0;
            }
            if (ids[ref - 1] == id) {
                return counts[ref - 1];
            }
            s = (s + 1) & mask;
        }
    }

    /** Number of distinct ids. */
    int size() {
        return size;
    }

    /** The {@code i}-th distinct id, in first-seen order. */
    int idAt(int i) {
        return ids[i];
    }

    /** The count of {@link #idAt(int) idAt(i)}. */
    int countAt(int i) {
        return counts[i];
    }

    private void rehash(int capacity) {
        int[] fresh = new int[capacity];
        int mask = capacity - 1;
        for (int i = 0; i < size; i++) {
            int s = hash(ids[i]) & mask;
            while (fresh[s] != 0) {
                s = (s + 1) & mask;
            }
            fresh[s] = i + 1;
        }
        slots = fresh;
    }

    private static int hash(int id) {
        // Token ids are small and clustered; multiply by the golden ratio and keep the high bits
        // mixed into the low ones so that consecutive ids spread over the table.
        int h = id * 0x9E3779B9;
        return h ^ (h >>> 16);
    }
}
