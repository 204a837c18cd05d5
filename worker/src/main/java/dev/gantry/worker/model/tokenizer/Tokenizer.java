package dev.gantry.worker.model.tokenizer;

import dev.gantry.worker.model.ModelLoadException;
import dev.gantry.worker.model.gguf.GgufFile;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Objects;

/**
 * Text to token ids and back, for the vocabulary embedded in a GGUF file, giving the ids llama.cpp
 * gives. Two tokenizer models are supported ({@code tokenizer.ggml.model}): {@code llama}
 * (SentencePiece with scores and byte fallback) and {@code gpt2} (byte-level BPE with a
 * pre-tokenizer chosen by {@code tokenizer.ggml.pre}).
 *
 * <p>Special tokens: with {@code parseSpecial}, control tokens written in the text (such as
 * {@code <|im_start|>} or {@code <s>}) become their ids; without it they are tokenized as ordinary
 * text. User-defined tokens are always matched. When rendering ids back, control and unknown
 * tokens render as nothing unless specials are asked for.
 *
 * <p>Instances are immutable and safe to share between threads.
 */
public abstract sealed class Tokenizer permits SentencePieceTokenizer, ByteLevelBpeTokenizer {
    final Vocabulary vocab;

    Tokenizer(Vocabulary vocab) {
        this.vocab = vocab;
    }

    /**
     * The tokenizer of a GGUF file. Errors (no vocabulary, an unsupported tokenizer model, arrays of
     * the wrong length) are {@link ModelLoadException}s naming the file.
     */
    public static Tokenizer fromGguf(GgufFile gguf) {
        Objects.requireNonNull(gguf, "gguf");
        return fromMetadata(gguf.metadata(), gguf.path().toString());
    }

    /** The tokenizer described by GGUF metadata; {@code source} names it in error messages. */
    static Tokenizer fromMetadata(Map<String, Object> metadata, String source) {
        if (!(metadata.get("tokenizer.ggml.model") instanceof String model)) {
            throw new ModelLoadException(source + ": the file has no tokenizer (metadata key tokenizer.ggml.model is "
                    + "missing)");
        }
        return switch (model) {
            case "llama" -> new SentencePieceTokenizer(metadata, source);
            case "gpt2" -> new ByteLevelBpeTokenizer(metadata, source);
            case "none", "no_vocab" -> throw new ModelLoadException(source + ": the model has no vocabulary "
                    + "(tokenizer.ggml.model is \"" + model + "\"), so text cannot be tokenized");
            default -> throw new ModelLoadException(source + ": unsupported tokenizer model \"" + model
                    + "\" (tokenizer.ggml.model); supported: \"llama\" (SentencePiece) and \"gpt2\" (byte-level BPE)");
        };
    }

    /** The GGUF tokenizer model: {@code llama} or {@code gpt2}. */
    public abstract String model();

    /**
     * Tokenizes {@code text}.
     *
     * @param addBos       put the BOS token first (see {@link #addBosByDefault()})
     * @param parseSpecial turn control tokens written in the text into their ids
     * @throws IllegalStateException if {@code addBos} is asked of a vocabulary without BOS
     */
    public int[] encode(String text, boolean addBos, boolean parseSpecial) {
        Objects.requireNonNull(text, "text");
        IntList out = new IntList(text.length() / 3 + 4);
        if (addBos) {
            if (vocab.bos < 0) {
                throw new IllegalStateException(vocab.source + ": the vocabulary has no BOS token to add");
            }
            out.add(vocab.bos);
        }
        if (text.isEmpty()) {
            return out.toArray();
        }
        // SentencePiece puts a space before the text and before any text after a special token
        boolean afterSpecial = true;
        for (Vocabulary.Fragment f : vocab.partition(text, parseSpecial)) {
            if (f.token() >= 0) {
                out.add(f.token());
                afterSpecial = true;
            } else {
                encodeText(text.substring(f.start(), f.end()), afterSpecial, out);
                afterSpecial = false;
            }
        }
        return out.toArray();
    }

    /** Tokenizes text that holds no special token to cut out. */
    abstract void encodeText(String text, boolean afterSpecial, IntList out);

    /**
     * Whether prompts should start with BOS: {@code tokenizer.ggml.add_bos_token}, or llama.cpp's
     * default (yes for SentencePiece and Llama 3's BPE, no for other BPE vocabularies).
     */
    public boolean addBosByDefault() {
        return vocab.addBos;
    }

    /**
     * Whether the vocabulary asks for EOS after a prompt ({@code tokenizer.ggml.add_eos_token},
     * default no); {@link #encode} never adds it, callers append {@link #eosId()}.
     */
    public boolean addEosByDefault() {
        return vocab.addEos;
    }

    /** Whether SentencePiece text gets a leading space ({@code tokenizer.ggml.add_space_prefix}). */
    public boolean addsSpacePrefix() {
        return vocab.addSpacePrefix;
    }

    /** The beginning-of-sequence token, or -1 if the vocabulary has none. */
    public int bosId() {
        return vocab.bos;
    }

    /** The end-of-sequence token, or -1 if the vocabulary has none. */
    public int eosId() {
        return vocab.eos;
    }

    /**
     * The end-of-turn token: {@code tokenizer.ggml.eot_token_id}, else the first of llama.cpp's
     * well-known end-of-turn texts the vocabulary has ({@code <|eot_id|>}, {@code <|im_end|>}, ...),
     * else -1.
     */
    public int eotId() {
        return vocab.eot;
    }

    /** The unknown token, or -1. */
    public int unknownId() {
        return vocab.unk;
    }

    /**
     * Whether generating {@code id} ends the sequence: EOS, EOT, EOM, FIM pad/repo/separator, and
     * every token llama.cpp treats as end of generation by its text ({@code <|im_end|>},
     * {@code <|eot_id|>}, {@code <|endoftext|>}, {@code <end_of_turn>}...). Out-of-range ids are not.
     */
    public boolean isEndOfGeneration(int id) {
        return vocab.isEog(id);
    }

    /** All end-of-generation ids, ascending. */
    public int[] endOfGenerationIds() {
        return vocab.eogIds();
    }

    public int vocabSize() {
        return vocab.size();
    }

    /** The token's type (llama.cpp's: end-of-generation texts count as control tokens). */
    public TokenType tokenType(int id) {
        vocab.check(id);
        return vocab.types[id];
    }

    /** Whether the token is a control token (BOS, EOS, {@code <|im_start|>}...). */
    public boolean isControl(int id) {
        return tokenType(id) == TokenType.CONTROL;
    }

    /** The token as the vocabulary spells it (SentencePiece's ▁, GPT-2's byte alphabet). */
    public String tokenText(int id) {
        vocab.check(id);
        return vocab.texts[id];
    }

    /** The token's SentencePiece score (0 for vocabularies without scores). */
    public float tokenScore(int id) {
        vocab.check(id);
        return vocab.scores[id];
    }

    /** The id of the token spelt exactly {@code text} (vocabulary spelling), or -1. */
    public int tokenId(String text) {
        return vocab.index.find(text);
    }

    /**
     * The raw bytes the token stands for: a byte-fallback token gives its one byte (possibly part of
     * a UTF-8 character); control and unknown tokens give no bytes.
     */
    public byte[] tokenBytes(int id) {
        return tokenBytes(id, false);
    }

    /** As {@link #tokenBytes(int)}, with control and unknown tokens written out when {@code renderSpecial}. */
    public byte[] tokenBytes(int id, boolean renderSpecial) {
        vocab.check(id);
        return vocab.piece(id, renderSpecial).clone();
    }

    /**
     * The token as text with special tokens written out, e.g. {@code "<s>"} for BOS or
     * {@code " Once"} for {@code ▁Once}. A byte token that is part of a character gives U+FFFD.
     */
    public String piece(int id) {
        vocab.check(id);
        return new String(vocab.piece(id, true), StandardCharsets.UTF_8);
    }

    /** Shared rendering for the detokenizers; the caller must not change the array. */
    byte[] pieceBytes(int id, boolean renderSpecial) {
        vocab.check(id);
        return vocab.piece(id, renderSpecial);
    }

    /** {@link #decode(int[], boolean)} without special tokens. */
    public String decode(int[] ids) {
        return decode(ids, false);
    }

    /**
     * The text of {@code ids}: their bytes joined, then read as UTF-8 (bytes that are not valid
     * UTF-8 become U+FFFD). The inverse of {@link #encode}: when the vocabulary adds a space prefix
     * (SentencePiece), the one leading space that prefix produced is removed again. Spaces are not
     * otherwise cleaned up (no removal of the space before punctuation): apart from that leading
     * space, the text is what {@link StreamingDetokenizer} streams for the same ids.
     *
     * @throws IllegalArgumentException for an id outside the vocabulary
     */
    public String decode(int[] ids, boolean renderSpecial) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(ids.length * 4);
        for (int id : ids) {
            out.writeBytes(pieceBytes(id, renderSpecial));
        }
        byte[] bytes = out.toByteArray();
        int skip = vocab.addSpacePrefix && bytes.length > 0 && bytes[0] == ' ' ? 1 : 0;
        return new String(bytes, skip, bytes.length - skip, StandardCharsets.UTF_8);
    }

    @Override
    public String toString() {
        return "Tokenizer[" + model() + ", " + vocabSize() + " tokens, " + vocab.source + "]";
    }
}
