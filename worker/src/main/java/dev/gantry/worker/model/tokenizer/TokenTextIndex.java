package dev.gantry.worker.model.tokenizer;

import java.util.Arrays;

/**
 * Token text to id, looked up from a range of a {@code char[]} without building a string: the merge
 * loops ask "is this span a token?" for every candidate pair, so lookups must not allocate.
 * Open addressing over the texts' hash; when a text occurs twice the later id wins, as in llama.cpp.
 */
final class TokenTextIndex {
    private final String[] texts;
    private final int[] slots;
    private final int mask;

    TokenTextIndex(String[] texts) {
        this.texts = texts;
        int capacity = Integer.highestOneBit(Math.max(16, texts.length * 2 - 1)) << 1;
        slots = new int[capacity];
        mask = capacity - 1;
        Arrays.fill(slots, -1);
        for (int id = 0; id < texts.length; id++) {
            String t = texts[id];
            int slot = mix(t.hashCode()) & mask;
            while (slots[slot] >= 0 && !texts[slots[slot]].equals(t)) {
                slot = (slot + 1) & mask;
            }
            slots[slot] = id;
        }
    }

    private static int mix(int h) {
        h *= 0x9E3779B9;
        return h ^ (h >>> 16);
    }

    /** The id of the token whose text is {@code text}, or -1. */
    int find(String text) {
        int slot = mix(text.hashCode()) & mask;
        for (int id; (id = slots[slot]) >= 0; slot = (slot + 1) & mask) {
            if (texts[id].equals(text)) {
                return id;
            }
        }
        return -1;
    }

    /** The id of the token whose text is {@code chars[from, to)}, or -1. */
    int find(char[] chars, int from, int to) {
        int h = 0;
        for (int i = from; i < to; i++) {
            h = 31 * h + chars[i]; // String.hashCode, so the table built from Strings answers
        }
        int len = to - from;
        int slot = mix(h) & mask;
        for (int id; (id = slots[slot]) >= 0; slot = (slot + 1) & mask) {
            String t = texts[id];
            if (t.length() == len && matches(t, chars, from)) {
                return id;
            }
        }
        return -1;
    }

    private static boolean matches(String t, char[] chars, int from) {
        for (int i = 0; i < t.length(); i++) {
            if (t.charAt(i) != chars[from + i]) {
                return false;
            }
        }
        return true;
    }
}
