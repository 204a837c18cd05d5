package dev.gantry.worker.backend.cpu;

import dev.gantry.worker.backend.Weight;
import dev.gantry.worker.quant.GgmlType;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * A weight with long rows, repacked once at load into column segments: all rows' values of
 * columns [0, COLS), then all rows' values of [COLS, 2 COLS), and so on, each row's piece in its
 * original block encoding. A product with one activation row then runs segment by segment: the
 * {@link #COLS} activations of a segment (8 KiB) stay in L1 while the weights stream in
 * sequentially from memory, and each row's vector accumulator waits between segments, so every
 * result has the bits of the whole-row sum.
 *
 * <p>Why: with the whole row, a 32 KiB activation row (an FFN down projection of 8192 columns)
 * shares L1 with the weight stream and keeps being evicted. Measured on a 2-core AVX-512 EPYC
 * from memory, a 2048x8192 Q4_0 product took 1.3 ms on one thread where an 8192x2048 one of the
 * same bytes took 0.77 ms; summing segment by segment over the original layout was slower still,
 * because the weight reads then jump between rows.
 */
final class ColumnSegments {
    /** Columns of one segment: 8 KiB of float activations, a multiple of every block size. */
    static final int COLS = 2048;

    /** {@code -Dgantry.columnSegments=false} keeps every weight in its file layout (for comparisons). */
    static final boolean ENABLED = !"false".equals(System.getProperty("gantry.columnSegments"));

    private ColumnSegments() {}

    /** Whether {@code w} is repacked: a matrix of whole segments longer than one, of a type with segment kernels. */
    static boolean applies(Weight w) {
        return w.rows() > 1 && w.cols() > COLS && w.cols() % COLS == 0
                && (w.type() == GgmlType.Q8_0 || w.type() == GgmlType.Q4_0);
    }

    /** Bytes of one row's piece of one segment. */
    static long segmentBytes(Weight w) {
        return w.type().byteSize(COLS);
    }

    /** Byte offset of row {@code row}'s piece of segment {@code segment} in the repacked data. */
    static long at(Weight w, int row, int segment) {
        long piece = segmentBytes(w);
        return (long) segment * w.rows() * piece + row * piece;
    }

    /**
     * Repacks {@code w}'s data into {@code out} (rows * rowBytes bytes).
     */
    static void repack(Weight w, MemorySegment out) {
        long piece = segmentBytes(w);
        int segments = w.cols() / COLS;
        for (int o = 0; o < w.rows(); o++) {
            long from = o * w.rowBytes();
            for (int s = 0; s < segments; s++) {
                MemorySegment.copy(w.data(), from + s * piece, out, at(w, o, s), piece);
            }
        }
    }

    /**
     * Repacked copies of the weights that {@link #applies} to, by identity, in one memory-mapped
     * temporary file (unlinked once mapped; the mapping lives as long as {@code arena}).
     *
     * <p>Mapped, like the model file, not allocated: the kernels' memory reads then see one
     * segment implementation class. With a second one (native memory) beside the mapped file,
     * the JIT's type profiles at the shared load sites turned polymorphic and every product of
     * the model ran at half speed (measured: batch-1 decode of a 1B Q8_0 model, 24.7 -> 15.2
     * tokens/s). Returns an empty map, and the products keep the whole-row layout, if no
     * temporary file can be made.
     */
    static Map<Weight, MemorySegment> repackAll(List<Weight> weights, Arena arena) {
        if (!ENABLED) {
            return new IdentityHashMap<>();
        }
        List<Weight> todo = weights.stream().filter(ColumnSegments::applies).distinct().toList();
        long total = 0;
        for (Weight w : todo) {
            total += (w.rows() * w.rowBytes() + 63) / 64 * 64;
        }
        Map<Weight, MemorySegment> out = new IdentityHashMap<>();
        if (todo.isEmpty()) {
            return out;
        }
        Path file = null;
        try {
            file = Files.createTempFile("gantry-segments-", ".bin");
            MemorySegment all;
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
                all = ch.map(FileChannel.MapMode.READ_WRITE, 0, total, arena);
            }
            long at = 0;
            for (Weight w : todo) {
                long size = w.rows() * w.rowBytes();
                MemorySegment slice = all.asSlice(at, size);
                repack(w, slice);
                out.put(w, slice.asReadOnly());
                at += (size + 63) / 64 * 64;
            }
            return out;
        } catch (IOException | RuntimeException e) {
            System.getLogger(ColumnSegments.class.getName()).log(System.Logger.Level.WARNING,
                    "cannot map a temporary file for the column segments of long-row weights ({0}); "
                            + "their products keep the whole-row layout", e.toString());
            return new IdentityHashMap<>();
        } finally {
            if (file != null) {
                try {
                    Files.deleteIfExists(file);
                } catch (IOException ignored) {
                    // the mapping is what counts; a leftover file only wastes disk
                }
            }
        }
    }
}
