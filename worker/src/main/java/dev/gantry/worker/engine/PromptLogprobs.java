package dev.gantry.worker.engine;

import dev.gantry.worker.model.llama.LlamaForward;
import dev.gantry.worker.model.sample.Logprobs;
import java.util.List;

/**
 * Reads the log-probabilities of prompt tokens from a step's batch, for the sequences that asked
 * for them (completions' {@code echo} with {@code logprobs}: what evaluation harnesses sum into
 * a passage's log-likelihood). The row of prompt position p predicts token p + 1; the prompt's
 * last row predicts the first output token and is sampled as usual.
 */
final class PromptLogprobs {
    private PromptLogprobs() {}

    /**
     * After a forward pass over {@code chunks} (sequence i's tokens from {@code starts[i]}), reads
     * the rows of prompt positions not read before and appends their log-probabilities to each
     * sequence's list. Rows are computed from the pass's last hidden states, a few at a time.
     */
    static void read(List<Sequence> seqs, int[] starts, int[][] chunks, LlamaForward forward) {
        int rowStart = 0;
        for (int i = 0; i < seqs.size(); i++) {
            Sequence seq = seqs.get(i);
            int len = chunks[i].length;
            if (seq.promptLogprobs != null) {
                // [from, to): positions whose next token is a prompt token and whose row is new
                int from = Math.max(starts[i], seq.promptLogprobs.size());
                int to = Math.min(starts[i] + len, seq.promptLength - 1);
                if (from < to) {
                    read(seq, rowStart + from - starts[i], from, to, forward);
                }
            }
            rowStart += len;
        }
    }

    private static void read(Sequence seq, int firstRow, int from, int to, LlamaForward forward) {
        int vocab = forward.vocabSize();
        int tile = forward.maxLogitRows();
        int[] prompt = seq.request.promptTokens();
        int top = seq.request.promptLogprobs();
        for (int p = from; p < to; p += tile) {
            int count = Math.min(tile, to - p);
            int[] rows = new int[count];
            for (int j = 0; j < count; j++) {
                rows[j] = firstRow + (p - from) + j;
            }
            float[] logits = forward.logitsOfRows(rows); // [count][vocab]
            for (int j = 0; j < count; j++) {
                seq.promptLogprobs.add(Logprobs.of(logits, j * vocab, vocab, prompt[p + j + 1], top));
            }
        }
    }
}
