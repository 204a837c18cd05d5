package dev.gantry.worker.backend;

import dev.gantry.worker.quant.GgmlType;
import java.lang.foreign.MemorySegment;

/**
 * A model weight as stored in the GGUF file: {@code rows} rows of {@code cols} values of {@code
 * type}, row-major, each row {@code type.byteSize(cols)} bytes. A vector (norm weight, bias) has
 * one row. {@code data} is a slice of the memory-mapped file on the host; a device backend keeps
 * its own copy, made in {@link Backend#prepare}.
 */
public record Weight(String name, GgmlType type, int rows, int cols, MemorySegment data) {

    /** GGUF's name of the token embedding table (llama.cpp's {@code LLM_TENSOR_TOKEN_EMBD}). */
    public static final String TOKEN_EMBEDDING = "token_embd.weight";

    /** Bytes of one row. */
    public long rowBytes() {
        return type.byteSize(cols);
    }

    /**
     * Whether rows of this weight are read one by one for each token (the embedding table, also
     * the output projection of models that tie them), besides any product with it.
     */
    public boolean readByToken() {
        return TOKEN_EMBEDDING.equals(name);
    }
}
