package dev.gantry.worker.backend;

/**
 * Where the sequences of a flat batch are, for attention. The batch's tokens are grouped by
 * sequence: sequence {@code s} owns batch rows {@code queryStart[s] .. queryStart[s+1]-1}, and
 * after this step it has {@code contextLen[s]} tokens in the KV cache, so its row {@code j} (0-based
 * within the sequence) is at position {@code contextLen[s] - queryLen + j} and attends causally to
 * positions {@code 0 ..} that position, read through {@code blockTables[s]}.
 *
 * @param queryStart   [numSeqs + 1] first batch row of each sequence, then the total row count
 * @param contextLen   [numSeqs] tokens of each sequence in the cache after this step
 * @param blockTables  [numSeqs][>= ceil(contextLen / blockSize)] physical block ids
 */
public record AttentionBatch(int[] queryStart, int[] contextLen, int[][] blockTables) {

    public int numSeqs() {
        return contextLen.length;
    }

    public int numTokens() {
        return queryStart[contextLen.length];
    }

    public int queryLen(int seq) {
        return queryStart[seq + 1] - queryStart[seq];
    }
}
