package dev.gantry.worker.model.grammar;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The pushdown recognizer of a {@link Grammar}, with every structure interned so a recognizer state
 * is a pair of ints and transitions are memoized.
 *
 * <p><b>Stacks</b> are hash-consed linked lists: node = (pc, parent node), node 0 the empty stack,
 * which means "the root rule is complete". A node's pc never points at {@link Grammar#END} (that
 * position is popped when the node is made, which is also what makes right recursion and
 * {@code x*} run in constant depth). A <em>leaf</em> stack is one whose top is a char set, or the
 * empty stack: the expanded form the recognizer keeps.
 *
 * <p><b>States</b> are interned sorted sets of leaves (ids from 0). Advancing by a code point maps
 * every leaf whose top char set accepts it to its memoized successor leaves; the union is the next
 * state. ASCII transitions are cached in a table per state, so walking the vocabulary inside a JSON
 * string costs an array read per byte.
 *
 * <p><b>Partial UTF-8</b> is part of the recognizer position: {@link #step} consumes bytes, keeps an
 * incomplete character as a packed {@code pending} int (length, bytes still needed, bits so far)
 * and refuses a byte as soon as no allowed character can start with the bytes seen.
 *
 * <p>Not thread-safe: callers hold this object's monitor around every use (one lock per mask or
 * token, not per byte).
 */
final class StackStore {
    /** A rejected position from {@link #step}. */
    static final long REJECT = -1L;
    private static final int[] MIN_CP = {0, 0, 0x80, 0x800, 0x10000};

    final Grammar grammar;
    private int[] nodePc = new int[256];
    private int[] nodeParent = new int[256];
    private int[][] nodeSucc = new int[256][];
    /** Per node: the expansion that last expanded it, so a tail-reference cycle is followed once. */
    private int[] nodeExpansion = new int[256];
    private int expansion;
    private int nodeCount = 1;
    private final Map<Long, Integer> nodeIds = new HashMap<>();

    private final List<int[]> sets = new ArrayList<>();
    private int[][] asciiNext = new int[64][]; // per state: next state + 1, 0 = not computed yet
    private long[][] asciiSelfLoops = new long[64][]; // per state, lazily: the ASCII bytes that lead back to it
    private final Map<IntsKey, Integer> setIds = new HashMap<>();
    private final Map<Long, Integer> wideNext = new HashMap<>();
    private final int initial;

    private int[] scratch = new int[64];
    private int scratchSize;

    StackStore(Grammar grammar) {
        this.grammar = grammar;
        scratchSize = 0;
        expansion++;
        for (int start : grammar.ruleAlts[grammar.root]) {
            expand(node(start, 0));
        }
        if (scratchSize == 0) {
            throw new GrammarException("the grammar cannot match any text: rule \"" + grammar.ruleNames[grammar.root]
                    + "\" only leads back to rules being expanded");
        }
        initial = internScratch();
    }

    /** The state before any input. */
    int initialState() {
        return initial;
    }

    /** A position: state in the high int, pending UTF-8 in the low int. */
    static long position(int state, int pending) {
        return (long) state << 32 | (pending & 0xFFFFFFFFL);
    }

    static int stateOf(long position) {
        return (int) (position >>> 32);
    }

    static int pendingOf(long position) {
        return (int) position;
    }

    /** Whether the root rule can be complete here (the empty stack is among the leaves). */
    boolean accepting(int state) {
        return sets.get(state)[0] == 0;
    }

    /** Whether the root rule is complete and nothing can follow. */
    boolean finished(int state) {
        int[] leaves = sets.get(state);
        return leaves.length == 1 && leaves[0] == 0;
    }

    /** The leaves of a state (sorted node ids), for tests and debugging. */
    int[] leaves(int state) {
        return sets.get(state).clone();
    }

    /** The code points some leaf of the state accepts next (tests and debugging). */
    int[] nextChars(int state) {
        int[] chars = CharRanges.EMPTY;
        for (int leaf : sets.get(state)) {
            if (leaf != 0) {
                chars = CharRanges.union(chars, grammar.charsets[grammar.arg[nodePc[leaf]]]);
            }
        }
        return chars;
    }

    int stateCount() {
        return sets.size();
    }

    /** Consumes one byte of UTF-8; returns the next position or {@link #REJECT}. */
    long step(long position, int b) {
        int state = stateOf(position);
        int pending = pendingOf(position);
        if (pending == 0) {
            if (b < 0x80) {
                int next = advance(state, b);
                return next < 0 ? REJECT : position(next, 0);
            }
            int len;
            int bits;
            if ((b & 0xE0) == 0xC0) {
                len = 2;
                bits = b & 0x1F;
            } else if ((b & 0xF0) == 0xE0) {
                len = 3;
                bits = b & 0x0F;
            } else if ((b & 0xF8) == 0xF0) {
                len = 4;
                bits = b & 0x07;
            } else {
                return REJECT;
            }
            return feasible(state, bits, len - 1, len) ? position(state, len << 28 | (len - 1) << 24 | bits) : REJECT;
        }
        if ((b & 0xC0) != 0x80) {
            return REJECT;
        }
        int len = pending >>> 28;
        int need = (pending >>> 24 & 0xF) - 1;
        int bits = (pending & 0xFFFFFF) << 6 | (b & 0x3F);
        if (need > 0) {
            return feasible(state, bits, need, len) ? position(state, len << 28 | need << 24 | bits) : REJECT;
        }
        if (bits < MIN_CP[len] || bits > CharRanges.MAX || (bits >= 0xD800 && bits <= 0xDFFF)) {
            return REJECT;
        }
        int next = advance(state, bits);
        return next < 0 ? REJECT : position(next, 0);
    }

    /** Whether some valid character whose first bytes give {@code bits} (need more to come) is allowed. */
    private boolean feasible(int state, int bits, int need, int len) {
        int lo = Math.max(bits << (6 * need), MIN_CP[len]);
        int hi = Math.min(bits << (6 * need) | ((1 << (6 * need)) - 1), CharRanges.MAX);
        if (lo > hi || (lo >= 0xD800 && hi <= 0xDFFF)) {
            return false;
        }
        for (int leaf : sets.get(state)) {
            if (leaf != 0 && grammar.acceptsSomeOf(nodePc[leaf], lo, hi)) {
                return true;
            }
        }
        return false;
    }

    /**
     * The ASCII characters after which the state is unchanged, as two words (0-63, 64-127): inside
     * a JSON string almost all of them. A vocabulary subtree made only of these is allowed whole.
     */
    long[] asciiSelfLoops(int state) {
        long[] loops = asciiSelfLoops[state];
        if (loops == null) {
            loops = new long[2];
            for (int cp = 0; cp < 128; cp++) {
                if (advance(state, cp) == state) {
                    loops[cp >>> 6] |= 1L << cp;
                }
            }
            asciiSelfLoops[state] = loops;
        }
        return loops;
    }

    /** The state after the code point {@code cp}, or -1 if no leaf accepts it. */
    int advance(int state, int cp) {
        if (cp < 128) {
            int cached = asciiNext[state][cp];
            if (cached != 0) {
                return cached - 1;
            }
            int next = computeAdvance(state, cp);
            asciiNext[state][cp] = next + 1;
            return next;
        }
        long key = (long) state << 21 | cp;
        Integer cached = wideNext.get(key);
        if (cached != null) {
            return cached;
        }
        int next = computeAdvance(state, cp);
        if (wideNext.size() > 1_000_000) {
            wideNext.clear(); // a memo, not a table of record: bound it for long multilingual outputs
        }
        wideNext.put(key, next);
        return next;
    }

    private int computeAdvance(int state, int cp) {
        int[] leaves = sets.get(state);
        scratchSize = 0;
        for (int leaf : leaves) {
            if (leaf != 0 && grammar.accepts(nodePc[leaf], cp)) {
                for (int s : successors(leaf)) {
                    push(s);
                }
            }
        }
        return scratchSize == 0 ? -1 : internScratch();
    }

    /** The leaves after the top char set of {@code leaf} consumed a character (memoized). */
    private int[] successors(int leaf) {
        int[] succ = nodeSucc[leaf];
        if (succ == null) {
            int[] saved = Arrays.copyOf(scratch, scratchSize);
            scratchSize = 0;
            expansion++;
            expand(node(nodePc[leaf] + 1, nodeParent[leaf]));
            succ = sortedDistinct(scratch, scratchSize);
            nodeSucc[leaf] = succ;
            scratch = Arrays.copyOf(saved, Math.max(saved.length, 64));
            scratchSize = saved.length;
        }
        return succ;
    }

    /** Adds the leaves {@code node} expands to (following rule references leftmost) to the scratch list. */
    private void expand(int node) {
        if (node == 0) {
            push(0);
            return;
        }
        int pc = nodePc[node];
        if (grammar.kind[pc] == Grammar.CHARS) {
            push(node);
            return;
        }
        if (nodeExpansion[node] == expansion) {
            return; // already expanded with the same continuation in this expansion: no new leaves
        }
        nodeExpansion[node] = expansion;
        int ret = node(pc + 1, nodeParent[node]);
        for (int start : grammar.ruleAlts[grammar.arg[pc]]) {
            expand(node(start, ret));
        }
    }

    /** The node (pc, parent), popping while pc is at the end of an alternative (tail calls). */
    private int node(int pc, int parent) {
        if (grammar.kind[pc] == Grammar.END) {
            return parent;
        }
        long key = (long) pc << 32 | parent;
        Integer id = nodeIds.get(key);
        if (id != null) {
            return id;
        }
        if (nodeCount == nodePc.length) {
            int size = nodeCount * 2;
            nodePc = Arrays.copyOf(nodePc, size);
            nodeParent = Arrays.copyOf(nodeParent, size);
            nodeSucc = Arrays.copyOf(nodeSucc, size);
            nodeExpansion = Arrays.copyOf(nodeExpansion, size);
        }
        nodePc[nodeCount] = pc;
        nodeParent[nodeCount] = parent;
        nodeIds.put(key, nodeCount);
        return nodeCount++;
    }

    private void push(int leaf) {
        if (scratchSize == scratch.length) {
            scratch = Arrays.copyOf(scratch, scratchSize * 2);
        }
        scratch[scratchSize++] = leaf;
    }

    private int internScratch() {
        int[] leaves = sortedDistinct(scratch, scratchSize);
        return setIds.computeIfAbsent(new IntsKey(leaves), k -> {
            sets.add(leaves);
            if (sets.size() > asciiNext.length) {
                asciiNext = Arrays.copyOf(asciiNext, asciiNext.length * 2);
                asciiSelfLoops = Arrays.copyOf(asciiSelfLoops, asciiNext.length);
            }
            asciiNext[sets.size() - 1] = new int[128];
            return sets.size() - 1;
        });
    }

    private static int[] sortedDistinct(int[] values, int size) {
        int[] sorted = Arrays.copyOf(values, size);
        Arrays.sort(sorted);
        int k = 0;
        for (int i = 0; i < sorted.length; i++) {
            if (k == 0 || sorted[i] != sorted[k - 1]) {
                sorted[k++] = sorted[i];
            }
        }
        return k == sorted.length ? sorted : Arrays.copyOf(sorted, k);
    }

    /** Whether the whole text matches (a test and debugging aid). */
    boolean matches(String text) {
        long pos = position(initial, 0);
        for (byte b : text.getBytes(java.nio.charset.StandardCharsets.UTF_8)) {
            pos = step(pos, b & 0xFF);
            if (pos == REJECT) {
                return false;
            }
        }
        return pendingOf(pos) == 0 && accepting(stateOf(pos));
    }
}
