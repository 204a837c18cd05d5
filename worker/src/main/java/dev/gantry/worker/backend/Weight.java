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

    /** Bytes of one row. */
    public long rowBytes() {
        return type.byteSize(cols);
    }
}
