package dev.gantry.worker.backend.cuda;

import dev.gantry.worker.backend.AttentionBatch;

/**
 * An {@link AttentionBatch} as {@code paged_attention.cu} reads it: for each batch row its
 * sequence and position, and the sequences' block tables in one array of equal strides.
 *
 * @param rowSeq    [rows] the sequence of each row
 * @param rowPos    [rows] the position of each row: it attends to positions 0..rowPos
 * @param tables    [numSeqs][maxBlocks] block ids, unused entries 0
 * @param maxBlocks the stride of {@code tables}
 */
record AttentionRows(int rows, int[] rowSeq, int[] rowPos, int[] tables, int maxBlocks) {

    static AttentionRows of(AttentionBatch batch) {
        int rows = batch.numTokens();
        int[] rowSeq = new int[rows];
        int[] rowPos = new int[rows];
        int maxBlocks = 1;
        for (int s = 0; s < batch.numSeqs(); s++) {
            maxBlocks = Math.max(maxBlocks, batch.blockTables()[s].length);
            int qLen = batch.queryLen(s);
            for (int j = 0; j < qLen; j++) {
                int row = batch.queryStart()[s] + j;
                rowSeq[row] = s;
                rowPos[row] = batch.contextLen()[s] - qLen + j;
            }
        }
        int[] tables = new int[batch.numSeqs() * maxBlocks];
        for (int s = 0; s < batch.numSeqs(); s++) {
            int[] t = batch.blockTables()[s];
            System.arraycopy(t, 0, tables, s * maxBlocks, t.length);
        }
        return new AttentionRows(rows, rowSeq, rowPos, tables, maxBlocks);
    }
}
