package dev.gantry.worker.model.tokenizer;

/**
 * The kind of a vocabulary entry, as stored in {@code tokenizer.ggml.token_type} (the numbering is
 * GGUF's). It decides how a token is matched in text and how it is rendered back.
 */
public enum TokenType {
    /** Type 0, or a code GGUF does not define: never rendered. */
    UNDEFINED,
    /** Type 1: ordinary text. */
    NORMAL,
    /** Type 2: the unknown token ({@code <unk>}); rendered only when specials are asked for. */
    UNKNOWN,
    /** Type 3: a control token such as BOS, EOS or {@code <|im_start|>}; rendered only on request. */
    CONTROL,
    /** Type 4: an added token that is always matched in text and always rendered as written. */
    USER_DEFINED,
    /** Type 5: a placeholder slot; never rendered. */
    UNUSED,
    /** Type 6: a SentencePiece byte-fallback token {@code <0xNN>} standing for one raw byte. */
    BYTE;

    /** The type for a GGUF code; unknown codes read as {@link #UNDEFINED}, as llama.cpp reads them. */
    static TokenType fromCode(long code) {
        return code >= 1 && code <= 6 ? values()[(int) code] : UNDEFINED;
    }
}
