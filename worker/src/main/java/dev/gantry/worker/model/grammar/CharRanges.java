package dev.gantry.worker.model.grammar;

import java.util.Arrays;

/**
 * Sets of Unicode code points as sorted, disjoint, non-adjacent inclusive ranges
 * {@code [lo0, hi0, lo1, hi1, ...]}. Immutable arrays; every operation returns a new canonical one,
 * so two equal sets have equal arrays.
 */
final class CharRanges {
    static final int MAX = 0x10FFFF;
    static final int[] EMPTY = {};
    static final int[] ANY = {0, MAX};

    private CharRanges() {}

    static int[] of(int cp) {
        return new int[] {cp, cp};
    }

    static int[] range(int lo, int hi) {
        if (lo > hi) {
            throw new GrammarException("invalid character range: " + fmt(lo) + "-" + fmt(hi) + " (start after end)");
        }
        return new int[] {lo, hi};
    }

    /** Sorts and merges arbitrary (possibly overlapping) ranges into canonical form. */
    static int[] normalize(int[] ranges) {
        int n = ranges.length / 2;
        long[] packed = new long[n];
        for (int i = 0; i < n; i++) {
            packed[i] = ((long) ranges[2 * i] << 32) | (ranges[2 * i + 1] & 0xFFFFFFFFL);
        }
        Arrays.sort(packed);
        int[] out = new int[ranges.length];
        int k = 0;
        for (long p : packed) {
            int lo = (int) (p >>> 32);
            int hi = (int) p;
            if (k > 0 && lo <= out[k - 1] + 1) {
                out[k - 1] = Math.max(out[k - 1], hi);
            } else {
                out[k++] = lo;
                out[k++] = hi;
            }
        }
        return Arrays.copyOf(out, k);
    }

    static int[] union(int[] a, int[] b) {
        int[] both = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, both, a.length, b.length);
        return normalize(both);
    }

    static int[] complement(int[] a) {
        int[] out = new int[a.length + 2];
        int k = 0;
        int next = 0;
        for (int i = 0; i < a.length; i += 2) {
            if (a[i] > next) {
                out[k++] = next;
                out[k++] = a[i] - 1;
            }
            next = a[i + 1] + 1;
        }
        if (next <= MAX) {
            out[k++] = next;
            out[k++] = MAX;
        }
        return Arrays.copyOf(out, k);
    }

    static int[] intersect(int[] a, int[] b) {
        return complement(union(complement(a), complement(b)));
    }

    static boolean contains(int[] set, int cp) {
        int lo = 0;
        int hi = set.length / 2 - 1;
        while (lo <= hi) {
            int mid = (lo + hi) >>> 1;
            if (cp < set[2 * mid]) {
                hi = mid - 1;
            } else if (cp > set[2 * mid + 1]) {
                lo = mid + 1;
            } else {
                return true;
            }
        }
        return false;
    }

    /** Whether any code point in {@code [lo, hi]} is in the set. */
    static boolean intersects(int[] set, int lo, int hi) {
        for (int i = 0; i < set.length; i += 2) {
            if (set[i] <= hi && set[i + 1] >= lo) {
                return true;
            }
        }
        return false;
    }

    static String fmt(int cp) {
        return cp >= 0x20 && cp < 0x7F ? "'" + (char) cp + "'" : String.format("U+%04X", cp);
    }
}
