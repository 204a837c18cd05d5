package dev.gantry.worker.model.llama;

import dev.gantry.worker.backend.AttentionBatch;

/**
 * One step's flat batch of tokens from many sequences, grouped by sequence (see {@link
 * AttentionBatch}): some sequences bring a chunk of their prompt, others one decode token.
 *
 * @param tokens     [numTokens] token ids
 * @param positions  [numTokens] position of each token in its sequence
 * @param slots      [numTokens] KV-cache slot (block * blockSize + offset) each token's K/V is written to
 * @param attention  where each sequence's rows are and its block table
 * @param logitRows  batch rows whose logits are wanted (typically the last row of each sequence
 *                   that has finished its prompt), in the order the logits are returned
 */
public record ForwardBatch(int[] tokens, int[] positions, int[] slots, AttentionBatch attention, int[] logitRows) {

    public int numTokens() {
        return tokens.length;
    }

    /**
     * Builds the batch from per-sequence pieces: sequence {@code s} contributes {@code newTokens[s]}
     * starting at position {@code start[s]}, its block table {@code blockTables[s]}, and wants logits
     * for its last token when {@code wantLogits[s]}.
     */
    public static ForwardBatch of(int[][] newTokens, int[] start, int[][] blockTables, int blockSize, boolean[] wantLogits) {
        int seqs = newTokens.length;
        int total = 0;
        int logits = 0;
        for (int s = 0; s < seqs; s++) {
            total += newTokens[s].length;
            logits += wantLogits[s] ? 1 : 0;
        }
        int[] tokens = new int[total];
        int[] positions = new int[total];
        int[] slots = new int[total];
        int[] queryStart = new int[seqs + 1];
        int[] contextLen = new int[seqs];
        int[] logitRows = new int[logits];
        int row = 0;
        int l = 0;
        for (int s = 0; s < seqs; s++) {
            queryStart[s] = row;
            for (int j = 0; j < newTokens[s].length; j++, row++) {
                int pos = start[s] + j;
                tokens[row] = newTokens[s][j];
                positions[row] = pos;
                slots[row] = blockTables[s][pos / blockSize] * blockSize + pos % blockSize;
            }
            contextLen[s] = start[s] + newTokens[s].length;
            if (wantLogits[s]) {
                logitRows[l++] = row - 1;
            }
        }
        queryStart[seqs] = row;
        return new ForwardBatch(tokens, positions, slots, new AttentionBatch(queryStart, contextLen, blockTables), logitRows);
    }
}
