package dev.gantry.worker.model.grammar;

/**
 * A grammar lowered to flat rules, the form the recognizer runs on. Every rule is a list of
 * alternatives; every alternative is a sequence of elements ending in {@link #END}. An element is a
 * character set or a reference to a rule. Elements are addressed by a program counter ({@code pc})
 * into {@link #kind}/{@link #arg}, so a recognizer position is one int. Immutable.
 */
final class Grammar {
    static final int END = 0;
    static final int CHARS = 1;
    static final int REF = 2;

    /** Per pc: {@link #END}, {@link #CHARS} or {@link #REF}. */
    final int[] kind;
    /** Per pc: the char set index for {@link #CHARS}, the rule index for {@link #REF}. */
    final int[] arg;
    /** Per rule: the pc where each alternative starts. */
    final int[][] ruleAlts;
    final String[] ruleNames;
    final int[][] charsets;
    /** Per char set, bitmaps of ASCII membership: the hot path tests ASCII with two shifts. */
    private final long[] ascii0;
    private final long[] ascii1;
    final int root;

    Grammar(int[] kind, int[] arg, int[][] ruleAlts, String[] ruleNames, int[][] charsets, int root) {
        this.kind = kind;
        this.arg = arg;
        this.ruleAlts = ruleAlts;
        this.ruleNames = ruleNames;
        this.charsets = charsets;
        this.root = root;
        this.ascii0 = new long[charsets.length];
        this.ascii1 = new long[charsets.length];
        for (int c = 0; c < charsets.length; c++) {
            for (int cp = 0; cp < 128; cp++) {
                if (CharRanges.contains(charsets[c], cp)) {
                    if (cp < 64) {
                        ascii0[c] |= 1L << cp;
                    } else {
                        ascii1[c] |= 1L << (cp - 64);
                    }
                }
            }
        }
    }

    /** Whether the char set element at {@code pc} accepts {@code cp}. */
    boolean accepts(int pc, int cp) {
        int c = arg[pc];
        if (cp < 64) {
            return (ascii0[c] >>> cp & 1) != 0;
        }
        if (cp < 128) {
            return (ascii1[c] >>> (cp - 64) & 1) != 0;
        }
        return CharRanges.contains(charsets[c], cp);
    }

    /** Whether the char set element at {@code pc} accepts some code point in {@code [lo, hi]}. */
    boolean acceptsSomeOf(int pc, int lo, int hi) {
        return CharRanges.intersects(charsets[arg[pc]], lo, hi);
    }

    int ruleCount() {
        return ruleAlts.length;
    }
}
