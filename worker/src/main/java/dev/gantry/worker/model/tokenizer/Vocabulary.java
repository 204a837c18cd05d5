package dev.gantry.worker.model.tokenizer;

import dev.gantry.worker.model.ModelLoadException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;

/**
 * The vocabulary of a GGUF file with llama.cpp's reading of it: token texts, scores and types,
 * special token ids (with llama.cpp's defaults and its detection of end-of-turn tokens by their
 * text), the order in which special tokens are cut out of text, and every token's rendered bytes.
 */
final class Vocabulary {
    private static final byte[] EMPTY = new byte[0];

    // Texts llama.cpp recognises when the metadata does not name these tokens; the first one
    // present wins (llama.cpp takes whichever its hash map yields first).
    private static final List<String> EOT_TEXTS = List.of("<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>",
            "<|endoftext|>", "<|end_of_text|>", "<EOT>", "_<EOT>", "<｜end▁of▁sentence｜>", "<end_of_utterance>");
    private static final List<String> EOM_TEXTS = List.of("<|eom_id|>");
    private static final List<String> FIM_PRE_TEXTS = List.of("<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>",
            "<｜fim▁begin｜>", "<PRE>", "▁<PRE>");
    private static final List<String> FIM_SUF_TEXTS = List.of("<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>",
            "<｜fim▁hole｜>", "<SUF>", "▁<SUF>");
    private static final List<String> FIM_MID_TEXTS = List.of("<|fim_middle|>", "<fim-middle>", "<fim_middle>",
            "<｜fim▁end｜>", "<MID>", "▁<MID>");
    private static final List<String> FIM_PAD_TEXTS = List.of("<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>");
    private static final List<String> FIM_REP_TEXTS = List.of("<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>",
            "<reponame>");
    private static final List<String> FIM_SEP_TEXTS = List.of("<|file_sep|>");
    /** Tokens that end generation wherever they occur, whatever the metadata says. */
    private static final List<String> EOG_TEXTS = List.of("<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>",
            "<|call|>", "<end_of_turn>", "<|endoftext|>", "<|eom_id|>", "<EOT>", "_<EOT>", "<|end_of_text|>",
            "<end_of_utterance>");

    final String source;
    final String[] texts;
    final float[] scores;
    final TokenType[] types;
    final TokenTextIndex index;
    final int bos;
    final int eos;
    final int eot;
    final int unk;
    final boolean addBos;
    final boolean addEos;
    final boolean addSpacePrefix;
    private final boolean[] eog;
    private final int[] eogIds;
    /** Tokens cut out of text before tokenizing, longest text first. */
    private final int[] specials;
    private final boolean[] rstrip;
    /** Each token's bytes with special tokens written out; see {@link #piece}. */
    private final byte[][] pieces;

    /** A piece of text to tokenize ({@code token < 0}) or a special token found in it. */
    record Fragment(int token, int start, int end) {}

    /**
     * Reads the vocabulary; the defaults are llama.cpp's for the tokenizer model, used where the
     * metadata says nothing (ids only when inside the vocabulary).
     *
     * @param byteLevel whether normal tokens are spelt in GPT-2's byte-level alphabet
     */
    Vocabulary(Map<String, Object> meta, String source, boolean byteLevel, boolean addBosDefault, int defaultBos,
            int defaultEos, int defaultUnk, boolean addSpacePrefixDefault) {
        this.source = source;
        if (!(meta.get("tokenizer.ggml.tokens") instanceof String[] tokens)) {
            throw new ModelLoadException(source + ": the tokenizer has no vocabulary (metadata key "
                    + "tokenizer.ggml.tokens is missing or not an array of strings)");
        }
        int n = tokens.length;
        if (n == 0) {
            throw new ModelLoadException(source + ": the tokenizer vocabulary (tokenizer.ggml.tokens) is empty");
        }
        texts = new String[n];
        for (int i = 0; i < n; i++) {
            // llama.cpp renames empty entries so that every text maps back to one id
            texts[i] = tokens[i].isEmpty() ? "[EMPTY_" + i + "]" : tokens[i];
        }
        scores = readScores(meta, source, n);
        types = readTypes(meta, source, n);
        index = new TokenTextIndex(texts);

        int bosId = specialId(meta, "tokenizer.ggml.bos_token_id", defaultBos);
        int eosId = specialId(meta, "tokenizer.ggml.eos_token_id", defaultEos);
        int eotId = specialId(meta, "tokenizer.ggml.eot_token_id", -1);
        int eomId = specialId(meta, "tokenizer.ggml.eom_token_id", -1);
        unk = specialId(meta, "tokenizer.ggml.unknown_token_id", defaultUnk);
        int[] fim = new int[6];
        String[] fimKeys = {"fim_pre", "fim_suf", "fim_mid", "fim_pad", "fim_rep", "fim_sep"};
        for (int i = 0; i < fim.length; i++) {
            fim[i] = specialId(meta, "tokenizer.ggml." + fimKeys[i] + "_token_id", -1);
        }
        eotId = eotId >= 0 ? eotId : detect(EOT_TEXTS);
        eomId = eomId >= 0 ? eomId : detect(EOM_TEXTS);
        List<List<String>> fimTexts = List.of(FIM_PRE_TEXTS, FIM_SUF_TEXTS, FIM_MID_TEXTS, FIM_PAD_TEXTS,
                FIM_REP_TEXTS, FIM_SEP_TEXTS);
        for (int i = 0; i < fim.length; i++) {
            fim[i] = fim[i] >= 0 ? fim[i] : detect(fimTexts.get(i));
        }

        eog = new boolean[n];
        for (int id : new int[] {fim[3], fim[4], fim[5], eosId, eotId, eomId}) {
            if (id >= 0) {
                eog[id] = true;
            }
        }
        for (String text : EOG_TEXTS) {
            int id = index.find(text);
            if (id >= 0) {
                eog[id] = true;
                promoteToControl(id);
            }
        }
        // gpt-oss ends an assistant turn with <|end|> but keeps generating after it: when the
        // harmony tokens are there, <|end|> is an ordinary separator (llama.cpp does the same)
        int end = index.find("<|end|>");
        if (end >= 0 && index.find("<|return|>") >= 0 && index.find("<|call|>") >= 0) {
            eog[end] = false;
            types[end] = TokenType.USER_DEFINED;
        }
        eogIds = IntStream.range(0, n).filter(i -> eog[i]).toArray();
        bos = bosId;
        eos = eosId;
        eot = eotId;

        addBos = meta.get("tokenizer.ggml.add_bos_token") instanceof Boolean b ? b : addBosDefault;
        addEos = meta.get("tokenizer.ggml.add_eos_token") instanceof Boolean b && b;
        addSpacePrefix = meta.get("tokenizer.ggml.add_space_prefix") instanceof Boolean b ? b : addSpacePrefixDefault;
        if (addBos && bos < 0) {
            throw new ModelLoadException(source + ": tokenizer.ggml.add_bos_token is true but the vocabulary has no BOS "
                    + "token (tokenizer.ggml.bos_token_id)");
        }
        if (addEos && eos < 0) {
            throw new ModelLoadException(source + ": tokenizer.ggml.add_eos_token is true but the vocabulary has no EOS "
                    + "token (tokenizer.ggml.eos_token_id)");
        }

        specials = IntStream.range(0, n)
                .filter(i -> types[i] == TokenType.CONTROL || types[i] == TokenType.USER_DEFINED
                        || types[i] == TokenType.UNKNOWN)
                .boxed()
                .sorted(Comparator.comparingInt((Integer i) -> -utf8Length(texts[i])).thenComparingInt(i -> i))
                .mapToInt(Integer::intValue)
                .toArray();
        rstrip = phi3Rstrip(meta);

        pieces = new byte[n][];
        for (int i = 0; i < n; i++) {
            pieces[i] = renderPiece(i, byteLevel);
        }
    }

    private static float[] readScores(Map<String, Object> meta, String source, int n) {
        Object raw = meta.get("tokenizer.ggml.scores");
        float[] scores = new float[n];
        if (raw instanceof float[] f) {
            checkLength(source, "tokenizer.ggml.scores", f.length, n);
            System.arraycopy(f, 0, scores, 0, n);
        } else if (raw instanceof long[] l) {
            checkLength(source, "tokenizer.ggml.scores", l.length, n);
            for (int i = 0; i < n; i++) {
                scores[i] = l[i];
            }
        } else if (raw != null) {
            throw new ModelLoadException(source + ": tokenizer.ggml.scores is not an array of numbers");
        }
        return scores;
    }

    private static TokenType[] readTypes(Map<String, Object> meta, String source, int n) {
        Object raw = meta.get("tokenizer.ggml.token_type");
        TokenType[] types = new TokenType[n];
        if (raw == null) {
            Arrays.fill(types, TokenType.NORMAL); // what llama.cpp assumes without the array
            return types;
        }
        if (!(raw instanceof long[] codes)) {
            throw new ModelLoadException(source + ": tokenizer.ggml.token_type is not an array of integers");
        }
        checkLength(source, "tokenizer.ggml.token_type", codes.length, n);
        for (int i = 0; i < n; i++) {
            types[i] = TokenType.fromCode(codes[i]);
        }
        return types;
    }

    private static void checkLength(String source, String key, int length, int n) {
        if (length < n) {
            throw new ModelLoadException(source + ": " + key + " has " + length + " entries but the vocabulary has "
                    + n + " tokens");
        }
    }

    /** A special token id from the metadata; out-of-range or absent ids keep the default. */
    private int specialId(Map<String, Object> meta, String key, int dflt) {
        int id = meta.get(key) instanceof Long l && l >= 0 && l < texts.length ? l.intValue() : dflt;
        return id >= 0 && id < texts.length ? id : -1;
    }

    /** The first of these texts in the vocabulary, made a control token as llama.cpp does; or -1. */
    private int detect(List<String> candidates) {
        for (String text : candidates) {
            int id = index.find(text);
            if (id >= 0) {
                promoteToControl(id);
                return id;
            }
        }
        return -1;
    }

    private void promoteToControl(int id) {
        types[id] = TokenType.CONTROL;
    }

    /**
     * Phi-3's special tokens swallow the whitespace after them (llama.cpp keys this on the model
     * name, as the GGUF has no per-token attributes).
     */
    private boolean[] phi3Rstrip(Map<String, Object> meta) {
        boolean[] r = new boolean[texts.length];
        String name = meta.get("general.name") instanceof String s ? s.toLowerCase(java.util.Locale.ROOT) : "";
        if (name.contains("phi-3") || name.contains("phi3")) {
            for (int id : specials) {
                r[id] = true;
            }
            int eosText = index.find("</s>");
            if (eosText >= 0) {
                r[eosText] = true;
            }
            for (String keep : List.of("<unk>", "<s>", "<|endoftext|>")) {
                int id = index.find(keep);
                if (id >= 0) {
                    r[id] = false;
                }
            }
        }
        return r;
    }

    private byte[] renderPiece(int id, boolean byteLevel) {
        String text = texts[id];
        return switch (types[id]) {
            case CONTROL, UNKNOWN, USER_DEFINED -> text.getBytes(StandardCharsets.UTF_8);
            case NORMAL -> byteLevel ? ByteLevel.decode(text)
                    : text.replace('\u2581', ' ').getBytes(StandardCharsets.UTF_8);
            case BYTE -> byteOf(text);
            case UNUSED, UNDEFINED -> EMPTY;
        };
    }

    /** The byte of a {@code <0xNN>} token (a malformed one renders as its text). */
    private static byte[] byteOf(String text) {
        if (text.length() == 6 && text.startsWith("<0x") && text.endsWith(">")) {
            try {
                return new byte[] {(byte) Integer.parseInt(text, 3, 5, 16)};
            } catch (NumberFormatException e) {
                // fall through to the text
            }
        }
        return text.getBytes(StandardCharsets.UTF_8);
    }

    static int utf8Length(String s) {
        int len = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < 0x80) {
                len++;
            } else if (c < 0x800) {
                len += 2;
            } else if (Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
                len += 4;
                i++;
            } else {
                len += 3;
            }
        }
        return len;
    }

    int size() {
        return texts.length;
    }

    void check(int id) {
        if (id < 0 || id >= texts.length) {
            throw new IllegalArgumentException("token id " + id + " is outside the vocabulary (0.." + (texts.length - 1)
                    + ")");
        }
    }

    boolean isEog(int id) {
        return id >= 0 && id < eog.length && eog[id];
    }

    int[] eogIds() {
        return eogIds.clone();
    }

    /**
     * The bytes token {@code id} renders as: control and unknown tokens only when {@code special}
     * (they render as nothing otherwise). The array is shared: callers must not change it.
     */
    byte[] piece(int id, boolean special) {
        TokenType t = types[id];
        if (!special && (t == TokenType.CONTROL || t == TokenType.UNKNOWN)) {
            return EMPTY;
        }
        return pieces[id];
    }

    /**
     * Cuts the special tokens out of {@code text} the way llama.cpp does: one special token at a
     * time, longest text first, each splitting every remaining text fragment at its occurrences.
     * Control and unknown tokens are only looked for when {@code parseSpecial}; user-defined tokens
     * always are.
     */
    List<Fragment> partition(String text, boolean parseSpecial) {
        List<Fragment> fragments = new ArrayList<>();
        fragments.add(new Fragment(-1, 0, text.length()));
        for (int id : specials) {
            TokenType t = types[id];
            if (!parseSpecial && (t == TokenType.CONTROL || t == TokenType.UNKNOWN)) {
                continue;
            }
            String special = texts[id];
            if (!text.contains(special)) {
                continue;
            }
            List<Fragment> split = new ArrayList<>(fragments.size() + 4);
            for (Fragment f : fragments) {
                if (f.token() >= 0) {
                    split.add(f);
                    continue;
                }
                int start = f.start();
                int end = f.end();
                while (start < end) {
                    int at = text.indexOf(special, start, end);
                    if (at < 0 || at + special.length() > end) {
                        break;
                    }
                    if (at > start) {
                        split.add(new Fragment(-1, start, at));
                    }
                    split.add(new Fragment(id, at, at + special.length()));
                    start = at + special.length();
                    if (rstrip[id]) {
                        while (start < end && isCSpace(text.charAt(start))) {
                            start++;
                        }
                    }
                }
                if (start < end) {
                    split.add(new Fragment(-1, start, end));
                }
            }
            fragments = split;
        }
        return fragments;
    }

    private static boolean isCSpace(char c) {
        return c == ' ' || (c >= '\t' && c <= '\r');
    }
}
