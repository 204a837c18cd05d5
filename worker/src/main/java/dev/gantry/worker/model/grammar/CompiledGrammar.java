package dev.gantry.worker.model.grammar;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A grammar compiled against one vocabulary: the recognizer with its interned states, the shared
 * vocabulary trie and a bounded LRU cache of token masks keyed by recognizer position (state plus
 * pending UTF-8 bytes), which JSON decoding revisits constantly (inside a string, after a comma).
 * Shared by all the requests with the same spec; safe for concurrent matchers (they lock this
 * grammar's recognizer for each mask or token, never per byte).
 */
public final class CompiledGrammar {
    /** Interned recognizer states after which {@link GrammarCompiler} replaces the grammar (some 20 MiB of tables). */
    static final int MAX_STATES = 20_000;

    private final StackStore store;
    private final TokenTrie trie;
    private final int maskWords;
    private final Map<Long, long[]> masks;

    CompiledGrammar(Grammar grammar, TokenTrie trie, int maskCacheEntries) {
        this.store = new StackStore(grammar);
        this.trie = trie;
        this.maskWords = (trie.vocabSize + 63) >>> 6;
        this.masks = new LinkedHashMap<>(64, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<Long, long[]> eldest) {
                return size() > maskCacheEntries;
            }
        };
    }

    /** A matcher at the start of the output, for one sequence. */
    public GrammarMatcher newMatcher() {
        return new GrammarMatcher(this, StackStore.position(store.initialState(), 0));
    }

    /** The tokenizer's vocabulary size, the length in bits of every mask. */
    public int vocabSize() {
        return trie.vocabSize;
    }

    /** The allowed tokens at {@code position}; the caller must not modify the array. */
    long[] mask(long position) {
        synchronized (store) {
            long[] mask = masks.get(position);
            if (mask == null) {
                mask = new long[maskWords];
                trie.allowed(store, position, mask);
                if (accepting(position)) {
                    for (int id : trie.endOfGeneration) {
                        mask[id >>> 6] |= 1L << id;
                    }
                }
                masks.put(position, mask);
            }
            return mask;
        }
    }

    /** The position after the token's bytes, or {@link StackStore#REJECT}. */
    long step(long position, int tokenId) {
        if (tokenId < 0 || tokenId >= trie.vocabSize || trie.tokenizer.isControl(tokenId)
                || trie.tokenizer.isEndOfGeneration(tokenId)) {
            return StackStore.REJECT;
        }
        byte[] bytes = trie.tokenizer.tokenBytes(tokenId);
        if (bytes.length == 0) {
            return StackStore.REJECT;
        }
        synchronized (store) {
            long p = position;
            for (int i = 0; i < bytes.length && p != StackStore.REJECT; i++) {
                p = store.step(p, bytes[i] & 0xFF);
            }
            return p;
        }
    }

    boolean accepting(long position) {
        synchronized (store) {
            return StackStore.pendingOf(position) == 0 && store.accepting(StackStore.stateOf(position));
        }
    }

    boolean finished(long position) {
        synchronized (store) {
            return StackStore.pendingOf(position) == 0 && store.finished(StackStore.stateOf(position));
        }
    }

    /**
     * Whether the recognizer's interned tables have grown past {@link #MAX_STATES} (outputs that
     * keep reaching new positions, such as ever deeper JSON nesting), so the compiler should drop it.
     */
    boolean oversized() {
        synchronized (store) {
            return store.stateCount() > MAX_STATES;
        }
    }

    boolean isEndOfGeneration(int tokenId) {
        return tokenId >= 0 && tokenId < trie.vocabSize && trie.tokenizer.isEndOfGeneration(tokenId);
    }

    int[] endOfGenerationIds() {
        return trie.endOfGeneration;
    }
}
