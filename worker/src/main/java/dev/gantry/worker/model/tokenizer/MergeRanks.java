package dev.gantry.worker.model.tokenizer;

import java.util.Arrays;

/**
 * BPE merge ranks keyed by the pair of token ids they join: an open-addressing table of
 * {@code long} keys, so the merge loop looks pairs up without building strings. Like llama.cpp,
 * the first rank listed for a pair is the one that counts.
 */
final class MergeRanks {
    private final long[] keys;
    private final int[] ranks;
    private final int mask;

    MergeRanks(int expected) {
        int capacity = Integer.highestOneBit(Math.max(16, expected * 2 - 1)) << 1;
        keys = new long[capacity];
        ranks = new int[capacity];
        mask = capacity - 1;
        Arrays.fill(keys, -1L); // ids are non-negative, so no real key is -1
    }

    private static long key(int left, int right) {
        return ((long) left << 32) | right;
    }

    private int slot(long key) {
        long h = key * 0x9E3779B97F4A7C15L;
        return (int) (h ^ (h >>> 32)) & mask;
    }

    void putIfAbsent(int left, int right, int rank) {
        long k = key(left, right);
        int s = slot(k);
        while (keys[s] != -1L) {
            if (keys[s] == k) {
                return;
            }
            s = (s + 1) & mask;
        }
        keys[s] = k;
        ranks[s] = rank;
    }

    /** The rank of merging {@code left} with {@code right}, or -1 when they do not merge. */
    int get(int left, int right) {
        long k = key(left, right);
        for (int s = slot(k); keys[s] != -1L; s = (s + 1) & mask) {
            if (keys[s] == k) {
                return ranks[s];
            }
        }
        return -1;
    }
}
