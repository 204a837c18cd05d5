package dev.gantry.worker.backend.cpu;

import static dev.gantry.worker.backend.cpu.Simd.F;
import static dev.gantry.worker.backend.cpu.Simd.L;

import dev.gantry.worker.backend.ActivationPrecision;
import dev.gantry.worker.backend.Q8Activations;
import dev.gantry.worker.backend.Q8KActivations;
import dev.gantry.worker.backend.Weight;
import dev.gantry.worker.quant.GgmlType;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SegmentAllocator;
import java.util.Arrays;
import java.util.IdentityHashMap;
import java.util.Map;
import jdk.incubator.vector.FloatVector;

/**
 * out[r][o] = sum_i x[r][i] * w[o][i] (+ bias[o]), parallel over output rows o.
 *
 * <p>Where the precision quantizes a weight's activations and the machine has the native
 * kernels ({@link NativeCpu}: 8-bit integer dot products, as llama.cpp's, for every quantized
 * type), the product runs there. Everything else (float activations; float weights; 8-bit
 * activations without the native library) takes the float path, where every output is summed in
 * one order whatever the batch, so a token gets the same bits alone, in a decode batch of any
 * size and in a prefill chunk: one Q4_1 row decoded in registers ({@link FusedRowDot}); up to
 * {@link #ROW_TILE_MAX_ROWS} rows over weight rows a thread decodes once into its scratch
 * ({@link RowDequant}, groups sized to stay in L2) in dot-product tiles ({@link RowTileGemm});
 * more rows with the tokens along the vector lanes ({@link TokenLaneGemm}), which keeps
 * RowTileGemm's order. (Until 2026-12-07 each of these shapes summed in its own order, so a
 * token's logits moved in the last bits between a request alone and beside others, enough to
 * flip greedy tokens at near-ties.)
 *
 * <p>Without the native library, 8-bit activations are quantized here ({@link ActivationQuant})
 * to floats {@code q * d} and take the decoded path. Q4_1's and Q5_1's offsets meet Q8_1's block
 * sums: the sums are appended to each activation row, and the offsets to each decoded weight row,
 * so the one dot product includes {@code sum(m * s)}.
 */
final class Matmul {
    /** Bytes of decoded weight rows one thread keeps at a time (fits L2 beside the activations). */
    private static final int GROUP_BYTES = 384 * 1024;
    /** Most weight rows one thread decodes at a time for a few token rows: more groups balance the threads better. */
    private static final int SMALL_GROUP = 16;
    /** Most weight rows one thread decodes at a time for many token rows: each group reads all of x once. */
    private static final int MAX_GROUP = 48;
    /** Token blocks (of L) whose accumulators ([weight rows][L][L] floats each) a group holds at once. */
    private static final int SUPER_BLOCK = 4;
    /** Most token rows multiplied as row tiles ({@link RowTileGemm}), not along lanes ({@link TokenLaneGemm}). */
    static final int ROW_TILE_MAX_ROWS = Integer.getInteger("gantry.matmul.rowTileMaxRows", L / 2);

    private final ThreadPool pool;
    private final Scratch scratch;
    private final ActivationPrecision precision;
    /** Quantized activation rows under Q8, grown on demand (calls do not overlap). */
    private float[] quantized = new float[0];
    /** The native kernels for Q8 products, or null (none for this machine, or GANTRY_NATIVE=off). */
    private final NativeCpu nativeCpu;
    /** Activation rows quantized for the native kernels: [rows][cols] int8 and [rows][cols / 32] scales. */
    private byte[] nativeQ = new byte[0];
    private float[] nativeD = new float[0];   // [rows][cols / 32], or [rows][cols / 256] for the K-quants
    private short[] nativeSums = new short[0]; // [rows][cols / 16]: Q8_K's 16-value sums; [rows][cols / 32] Q8_0's
    private float[] nativeQ81Sums = new float[0]; // [rows][cols / 32]: Q8_1's block sums, for Q4_1 and Q5_1
    /** Activation rows transposed to tokens along lanes (TokenLaneGemm), grown on demand. */
    private float[] transposed = new float[0];
    private MemorySegment nativeTiled = MemorySegment.NULL; // [tokens rounded up to 16][cols]: the activations as AMX tiles take them

    /** Q8_0/Q4_0/Q4_K/Q5_K/Q6_K weights packed for the native kernels ({@link NativeCpu#pack}), by identity. */
    private final Map<Weight, MemorySegment> packed = new IdentityHashMap<>();

    /** Decodes weight rows first .. first+n-1 into wd[k * stride ..] for k < n. */
    private interface RowDecoder {
        void decode(int first, int n, float[] wd, int stride);
    }

    /** @param nativeCpu the native kernels for products with 8-bit activations, or null for the Vector API's */
    Matmul(ThreadPool pool, Scratch scratch, ActivationPrecision precision, NativeCpu nativeCpu) {
        this.pool = pool;
        this.scratch = scratch;
        this.precision = precision;
        this.nativeCpu = nativeCpu;
    }

    /**
     * Whether products with {@code w} would run in the native kernels on a packed copy: a Q8_0,
     * Q4_0, Q4_K, Q5_K or Q6_K weight whose activations are quantized, when the selected variant packs.
     */
    boolean wantsPacking(Weight w) {
        GgmlType t = w.type();
        return nativeCpu != null && precision.quantizes(t)
                && (t == GgmlType.Q8_0 || t == GgmlType.Q4_0 || t == GgmlType.Q4_K || t == GgmlType.Q5_K
                        || t == GgmlType.Q6_K)
                && w.rows() >= 16 && nativeCpu.packs();
    }

    /** Whether {@link #pack} has packed {@code w}. */
    boolean isPacked(Weight w) {
        return packed.containsKey(w);
    }

    /** Bytes of {@code w}'s packed copy. */
    long packedBytes(Weight w) {
        return nativeCpu.packedBytes(w.type(), w.rows(), w.cols());
    }

    /** Packs {@code w} into memory from {@code allocator} for the native kernels, once; returns the bytes newly allocated. */
    long pack(Weight w, SegmentAllocator allocator) {
        if (packed.containsKey(w)) {
            return 0;
        }
        MemorySegment dst = allocator.allocate(packedBytes(w), 64);
        nativeCpu.pack(w.type(), w.data(), w.rowBytes(), w.rows(), w.cols(), dst);
        packed.put(w, dst);
        // The products read only the packed copy now (and the rows past its last whole group of
        // 16, read back if their pages went): without this a Q8_0 model held both in memory. The
        // embedding table stays: its rows, read for every token, came back from the disk (1.3 ms
        // of a 48 ms decode step of a 1B Q4_0 model).
        if (!w.readByToken()) {
            nativeCpu.release(w.data());
        }
        return dst.byteSize();
    }

    /** x: [rows][w.cols]; out: [rows][w.rows]; bias: [w.rows] or null. */
    void run(Weight w, float[] bias, float[] x, int rows, float[] out) {
        if (rows <= 0) {
            return;
        }
        if (w.cols() % w.type().blockSize != 0) {
            throw new IllegalArgumentException(w.name() + ": " + w.cols() + " columns are not whole blocks of "
                    + w.type());
        }
        if (runsNative(w)) {
            nativeProducts(new Weight[] {w}, new float[][] {bias}, x, rows, new float[][] {out});
        } else if (precision.quantizes(w.type())) {
            quantizedActivations(w, bias, x, rows, out);
        } else if (rows == 1 && FusedRowDot.supports(w.type())) {
            pool.parallelFor(w.rows(), 16, (start, end, worker) ->
                    FusedRowDot.rows(w.data(), w.rowBytes(), start, end, w.cols(), x, 0, out, bias));
        } else {
            decoded(w, bias, x, w.cols(), rows, out, rowDecoder(w));
        }
    }

    /** How the native kernels take a weight type's activations: Q8_K, Q8_1 (with block sums), or Q8_0. */
    private enum NativeInput { K, OFFSETS, PLAIN }

    private static NativeInput nativeInput(GgmlType type) {
        return NativeCpu.isK(type) ? NativeInput.K : NativeCpu.hasOffsets(type) ? NativeInput.OFFSETS : NativeInput.PLAIN;
    }

    private boolean runsNative(Weight w) {
        return nativeCpu != null && precision.quantizes(w.type()) && NativeCpu.supports(w.type());
    }

    /**
     * outs[i] = the product of x with ws[i] (+ biases[i]) for every i, as {@link #run} for each:
     * where all of them run in the native kernels on activations quantized alike (Q, K and V; gate
     * and up), x is quantized once and the products are one parallel loop, so a decode step pays
     * one loop's start and end in place of three, and the threads balance over all the rows.
     */
    void runShared(Weight[] ws, float[][] biases, float[] x, int rows, float[][] outs) {
        boolean shared = rows > 0;
        for (Weight w : ws) {
            shared &= runsNative(w) && w.cols() == ws[0].cols() && w.cols() % w.type().blockSize == 0
                    && nativeInput(w.type()) == nativeInput(ws[0].type());
        }
        if (!shared) {
            for (int i = 0; i < ws.length; i++) {
                run(ws[i], biases[i], x, rows, outs[i]);
            }
            return;
        }
        nativeProducts(ws, biases, x, rows, outs);
    }

    /**
     * Products with 8-bit activations in the native kernels ({@link NativeCpu}): the rows are
     * quantized once, then each thread multiplies ranges of 16 weight rows (a packed group) into
     * every token row, over the weights one after another.
     */
    private void nativeProducts(Weight[] ws, float[][] biases, float[] x, int rows, float[][] outs) {
        int cols = ws[0].cols();
        NativeInput input = nativeInput(ws[0].type());
        if (nativeQ.length < rows * cols) {
            nativeQ = new byte[Math.max(rows * cols, nativeQ.length * 3 / 2)];
            nativeD = new float[nativeQ.length / Q8Activations.BLOCK];
        }
        byte[] xq = nativeQ;
        float[] xd = nativeD;
        MemorySegment[] p = new MemorySegment[ws.length];
        boolean anyPacked = false;
        boolean oneLayout = true; // AMX tiles of Q6_K pair 16 values, the others 32
        GgmlType tileType = null;
        for (int i = 0; i < ws.length; i++) {
            p[i] = packed.get(ws[i]);
            if (p[i] != null) {
                anyPacked = true;
                oneLayout &= tileType == null || (tileType == GgmlType.Q6_K) == (ws[i].type() == GgmlType.Q6_K);
                tileType = ws[i].type();
            }
        }
        if (input == NativeInput.K || anyPacked) { // block sums: Q8_K's per 16 values, Q8_0's per 32 (the packed kernels')
            int sums = rows * cols / (input == NativeInput.K ? 16 : Q8Activations.BLOCK);
            if (nativeSums.length < sums) {
                nativeSums = new short[nativeQ.length / 16];
            }
        }
        short[] xs = nativeSums;
        float[] x1 = null;
        switch (input) {
            case K -> nativeCpu.quantizeK(x, rows, cols, xq, xd, xs);
            case OFFSETS -> {
                if (nativeQ81Sums.length < rows * cols / Q8Activations.BLOCK) {
                    nativeQ81Sums = new float[nativeD.length];
                }
                x1 = nativeQ81Sums;
                nativeCpu.quantizeQ8_1(x, rows, cols, xq, xd, x1);
            }
            case PLAIN -> nativeCpu.quantize(x, rows, cols, xq, xd, anyPacked ? xs : null);
        }
        MemorySegment tiled = null; // laid out once for every packed weight, where they share the layout
        if (anyPacked && oneLayout) {
            if (nativeTiled.byteSize() < NativeCpu.tiledBytes(rows, cols)) { // freed with this Matmul (automatic arena)
                long bytes = Math.max(NativeCpu.tiledBytes(rows, cols), nativeTiled.byteSize() * 3 / 2);
                nativeTiled = Arena.ofAuto().allocate(bytes, 64);
            }
            tiled = nativeCpu.tilePacked(tileType, xq, rows, cols, nativeTiled) ? nativeTiled : null;
        }
        // Units of 16 output rows, weight after weight: a packed group, or 16 rows of a weight read as it is.
        int[] firstUnit = new int[ws.length + 1];
        for (int i = 0; i < ws.length; i++) {
            firstUnit[i + 1] = firstUnit[i] + (ws[i].rows() + 15) / 16;
        }
        MemorySegment tiles = tiled;
        float[] q81 = x1;
        pool.parallelFor(firstUnit[ws.length], 1, (start, end, worker) -> {
            for (int i = 0; i < ws.length; i++) {
                int from = Math.max(start, firstUnit[i]) - firstUnit[i];
                int to = Math.min(end, firstUnit[i + 1]) - firstUnit[i];
                if (from < to) {
                    nativeRows(ws[i], p[i], biases[i], from * 16, Math.min(ws[i].rows(), to * 16), xq, tiles, xd, xs,
                            q81, rows, outs[i]);
                }
            }
        });
    }

    /** Output rows rowStart .. rowEnd-1 of the product with w (packed as p, or null), for every token row. */
    private void nativeRows(Weight w, MemorySegment p, float[] bias, int rowStart, int rowEnd, byte[] xq,
            MemorySegment tiled, float[] xd, short[] xs, float[] x1, int rows, float[] out) {
        int n = w.rows();
        if (p != null) {
            nativeCpu.matmulPacked(w.type(), p, w.data(), w.rowBytes(), n, rowStart, rowEnd, w.cols(), xq, tiled, xd,
                    xs, rows, out, n, bias);
        } else if (NativeCpu.isK(w.type())) {
            nativeCpu.matmulK(w.type(), w.data(), w.rowBytes(), rowStart, rowEnd, w.cols(), xq, xd, xs, rows, out, n,
                    bias);
        } else {
            nativeCpu.matmul(w.type(), w.data(), w.rowBytes(), rowStart, rowEnd, w.cols(), xq, xd, x1, rows, out, n,
                    bias);
        }
    }

    private void quantizedActivations(Weight w, float[] bias, float[] x, int rows, float[] out) {
        int cols = w.cols();
        if (Q8KActivations.supports(w.type())) {
            // Q8_K's 256-value blocks, as floats q * d, through the float kernels
            float[] xq = quantizedRows(rows * cols);
            pool.parallelFor(rows, Math.max(1, 4096 / cols), (start, end, worker) -> {
                for (int r = start; r < end; r++) {
                    ActivationQuant.rowK(x, r * cols, cols, xq, r * cols);
                }
            });
            decoded(w, bias, xq, cols, rows, out, rowDecoder(w));
            return;
        }
        int blocks = cols / Q8Activations.BLOCK;
        boolean offsets = w.type() == GgmlType.Q4_1 || w.type() == GgmlType.Q5_1;
        // Q4_1 and Q5_1 rows: [cols values][block sums or offsets][zeros up to whole vectors]
        int stride = offsets ? cols + (blocks + L - 1) / L * L : cols;
        float[] xq = quantizedRows(rows * stride);
        pool.parallelFor(rows, Math.max(1, 4096 / cols), (start, end, worker) -> {
            for (int r = start; r < end; r++) {
                int at = r * stride;
                ActivationQuant.row(x, r * cols, cols, xq, at, offsets ? xq : null, at + cols);
                Arrays.fill(xq, at + cols + (offsets ? blocks : 0), at + stride, 0f);
            }
        });
        RowDecoder decoder = offsets
                ? (first, n, wd, ws) -> {
                    for (int k = 0; k < n; k++) {
                        if (w.type() == GgmlType.Q4_1) {
                            RowDequant.q4_1ScaledThenOffsets(w.data(), (first + k) * w.rowBytes(), cols, wd, k * ws);
                        } else {
                            RowDequant.q5_1ScaledThenOffsets(w.data(), (first + k) * w.rowBytes(), cols, wd, k * ws);
                        }
                        Arrays.fill(wd, k * ws + cols + blocks, (k + 1) * ws, 0f);
                    }
                }
                : rowDecoder(w);
        decoded(w, bias, xq, stride, rows, out, decoder);
    }

    /** Decodes whole rows of w (stride: floats from one decoded row to the next). */
    private static RowDecoder rowDecoder(Weight w) {
        return (first, n, wd, ws) -> {
            for (int k = 0; k < n; k++) {
                RowDequant.row(w.type(), w.data(), (first + k) * w.rowBytes(), w.cols(), wd, k * ws);
            }
        };
    }

    private float[] quantizedRows(int floats) {
        if (quantized.length < floats) {
            quantized = new float[Math.max(floats, quantized.length * 3 / 2)];
        }
        return quantized;
    }

    /**
     * x: [rows][cols] (cols may exceed w.cols by columns the decoder fills on the weight side
     * too, zeros where unused) times w's rows decoded by {@code decoder}, in {@link RowTileGemm}'s
     * tiles; out: [rows][w.rows].
     */
    private void decoded(Weight w, float[] bias, float[] x, int cols, int rows, float[] out, RowDecoder decoder) {
        if (rows > ROW_TILE_MAX_ROWS) {
            tokenLanes(w, bias, x, cols, rows, out, decoder);
            return;
        }
        int outRows = w.rows();
        // Weight rows per group: a multiple of 4 (whole 4x1 tiles), small enough for L2 and to give
        // every thread work.
        int byBytes = Math.max(4, GROUP_BYTES / (4 * cols));
        int byThreads = Math.max(4, outRows / (2 * pool.size()));
        int group = Math.min(SMALL_GROUP, Math.min(byBytes, byThreads)) & ~3;
        int groups = (outRows + group - 1) / group;
        pool.parallelFor(groups, 1, (start, end, worker) -> {
            // [group][cols] decoded weight rows
            float[] wd = scratch.floats(worker, group * cols);
            for (int g = start; g < end; g++) {
                int o0 = g * group;
                int n = Math.min(group, outRows - o0);
                decoder.decode(o0, n, wd, cols);
                RowTileGemm.multiply(wd, n, cols, x, rows, out, outRows, o0, bias);
            }
        });
    }

    /**
     * Many token rows: the activations transposed once to blocks of L tokens along the vector
     * lanes, residue-major ({@link TokenLaneGemm}); a thread decodes a group of weight rows once
     * and runs every token block over them, {@link #SUPER_BLOCK} blocks at a time so that their
     * accumulators (L per output) stay in L2.
     */
    private void tokenLanes(Weight w, float[] bias, float[] x, int cols, int rows, float[] out, RowDecoder decoder) {
        int outRows = w.rows();
        int blocks = TokenLaneGemm.blocks(rows);
        // [blocks][cols][L]: the activations, tokens along lanes, columns residue-major
        float[] xt = transposed(blocks * TokenLaneGemm.blockStride(cols));
        pool.parallelFor(blocks, 1, (start, end, worker) -> {
            for (int b = start; b < end; b++) {
                TokenLaneGemm.transposeBlock(x, rows, cols, b, xt);
            }
        });
        int tile = TokenLaneGemm.ROW_MULTIPLE;
        // Weight rows per group: whole tiles, decoded rows within GROUP_BYTES, every thread busy.
        int byBytes = GROUP_BYTES / (4 * cols) / tile * tile;
        int byThreads = outRows / (2 * pool.size()) / tile * tile;
        int group = Math.max(tile, Math.min(MAX_GROUP / tile * tile, Math.min(byBytes, byThreads)));
        int groups = (outRows + group - 1) / group;
        int superBlock = Math.min(SUPER_BLOCK, blocks);
        int accFloats = group * TokenLaneGemm.accRowStride(superBlock);
        int vectorCols = cols / L * L;
        pool.parallelFor(groups, 1, (start, end, worker) -> {
            // [group][cols] decoded weight rows, then [group][superBlock][L][L] accumulators
            float[] buf = scratch.floats(worker, group * cols + accFloats);
            int acc = group * cols;
            for (int g = start; g < end; g++) {
                int o0 = g * group;
                int n = Math.min(group, outRows - o0);
                decoder.decode(o0, n, buf, cols);
                for (int b0 = 0; b0 < blocks; b0 += superBlock) {
                    int nb = Math.min(superBlock, blocks - b0);
                    if (vectorCols == 0) { // no chunk to start the sums: a float weight of fewer than L columns
                        Arrays.fill(buf, acc, acc + group * TokenLaneGemm.accRowStride(nb), 0f);
                    }
                    for (int lo = 0; lo < vectorCols; lo += TokenLaneGemm.COLUMN_CHUNK) {
                        int hi = Math.min(vectorCols, lo + TokenLaneGemm.COLUMN_CHUNK);
                        TokenLaneGemm.multiply(buf, n, cols, xt, b0, nb, lo, hi, buf, acc);
                    }
                    for (int k = 0; k < n; k++) {
                        for (int b = 0; b < nb; b++) {
                            TokenLaneGemm.finish(buf, k, cols, xt, b0, b, buf, acc, nb, rows,
                                    bias == null ? 0f : bias[o0 + k], bias != null, out, outRows, o0 + k);
                        }
                    }
                }
            }
        });
    }

    private float[] transposed(int floats) {
        if (transposed.length < floats) {
            transposed = new float[Math.max(floats, transposed.length * 3 / 2)];
        }
        return transposed;
    }
}
