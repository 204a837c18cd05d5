package dev.gantry.worker.model.grammar;

import java.util.Arrays;

/** An int array compared by content, for hash maps that intern arrays. */
record IntsKey(int[] values) {
    @Override
    public boolean equals(Object o) {
        return o instanceof IntsKey k && Arrays.equals(values, k.values);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(values);
    }
}
