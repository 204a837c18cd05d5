package dev.gantry.worker.model.tokenizer;

import dev.gantry.worker.model.ModelLoadException;
import java.nio.charset.StandardCharsets;
import java.util.Map;

/**
 * Byte-level BPE (GGUF tokenizer model {@code gpt2}: GPT-2, Llama 3, SmolLM, Qwen2...) as
 * llama.cpp runs it: the pre-tokenizer cuts text into words, each word's UTF-8 bytes are spelt in
 * GPT-2's byte alphabet, and adjacent symbols are merged lowest merge rank first (leftmost first
 * among equals) until no listed merge applies.
 */
final class ByteLevelBpeTokenizer extends Tokenizer {
    private final PreTokenizer pre;
    private final MergeRanks ranks;
    /** For each merge rank, the token the merge produces, or -1 if that text is not a token. */
    private final int[] mergeResult;
    /** The one-character token of each byte-alphabet character, or -1. */
    private final int[] charTokens = new int[256 + 68];

    ByteLevelBpeTokenizer(Map<String, Object> meta, String source) {
        this(meta, source, PreTokenizer.forName(meta.get("tokenizer.ggml.pre") instanceof String s ? s : null, source));
    }

    private ByteLevelBpeTokenizer(Map<String, Object> meta, String source, PreTokenizer pre) {
        super(new Vocabulary(meta, source, true, pre.addBosDefault(), 11, 11, -1, false));
        this.pre = pre;
        if (!(meta.get("tokenizer.ggml.merges") instanceof String[] merges)) {
            throw new ModelLoadException(source + ": the byte-level BPE tokenizer has no merges (metadata key "
                    + "tokenizer.ggml.merges is missing or not an array of strings)");
        }
        ranks = new MergeRanks(merges.length);
        mergeResult = new int[merges.length];
        for (int rank = 0; rank < merges.length; rank++) {
            String merge = merges[rank];
            int space = merge.indexOf(' ', 1); // from 1: a merge may start with a space character
            mergeResult[rank] = -1;
            if (space < 0) {
                continue;
            }
            String first = merge.substring(0, space);
            String second = merge.substring(space + 1);
            int left = vocab.index.find(first);
            int right = vocab.index.find(second);
            if (left >= 0 && right >= 0) {
                ranks.putIfAbsent(left, right, rank);
                mergeResult[rank] = vocab.index.find(first + second);
            }
        }
        char[] one = new char[1];
        for (int ch = 0; ch < charTokens.length; ch++) {
            one[0] = (char) ch;
            charTokens[ch] = vocab.index.find(one, 0, 1);
        }
    }

    @Override
    public String model() {
        return "gpt2";
    }

    /** The pre-tokenizer in use ({@code tokenizer.ggml.pre}, or what it fell back to). */
    String preTokenizer() {
        return pre.name();
    }

    @Override
    void encodeText(String text, boolean afterSpecial, IntList out) {
        IntList ends = pre.split(text);
        MergeQueue queue = new MergeQueue();
        int start = 0;
        for (int i = 0; i < ends.size(); i++) {
            int end = ends.get(i);
            encodeWord(ByteLevel.encode(text.substring(start, end)), queue, out);
            start = end;
        }
    }

    private void encodeWord(char[] w, MergeQueue queue, IntList out) {
        int n = w.length;
        if (n == 0) {
            return;
        }
        if (pre.ignoreMerges()) {
            int whole = vocab.index.find(w, 0, n);
            if (whole >= 0) {
                out.add(whole);
                return;
            }
        }
        // symbol i starts at char i for good: merges only ever grow the left symbol
        int[] ids = new int[n];
        int[] len = new int[n];
        int[] prev = new int[n];
        int[] next = new int[n];
        for (int i = 0; i < n; i++) {
            ids[i] = charTokens[w[i]];
            len[i] = 1;
            prev[i] = i - 1;
            next[i] = i + 1 < n ? i + 1 : -1;
        }
        queue.clear();
        for (int i = 1; i < n; i++) {
            offer(ids, len, queue, i - 1, i);
        }
        while (!queue.isEmpty()) {
            long key = queue.pop();
            int left = MergeQueue.left(key);
            int size = queue.lastPayload();
            int right = next[left];
            // stale once either side has grown or been absorbed: the lengths no longer add up
            if (len[left] == 0 || right < 0 || len[right] == 0 || len[left] + len[right] != size) {
                continue;
            }
            ids[left] = mergeResult[(int) (key >>> 32)];
            len[left] = size;
            len[right] = 0;
            next[left] = next[right];
            if (next[right] >= 0) {
                prev[next[right]] = left;
            }
            offer(ids, len, queue, prev[left], left);
            offer(ids, len, queue, left, next[left]);
        }
        for (int i = 0; i != -1; i = next[i]) {
            if (ids[i] >= 0) {
                out.add(ids[i]);
                continue;
            }
            // not a token (a merge whose result the vocabulary lacks): llama.cpp keeps whichever
            // single bytes of the spelling are tokens
            byte[] utf8 = new String(w, i, len[i]).getBytes(StandardCharsets.UTF_8);
            for (byte b : utf8) {
                if (b >= 0) {
                    int id = vocab.index.find(String.valueOf((char) b));
                    if (id >= 0) {
                        out.add(id);
                    }
                }
            }
        }
    }

    private void offer(int[] ids, int[] len, MergeQueue queue, int left, int right) {
        if (left < 0 || right < 0 || ids[left] < 0 || ids[right] < 0) {
            return;
        }
        int rank = ranks.get(ids[left], ids[right]);
        if (rank >= 0) {
            queue.push(MergeQueue.key(rank, left), len[left] + len[right]);
        }
    }
}
