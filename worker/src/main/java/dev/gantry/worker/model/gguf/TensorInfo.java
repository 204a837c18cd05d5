package dev.gantry.worker.model.gguf;

import dev.gantry.worker.quant.GgmlType;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/**
 * One tensor of a GGUF file: its name, type, shape and bytes (a slice of the memory-mapped file,
 * never copied). {@code shape[0]} is ggml's ne0, the innermost (contiguous) dimension: a weight
 * matrix stored as shape {@code [cols, rows]} holds {@code rows} rows of {@code cols} values.
 */
public record TensorInfo(String name, GgmlType type, long[] shape, long offset, MemorySegment data) {

    /** Number of elements. */
    public long elements() {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        return n;
    }

    /** Values per row (ne0). */
    public long cols() {
        return shape.length == 0 ? 1 : shape[0];
    }

    /** Rows: the product of every dimension but the first. */
    public long rows() {
        return shape.length == 0 ? 1 : elements() / shape[0];
    }

    @Override
    public String toString() {
        return name + " " + type + " " + Arrays.toString(shape);
    }
}
