package dev.gantry.worker.model.grammar;

import static dev.gantry.worker.model.grammar.Expr.alt;
import static dev.gantry.worker.model.grammar.Expr.chars;
import static dev.gantry.worker.model.grammar.Expr.literal;
import static dev.gantry.worker.model.grammar.Expr.seq;

import java.util.ArrayList;
import java.util.List;

/**
 * The decimal spellings of the integers in a range (JSON, no leading zeros, no {@code -0}), built
 * digit by digit so {@code minimum}/{@code maximum} on integers are enforced exactly.
 */
final class IntegerRange {
    /** Bounds beyond this magnitude are refused: 10^17 keeps every computation inside a long. */
    static final long LIMIT = 100_000_000_000_000_000L;
    private static final int[] DIGITS = {'0', '9'};

    private IntegerRange() {}

    /** The integers in {@code [min, max]}; a null bound is unbounded. Requires min <= max. */
    static Expr of(Long min, Long max) {
        List<Expr> parts = new ArrayList<>();
        if (min == null || min < 0) {
            long magnitudeLo = max != null && max < 0 ? -max : 1;
            parts.add(seq(literal("-"), natural(magnitudeLo, min == null ? null : -min)));
        }
        if (max == null || max >= 0) {
            parts.add(natural(min == null ? 0 : Math.max(min, 0), max));
        }
        return alt(parts);
    }

    /**
     * The decimal numbers in {@code [min, max]} for integral bounds (null: unbounded), written
     * without an exponent: an integer part, then optionally a fraction. At a bound itself only
     * zeros may follow the point, which keeps the range exact.
     */
    static Expr decimal(Long min, Long max) {
        List<Expr> parts = new ArrayList<>();
        if (min == null || min < 0) {
            parts.add(seq(literal("-"), magnitude(max != null && max < 0 ? -max : 0, min == null ? null : -min)));
        }
        if (max == null || max >= 0) {
            parts.add(magnitude(min == null ? 0 : Math.max(min, 0), max));
        }
        return alt(parts);
    }

    /** Unsigned decimals in {@code [lo, hi]} (hi null: unbounded), lo and hi integers. */
    private static Expr magnitude(long lo, Long hi) {
        Expr digits = new Expr.Repeat(chars(DIGITS), 1, -1);
        Expr anyFraction = Expr.optional(seq(literal("."), digits));
        Expr zeroFraction = Expr.optional(seq(literal("."), new Expr.Repeat(literal("0"), 1, -1)));
        List<Expr> parts = new ArrayList<>();
        if (hi == null || hi > lo) {
            parts.add(seq(natural(lo, hi == null ? null : hi - 1), anyFraction));
        }
        if (hi != null) {
            parts.add(seq(literal(Long.toString(hi)), zeroFraction));
        }
        return alt(parts);
    }

    /** Non-negative integers in {@code [lo, hi]}, hi null for unbounded. */
    private static Expr natural(long lo, Long hi) {
        List<Expr> parts = new ArrayList<>();
        int loLen = Long.toString(lo).length();
        if (hi == null) {
            parts.add(natural(lo, pow10(loLen) - 1));
            parts.add(seq(chars(new int[] {'1', '9'}), new Expr.Repeat(chars(DIGITS), loLen, -1)));
            return alt(parts);
        }
        for (int len = loLen; len <= Long.toString(hi).length(); len++) {
            long a = Math.max(lo, len == 1 ? 0 : pow10(len - 1));
            long b = Math.min(hi, pow10(len) - 1);
            if (a <= b) {
                parts.add(sameLength(Long.toString(a), Long.toString(b)));
            }
        }
        return alt(parts);
    }

    /** Digit strings of equal length between {@code a} and {@code b} inclusive. */
    private static Expr sameLength(String a, String b) {
        int n = a.length();
        char a0 = a.charAt(0);
        char b0 = b.charAt(0);
        if (n == 1) {
            return chars(new int[] {a0, b0});
        }
        String aRest = a.substring(1);
        String bRest = b.substring(1);
        if (a0 == b0) {
            return seq(literal(String.valueOf(a0)), sameLength(aRest, bRest));
        }
        if (aRest.equals("0".repeat(n - 1)) && bRest.equals("9".repeat(n - 1))) {
            return seq(chars(new int[] {a0, b0}), new Expr.Repeat(chars(DIGITS), n - 1, n - 1));
        }
        List<Expr> parts = new ArrayList<>();
        parts.add(seq(literal(String.valueOf(a0)), sameLength(aRest, "9".repeat(n - 1))));
        if (b0 - a0 >= 2) {
            parts.add(seq(chars(new int[] {a0 + 1, b0 - 1}), new Expr.Repeat(chars(DIGITS), n - 1, n - 1)));
        }
        parts.add(seq(literal(String.valueOf(b0)), sameLength("0".repeat(n - 1), bRest)));
        return alt(parts);
    }

    private static long pow10(int exp) {
        long p = 1;
        for (int i = 0; i < exp; i++) {
            p *= 10;
        }
        return p;
    }
}
