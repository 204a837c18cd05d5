package dev.gantry.worker.model.tokenizer;

import java.util.Arrays;

/**
 * A binary min-heap of candidate merges for the SentencePiece and BPE merge loops. Each entry is a
 * {@code long} priority whose low 32 bits hold the left symbol's index, so that equal priorities
 * pop leftmost first (the tie-break llama.cpp uses), plus an {@code int} payload: the merged length,
 * which tells at pop time whether the pair is still the one that was queued.
 */
final class MergeQueue {
    private long[] keys = new long[64];
    private int[] payloads = new int[64];
    private int size;
    private int lastPayload;

    static long key(int priority, int left) {
        return ((long) priority << 32) | (left & 0xffffffffL);
    }

    static int left(long key) {
        return (int) key;
    }

    void clear() {
        size = 0;
    }

    boolean isEmpty() {
        return size == 0;
    }

    void push(long key, int payload) {
        if (size == keys.length) {
            keys = Arrays.copyOf(keys, size * 2);
            payloads = Arrays.copyOf(payloads, size * 2);
        }
        int i = size++;
        while (i > 0) {
            int parent = (i - 1) >>> 1;
            if (keys[parent] <= key) {
                break;
            }
            keys[i] = keys[parent];
            payloads[i] = payloads[parent];
            i = parent;
        }
        keys[i] = key;
        payloads[i] = payload;
    }

    /** Removes the smallest key and returns it; its payload is then {@link #lastPayload()}. */
    long pop() {
        long top = keys[0];
        lastPayload = payloads[0];
        long key = keys[--size];
        int payload = payloads[size];
        int i = 0;
        while (true) {
            int child = 2 * i + 1;
            if (child >= size) {
                break;
            }
            if (child + 1 < size && keys[child + 1] < keys[child]) {
                child++;
            }
            if (key <= keys[child]) {
                break;
            }
            keys[i] = keys[child];
            payloads[i] = payloads[child];
            i = child;
        }
        keys[i] = key;
        payloads[i] = payload;
        return top;
    }

    int lastPayload() {
        return lastPayload;
    }
}
