package dev.gantry.worker.model.grammar;

import dev.gantry.worker.model.tokenizer.Tokenizer;
import java.util.Arrays;
import java.util.Comparator;

/**
 * The byte strings of a vocabulary as a trie laid out in depth-first preorder, built once per
 * tokenizer and shared by all its compiled grammars. Preorder makes a node's subtree the index
 * range {@code [i, end[i])}, so the mask walk is a loop that jumps past a whole subtree the moment
 * its prefix is refused. Control tokens, tokens without bytes and end-of-generation tokens are left
 * out: the matcher decides those separately.
 */
final class TokenTrie {
    final Tokenizer tokenizer;
    final int vocabSize;
    /** Per node: the byte leading to it (0-255), its depth (root 0) and the end of its subtree. */
    final int[] label;
    final int[] depth;
    final int[] end;
    /** Per node: where its tokens start in {@link #tokens}, and how many end here. */
    final int[] firstToken;
    final int[] tokenCount;
    final int[] tokens;
    final int maxDepth;
    /** Per node: the ASCII bytes on the paths below it, itself included (two words). */
    private final long[] subtreeBytes0;
    private final long[] subtreeBytes1;
    /** Per node: whether a byte at or below it is not ASCII (then the subtree is never taken whole). */
    private final boolean[] subtreeNonAscii;
    /** Per node (and one past the last): the index in {@link #tokens} where its subtree's tokens begin. */
    private final int[] subtreeTokens;
    /** End-of-generation token ids (allowed exactly when the text is a complete match). */
    final int[] endOfGeneration;

    TokenTrie(Tokenizer tokenizer) {
        this.tokenizer = tokenizer;
        this.vocabSize = tokenizer.vocabSize();
        this.endOfGeneration = tokenizer.endOfGenerationIds();
        byte[][] bytes = new byte[vocabSize][];
        Integer[] order = new Integer[vocabSize];
        int count = 0;
        long totalBytes = 0;
        for (int id = 0; id < vocabSize; id++) {
            if (tokenizer.isEndOfGeneration(id) || tokenizer.isControl(id)) {
                continue;
            }
            byte[] b = tokenizer.tokenBytes(id);
            if (b.length > 0) {
                bytes[id] = b;
                order[count++] = id;
                totalBytes += b.length;
            }
        }
        Integer[] sorted = Arrays.copyOf(order, count);
        Arrays.sort(sorted, Comparator.comparing((Integer id) -> bytes[id], Arrays::compareUnsigned));
        int capacity = (int) Math.min(Integer.MAX_VALUE - 8, totalBytes + 1);
        int[] lab = new int[capacity];
        int[] dep = new int[capacity];
        int[] ends = new int[capacity];
        int[] first = new int[capacity];
        int[] cnt = new int[capacity];
        this.tokens = new int[count];
        int[] firstBelow = new int[capacity + 1];
        int[] parent = new int[capacity];
        int[] path = new int[256 + 1]; // node at each depth of the current branch
        int pathLen = 1; // the root
        int nodes = 1;
        int deepest = 0;
        byte[] previous = new byte[0];
        for (int t = 0; t < count; t++) {
            byte[] b = bytes[sorted[t]];
            int common = Math.min(Arrays.mismatch(previous, b) < 0 ? b.length : Arrays.mismatch(previous, b), b.length);
            while (pathLen - 1 > common) { // close nodes below the shared prefix
                ends[path[--pathLen]] = nodes;
            }
            for (int d = common; d < b.length; d++) {
                if (pathLen == path.length) {
                    path = Arrays.copyOf(path, path.length * 2);
                }
                lab[nodes] = b[d] & 0xFF;
                dep[nodes] = d + 1;
                firstBelow[nodes] = t; // tokens are sorted, so a subtree's tokens are contiguous
                parent[nodes] = path[pathLen - 1];
                path[pathLen++] = nodes++;
            }
            int node = path[b.length];
            if (cnt[node] == 0) {
                first[node] = t;
            }
            cnt[node]++;
            tokens[t] = sorted[t];
            deepest = Math.max(deepest, b.length);
            previous = b;
        }
        while (pathLen > 0) {
            ends[path[--pathLen]] = nodes;
        }
        this.label = Arrays.copyOf(lab, nodes);
        this.depth = Arrays.copyOf(dep, nodes);
        this.end = Arrays.copyOf(ends, nodes);
        this.firstToken = Arrays.copyOf(first, nodes);
        this.tokenCount = Arrays.copyOf(cnt, nodes);
        this.maxDepth = deepest;
        this.subtreeTokens = Arrays.copyOf(firstBelow, nodes + 1);
        subtreeTokens[nodes] = count;
        this.subtreeBytes0 = new long[nodes];
        this.subtreeBytes1 = new long[nodes];
        this.subtreeNonAscii = new boolean[nodes];
        for (int i = nodes - 1; i >= 1; i--) { // children follow their parent in preorder
            int l = label[i];
            if (l >= 0x80) {
                subtreeNonAscii[i] = true;
            } else if (l < 64) {
                subtreeBytes0[i] |= 1L << l;
            } else {
                subtreeBytes1[i] |= 1L << l;
            }
            subtreeBytes0[parent[i]] |= subtreeBytes0[i];
            subtreeBytes1[parent[i]] |= subtreeBytes1[i];
            subtreeNonAscii[parent[i]] |= subtreeNonAscii[i];
        }
    }

    int nodeCount() {
        return label.length;
    }

    /**
     * Sets in {@code mask} the bit of every trie token the recognizer accepts from {@code start}:
     * depth-first over the trie, one recognizer step per node, skipping refused subtrees.
     */
    void allowed(StackStore store, long start, long[] mask) {
        long[] at = new long[maxDepth + 1];
        at[0] = start;
        int n = label.length;
        int i = 1;
        while (i < n) {
            int d = depth[i];
            long from = at[d - 1];
            int b = label[i];
            long p;
            if (b < 0x80 && StackStore.pendingOf(from) == 0) { // the common case, without the UTF-8 logic
                int state = StackStore.stateOf(from);
                long[] loops = store.asciiSelfLoops(state);
                if (!subtreeNonAscii[i] && (subtreeBytes0[i] & ~loops[0]) == 0 && (subtreeBytes1[i] & ~loops[1]) == 0) {
                    // every byte below keeps the state as it is: the whole subtree is allowed
                    for (int k = subtreeTokens[i], last = subtreeTokens[end[i]]; k < last; k++) {
                        int id = tokens[k];
                        mask[id >>> 6] |= 1L << id;
                    }
                    i = end[i];
                    continue;
                }
                int next = store.advance(state, b);
                p = next < 0 ? StackStore.REJECT : StackStore.position(next, 0);
            } else {
                p = store.step(from, b);
            }
            if (p == StackStore.REJECT) {
                i = end[i];
                continue;
            }
            at[d] = p;
            for (int k = firstToken[i], last = k + tokenCount[i]; k < last; k++) {
                int id = tokens[k];
                mask[id >>> 6] |= 1L << id;
            }
            i++;
        }
    }
}
