package dev.gantry.worker.model.grammar;

import java.util.Arrays;

/**
 * The grammar state of one sequence: which tokens may come next, and advancing by the sampled
 * one. Not thread-safe: one matcher per sequence, used by one thread (the engine's step thread).
 *
 * <p>End-of-generation tokens are allowed exactly when the text so far is a complete match;
 * other control tokens never. After an end-of-generation token is accepted only end-of-generation
 * tokens are allowed.
 */
public final class GrammarMatcher {
    private final CompiledGrammar grammar;
    private long position;
    private boolean ended;

    GrammarMatcher(CompiledGrammar grammar, long position) {
        this.grammar = grammar;
        this.position = position;
    }

    /** An independent matcher in the same state (for speculation or look-ahead). */
    public GrammarMatcher copy() {
        GrammarMatcher m = new GrammarMatcher(grammar, position);
        m.ended = ended;
        return m;
    }

    /**
     * Sets logits of every token not allowed next to -Infinity: {@code logits[offset .. offset+vocabSize)}.
     * Ids at or beyond the tokenizer's vocabulary (padding rows of the output matrix) are never allowed.
     */
    public void maskLogits(float[] logits, int offset, int vocabSize) {
        long[] mask = currentMask();
        for (int w = 0; w * 64 < vocabSize; w++) {
            int base = offset + w * 64;
            int limit = Math.min(64, vocabSize - w * 64);
            long refused = ~(w < mask.length ? mask[w] : 0L) & (limit == 64 ? -1L : (1L << limit) - 1);
            if (refused == -1L) {
                Arrays.fill(logits, base, base + 64, Float.NEGATIVE_INFINITY); // most words outside strings
            } else {
                for (; refused != 0; refused &= refused - 1) {
                    logits[base + Long.numberOfTrailingZeros(refused)] = Float.NEGATIVE_INFINITY;
                }
            }
        }
    }

    /** The allowed next tokens as a bitset (bit {@code id & 63} of word {@code id >> 6}); a fresh copy. */
    public long[] allowedTokens() {
        return currentMask().clone();
    }

    /** Whether {@code tokenId} may come next (cheap when the current mask is cached). */
    public boolean isAllowed(int tokenId) {
        long[] mask = currentMask();
        return tokenId >= 0 && tokenId >> 6 < mask.length && (mask[tokenId >> 6] >>> tokenId & 1L) != 0;
    }

    private long[] currentMask() {
        if (ended) {
            long[] mask = new long[(grammar.vocabSize() + 63) >>> 6];
            for (int id : grammar.endOfGenerationIds()) {
                mask[id >>> 6] |= 1L << id;
            }
            return mask;
        }
        return grammar.mask(position);
    }

    /** Advances by the sampled token; returns false (state unchanged) if it was not allowed. */
    public boolean accept(int tokenId) {
        if (grammar.isEndOfGeneration(tokenId)) {
            if (ended || grammar.accepting(position)) {
                ended = true;
                return true;
            }
            return false;
        }
        if (ended) {
            return false;
        }
        long next = grammar.step(position, tokenId);
        if (next == StackStore.REJECT) {
            return false;
        }
        position = next;
        return true;
    }

    /** The text is a complete match and nothing more can follow (only end-of-generation is allowed). */
    public boolean isTerminated() {
        return ended || grammar.finished(position);
    }

    /** The text so far is a complete match (more may still follow). */
    public boolean isAccepting() {
        return ended || grammar.accepting(position);
    }

    @Override
    public String toString() {
        return "GrammarMatcher[position=" + Long.toHexString(position) + (ended ? ", ended" : "") + "]";
    }
}
