package dev.gantry.worker.backend.cuda;

import dev.gantry.worker.backend.AttentionBatch;

/**
 * An {@link AttentionBatch} as the attention kernels read it: for each batch row its sequence and
 * position, the sequences' block tables in one array of equal strides, the decode rows (a
 * sequence's one new token: {@code paged_attention.cu}) and the prompt chunks cut into tiles of at
 * most {@link #TILE_ROWS} consecutive rows ({@code flash_prefill.cu}).
 *
 * @param rowSeq     [rows] the sequence of each row
 * @param rowPos     [rows] the position of each row: it attends to positions 0..rowPos
 * @param tables     [numSeqs][maxBlocks] block ids, unused entries 0
 * @param maxBlocks  the stride of {@code tables}: the longest table's length rounded up to a power of two
 * @param decodeRows [decodes] the rows of sequences with one query row
 * @param tileSeq    [tiles] each tile's sequence
 * @param tileRow    [tiles] its first batch row
 * @param tileLen    [tiles] its rows, 1..16
 * @param tilePos    [tiles] the position of its first row
 */
record AttentionRows(int rows, int[] rowSeq, int[] rowPos, int[] tables, int maxBlocks, int[] decodeRows,
        int[] tileSeq, int[] tileRow, int[] tileLen, int[] tilePos) {
    static final int TILE_ROWS = 16; // flash_prefill.cu's kTileRows

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
        // A power of two: the stride is a kernel argument, and a decode step's launches must repeat
        // while its sequences grow for it to be replayed as a CUDA graph (StepGraphs).
        maxBlocks = maxBlocks == 1 ? 1 : Integer.highestOneBit(maxBlocks - 1) << 1;
        int[] tables = new int[batch.numSeqs() * maxBlocks];
        for (int s = 0; s < batch.numSeqs(); s++) {
            int[] t = batch.blockTables()[s];
            System.arraycopy(t, 0, tables, s * maxBlocks, t.length);
        }
        java.util.List<int[]> tiles = new java.util.ArrayList<>();
        int[] decodes = new int[rows];
        int decodeCount = 0;
        for (int s = 0; s < batch.numSeqs(); s++) {
            int qLen = batch.queryLen(s);
            int start = batch.queryStart()[s];
            if (qLen == 1) {
                decodes[decodeCount++] = start;
                continue;
            }
            for (int j = 0; j < qLen; j += TILE_ROWS) {
                tiles.add(new int[] {s, start + j, Math.min(TILE_ROWS, qLen - j), rowPos[start + j]});
            }
        }
        int[][] columns = new int[4][tiles.size()];
        for (int t = 0; t < tiles.size(); t++) {
            for (int c = 0; c < 4; c++) {
                columns[c][t] = tiles.get(t)[c];
            }
        }
        return new AttentionRows(rows, rowSeq, rowPos, tables, maxBlocks, java.util.Arrays.copyOf(decodes, decodeCount),
                columns[0], columns[1], columns[2], columns[3]);
    }
}
