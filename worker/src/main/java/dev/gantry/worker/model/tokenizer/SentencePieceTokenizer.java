package dev.gantry.worker.model.tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.Map;

/**
 * SentencePiece (GGUF tokenizer model {@code llama}) as llama.cpp runs it: spaces become ▁, a
 * space is put in front of the text and of any text that follows a special token, then adjacent
 * symbols are merged greedily, highest-scoring resulting token first, and whatever is left that is
 * not a token falls back to {@code <0xNN>} byte tokens.
 */
final class SentencePieceTokenizer extends Tokenizer {
    private static final char SPACE_MARK = '\u2581';

    /** The {@code <0xNN>} token for each byte (or the byte's own one-character token), or -1. */
    private final int[] byteTokens = new int[256];

    SentencePieceTokenizer(Map<String, Object> meta, String source) {
        super(new Vocabulary(meta, source, false, true, 1, 2, 0, true));
        for (int b = 0; b < 256; b++) {
            int id = vocab.index.find(String.format("<0x%02X>", b));
            if (id < 0 && b < 0x80) {
                id = vocab.index.find(String.valueOf((char) b));
            }
            byteTokens[b] = id;
        }
    }

    @Override
    public String model() {
        return "llama";
    }

    @Override
    void encodeText(String text, boolean afterSpecial, IntList out) {
        String s = vocab.addSpacePrefix && afterSpecial ? " " + text : text;
        char[] c = s.replace(' ', SPACE_MARK).toCharArray();
        int n = Character.codePointCount(c, 0, c.length);
        if (n == 0) {
            return;
        }
        Symbols sym = new Symbols(n);
        for (int i = 0, pos = 0; i < n; i++) {
            int len = Character.charCount(Character.codePointAt(c, pos));
            sym.start[i] = pos;
            sym.len[i] = len;
            sym.prev[i] = i - 1;
            sym.next[i] = i + 1 < n ? i + 1 : -1;
            pos += len;
        }
        MergeQueue queue = new MergeQueue();
        for (int i = 1; i < n; i++) {
            offer(c, sym, queue, i - 1, i);
        }
        while (!queue.isEmpty()) {
            int left = MergeQueue.left(queue.pop());
            int size = queue.lastPayload();
            int right = sym.next[left];
            // a pair is stale once either side has grown or been absorbed: its length no longer adds up
            if (sym.len[left] == 0 || right < 0 || sym.len[right] == 0 || sym.len[left] + sym.len[right] != size) {
                continue;
            }
            sym.len[left] += sym.len[right];
            sym.len[right] = 0;
            sym.next[left] = sym.next[right];
            if (sym.next[right] >= 0) {
                sym.prev[sym.next[right]] = left;
            }
            offer(c, sym, queue, sym.prev[left], left);
            offer(c, sym, queue, left, sym.next[left]);
        }
        for (int i = 0; i != -1; i = sym.next[i]) {
            int id = vocab.index.find(c, sym.start[i], sym.start[i] + sym.len[i]);
            if (id >= 0) {
                out.add(id);
            } else {
                for (byte b : new String(c, sym.start[i], sym.len[i]).getBytes(StandardCharsets.UTF_8)) {
                    out.add(byteToken(b & 0xff));
                }
            }
        }
    }

    private void offer(char[] c, Symbols sym, MergeQueue queue, int left, int right) {
        if (left < 0 || right < 0) {
            return;
        }
        int size = sym.len[left] + sym.len[right];
        int id = vocab.index.find(c, sym.start[left], sym.start[left] + size);
        if (id >= 0) {
            queue.push(MergeQueue.key(~sortable(vocab.scores[id]), left), size);
        }
    }

    private int byteToken(int b) {
        int id = byteTokens[b];
        if (id >= 0) {
            return id;
        }
        if (vocab.unk >= 0) {
            return vocab.unk;
        }
        throw new IllegalArgumentException(String.format("%s: cannot encode byte 0x%02X: the vocabulary has neither a "
                + "<0x%02X> byte token nor an unknown token", vocab.source, b, b));
    }

    /** An int that orders as the float does, so the queue pops the highest score first via {@code ~}. */
    private static int sortable(float score) {
        int bits = Float.floatToIntBits(score + 0.0f); // + 0.0f turns -0.0 into 0.0: equal scores tie
        return bits ^ ((bits >> 31) & 0x7fffffff);
    }

    /** The symbol chain of one text: char ranges linked as a list that merges shorten. */
    private static final class Symbols {
        final int[] start;
        final int[] len;
        final int[] prev;
        final int[] next;

        Symbols(int n) {
            start = new int[n];
            len = new int[n];
            prev = new int[n];
            next = new int[n];
        }
    }
}
