package dev.gantry.worker.engine;

import dev.gantry.worker.model.Pooling;
import dev.gantry.worker.model.llama.LlamaForward;
import java.util.List;

/**
 * Pools embedding requests' last hidden states (after the final norm) as their prompts are
 * computed, chunk by chunk: the mean of every position, the first (CLS) or the last; each
 * position counted once, even when a preempted sequence computes it again.
 */
final class EmbeddingPool {
    private EmbeddingPool() {}

    /** After a forward pass over {@code chunks}, adds the rows of the embedding sequences' positions not pooled before. */
    static void read(List<Sequence> seqs, int[] starts, int[][] chunks, LlamaForward forward) {
        int rowStart = 0;
        for (int i = 0; i < seqs.size(); i++) {
            Sequence seq = seqs.get(i);
            int len = chunks[i].length;
            if (seq.pooled != null) {
                Pooling p = seq.request.pooling();
                // [from, to): positions of this chunk the pooling reads and has not read yet
                int from = Math.max(starts[i], seq.pooledRows);
                int to = Math.min(starts[i] + len, seq.promptLength);
                if (p == Pooling.CLS) {
                    to = Math.min(to, 1);
                } else if (p == Pooling.LAST) {
                    from = Math.max(from, seq.promptLength - 1);
                }
                if (from < to) {
                    add(seq, rowStart + from - starts[i], from, to, forward);
                }
                seq.pooledRows = Math.max(seq.pooledRows, starts[i] + len);
            }
            rowStart += len;
        }
    }

    private static void add(Sequence seq, int firstRow, int from, int to, LlamaForward forward) {
        int dim = forward.dim();
        for (int p = from; p < to; p += forward.maxLogitRows()) {
            int count = Math.min(forward.maxLogitRows(), to - p);
            int[] rows = new int[count];
            for (int j = 0; j < count; j++) {
                rows[j] = firstRow + (p - from) + j;
            }
            float[] hidden = forward.hiddenOfRows(rows); // [count][dim]
            for (int j = 0; j < count; j++) {
                for (int d = 0; d < dim; d++) {
                    seq.pooled[d] += hidden[j * dim + d];
                }
            }
        }
    }

    /** The sequence's embedding: the pooled state (divided by the prompt length for the mean), normalised to length 1. */
    static float[] finish(Sequence seq) {
        double[] v = seq.pooled;
        double scale = seq.request.pooling() == Pooling.MEAN ? 1.0 / seq.promptLength : 1.0;
        double norm = 0;
        for (double x : v) {
            norm += x * scale * x * scale;
        }
        double inv = norm > 0 ? 1 / Math.sqrt(norm) : 0;
        float[] out = new float[v.length];
        for (int d = 0; d < v.length; d++) {
            out[d] = (float) (v[d] * scale * inv);
        }
        return out;
    }
}
