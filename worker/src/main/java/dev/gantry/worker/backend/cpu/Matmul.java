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
import java.util.Arrays;
import java.util.IdentityHashMap;
import java.util.Map;
import jdk.incubator.vector.FloatVector;

/**
 * out[r][o] = sum_i x[r][i] * w[o][i] (+ bias[o]), parallel over output rows o.
 *
 * <p>One token row (decode): each output row is one fused dequantize-and-dot over the weight
 * bytes ({@link DotKernels}); the weight is read once, straight from the mapped file.
 *
 * <p>Several token rows (more than L/2; fewer go through {@link RowTileGemm}'s dot-product
 * tiles over the same decoded rows): the activations are transposed once to blocks of L tokens along the
 * vector lanes; a thread takes a group of G weight rows (G*cols floats, sized to stay in L2),
 * dequantizes them once into its scratch ({@link RowDequant}), and multiplies them into every
 * token block in register tiles ({@link TokenLaneGemm}). So each weight byte is decoded once per
 * call and each decoded weight value feeds up to 2L tokens from one broadcast.
 *
 * <p>A few token rows (a small decode batch, up to {@link #FUSED_MAX_ROWS}) of a Q8_0 or Q4_0
 * weight: a fused kernel converts each weight block once in registers and applies it to 4 token
 * rows at a time ({@link
 * BatchDotKernels}), summing each row in exactly the single-row order, so those rows get the
 * same bits as alone. More rows take the decoded path above, which is cheaper per token there.
 *
 * <p>A Q8_0 or Q4_0 weight with rows of several {@link ColumnSegments} (an FFN down projection)
 * has been repacked segment-major at load; the one- and few-row paths then sum it a segment at a
 * time with the accumulators carried between segments, to the same bits as whole rows.
 *
 * <p>Where the precision quantizes a weight's activations, its product runs in the native kernels
 * where the machine has them ({@link NativeCpu}: 8-bit integer dot products, as llama.cpp's, for
 * every quantized type); else a product with a 32-value block weight first quantizes the
 * activation rows ({@link ActivationQuant}) and runs the same two paths on the result. Q4_1's and
 * Q5_1's offsets meet Q8_1's block sums: the single-row kernel takes the sums in place of its
 * block sums of x; the batched one appends them to each activation row, and the offsets to each
 * decoded weight row, so the one dot product includes {@code sum(m * s)}.
 */
final class Matmul {
    /** Bytes of decoded weight rows one thread keeps at a time (fits L2 beside the activations). */
    private static final int GROUP_BYTES = 384 * 1024;
    /** Most weight rows one thread decodes at a time. */
    private static final int MAX_GROUP = 48;
    /** Weight rows the fused batched path keeps hot while it runs every token tile over them. */
    private static final int FUSED_GROUP = 16;
    /**
     * Most token rows that take the fused path. It spends 1.5 multiply-adds per weight vector and
     * token (block sums, then the scale) and converts each block again for every tile of 4 rows,
     * where the decoded path spends 1 multiply-add and dequantizes once per call, but fills only
     * rows of its L token lanes. Measured on a 2-thread AVX-512 EPYC (16 lanes), synthetic
     * Llama-3.2-1B, decode tokens/s fused vs decoded: Q8_0 batch 2 32.7 vs 9.0, batch 4 32.6 vs
     * 18.2, batch 6 34.0 vs 27.0, batch 8 39.8 vs 34.9, batch 12 29.5 vs 52.6; Q4_0 batch 6 41.7
     * vs 33.1, batch 8 46.6 vs 45.0, batch 12 33.9 vs 65.4. The property exists for tuning on
     * other CPUs.
     */
    static final int FUSED_MAX_ROWS = Integer.getInteger("gantry.matmul.fusedMaxRows", 8);
    /** Most token rows the decoded path multiplies as row tiles ({@link RowTileGemm}), not along lanes. */
    static final int ROW_TILE_MAX_ROWS = Integer.getInteger("gantry.matmul.rowTileMaxRows", L / 2);

    private final ThreadPool pool;
    private final Scratch scratch;
    private final ActivationPrecision precision;
    /** Quantized activation rows under Q8, grown on demand (calls do not overlap). */
    private float[] quantized = new float[0];
    private float[] quantizedSums = new float[0];
    /** The native kernels for Q8 products, or null (none for this machine, or GANTRY_NATIVE=off). */
    private final NativeCpu nativeCpu;
    /** Activation rows quantized for the native kernels: [rows][cols] int8 and [rows][cols / 32] scales. */
    private byte[] nativeQ = new byte[0];
    private float[] nativeD = new float[0];   // [rows][cols / 32], or [rows][cols / 256] for the K-quants
    private short[] nativeSums = new short[0]; // [rows][cols / 16]: Q8_K's 16-value sums; [rows][cols / 32] Q8_0's
    private float[] nativeQ81Sums = new float[0]; // [rows][cols / 32]: Q8_1's block sums, for Q4_1 and Q5_1
    private MemorySegment nativeTiled = MemorySegment.NULL; // [tokens rounded up to 16][cols]: the activations as AMX tiles take them
    /** Activation rows transposed to tokens along lanes, grown on demand. */
    private float[] transposed = new float[0];

    /** Q8_0/Q4_0/Q4_K/Q5_K/Q6_K weights packed for the native kernels ({@link NativeCpu#pack}), by identity. */
    private final Map<Weight, MemorySegment> packed = new IdentityHashMap<>();

    /** Weights repacked into column segments ({@link ColumnSegments}), by identity. */
    private final Map<Weight, MemorySegment> segmented = new IdentityHashMap<>();

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

    /** Packs {@code w} into memory of {@code arena} for the native kernels, once; returns the bytes newly allocated. */
    long pack(Weight w, java.lang.foreign.Arena arena) {
        if (packed.containsKey(w)) {
            return 0;
        }
        MemorySegment dst = arena.allocate(nativeCpu.packedBytes(w.type(), w.rows(), w.cols()), 64);
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

    /** From now on, products with {@code w} read {@code data}: its {@link ColumnSegments} repacking. */
    void useSegments(Weight w, MemorySegment data) {
        segmented.put(w, data);
    }

    boolean hasSegments(Weight w) {
        return segmented.containsKey(w);
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
        } else if (rows == 1) {
            // [cols / 32] sums of x over each 32 values, for the offsets of Q4_1 and Q4_K blocks
            float[] xsum = null;
            if (DotKernels.needsBlockSums(w.type())) {
                xsum = new float[w.cols() / 32];
                DotKernels.blockSums(x, 0, w.cols(), xsum);
            }
            single(w, bias, x, xsum, out);
        } else if (rows <= FUSED_MAX_ROWS && BatchDotKernels.supports(w.type())) {
            fusedBatch(w, bias, x, rows, out);
        } else {
            batch(w, bias, x, w.cols(), rows, out, rowDecoder(w));
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
            if (rows == 1) {
                float[] xsum = null;
                if (DotKernels.needsBlockSums(w.type())) {
                    xsum = new float[cols / 32];
                    DotKernels.blockSums(xq, 0, cols, xsum);
                }
                single(w, bias, xq, xsum, out);
            } else {
                batch(w, bias, xq, cols, rows, out, rowDecoder(w));
            }
            return;
        }
        int blocks = cols / Q8Activations.BLOCK;
        if (rows == 1) {
            float[] xq = quantizedRows(cols);
            if (quantizedSums.length < blocks) {
                quantizedSums = new float[blocks];
            }
            ActivationQuant.row(x, 0, cols, xq, 0, quantizedSums, 0);
            single(w, bias, xq, quantizedSums, out);
            return;
        }
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
        batch(w, bias, xq, stride, rows, out, decoder);
    }

    /** Decodes whole rows of w (stride: floats from one decoded row to the next), from its column segments where it has them. */
    private RowDecoder rowDecoder(Weight w) {
        MemorySegment seg = segmented.get(w);
        if (seg == null) {
            return (first, n, wd, ws) -> {
                for (int k = 0; k < n; k++) {
                    RowDequant.row(w.type(), w.data(), (first + k) * w.rowBytes(), w.cols(), wd, k * ws);
                }
            };
        }
        int segments = w.cols() / ColumnSegments.COLS;
        // Segment by segment, so that the rows' pieces of a segment are read one after another.
        return (first, n, wd, ws) -> {
            for (int s = 0; s < segments; s++) {
                for (int k = 0; k < n; k++) {
                    RowDequant.row(w.type(), seg, ColumnSegments.at(w, first + k, s), ColumnSegments.COLS, wd,
                            k * ws + s * ColumnSegments.COLS);
                }
            }
        };
    }

    private float[] quantizedRows(int floats) {
        if (quantized.length < floats) {
            quantized = new float[Math.max(floats, quantized.length * 3 / 2)];
        }
        return quantized;
    }

    /** One activation row x: [w.cols]; xsum: its block sums where the weight type needs them. */
    private void single(Weight w, float[] bias, float[] x, float[] sums, float[] out) {
        int cols = w.cols();
        long rowBytes = w.rowBytes();
        MemorySegment seg = segmented.get(w);
        if (seg != null) {
            segmentedSingle(w, seg, bias, x, out);
            return;
        }
        pool.parallelFor(w.rows(), 16, (start, end, worker) -> {
            for (int o = start; o < end; o++) {
                float v = DotKernels.dot(w.type(), w.data(), o * rowBytes, x, 0, sums, cols);
                out[o] = bias == null ? v : v + bias[o];
            }
        });
    }

    /**
     * One activation row times a weight in column segments: segment by segment over the thread's
     * rows (whose pieces of a segment lie one after another), with the rows' vector accumulators
     * in scratch between segments.
     */
    private void segmentedSingle(Weight w, MemorySegment seg, float[] bias, float[] x, float[] out) {
        int segments = w.cols() / ColumnSegments.COLS;
        pool.parallelFor(w.rows(), 16, (start, end, worker) -> {
            // [end - start][L] the rows' vector accumulators
            float[] acc = scratch.floats(worker, (end - start) * L);
            Arrays.fill(acc, 0, (end - start) * L, 0f);
            for (int s = 0; s < segments; s++) {
                for (int o = start; o < end; o++) {
                    DotKernels.accumulate(w.type(), seg, ColumnSegments.at(w, o, s), x, s * ColumnSegments.COLS,
                            ColumnSegments.COLS, acc, (o - start) * L);
                }
            }
            for (int o = start; o < end; o++) {
                float v = Simd.sum(FloatVector.fromArray(F, acc, (o - start) * L));
                out[o] = bias == null ? v : v + bias[o];
            }
        });
    }

    /**
     * Several token rows of a Q8_0 or Q4_0 weight: fused dequantize-and-dot of each weight row
     * with 4 token rows at a time ({@link BatchDotKernels}), so the weight bytes are converted
     * once per tile in registers and never written out as floats. Each row's sum is computed in
     * the order {@link #single} uses, so batching does not change any row's result. Weight rows go
     * in groups of {@link #FUSED_GROUP} whose bytes stay in L1/L2 while every token tile passes.
     */
    private void fusedBatch(Weight w, float[] bias, float[] x, int rows, float[] out) {
        int cols = w.cols();
        int outRows = w.rows();
        GgmlType type = w.type();
        MemorySegment seg = segmented.get(w);
        // A whole row is one piece, a segmented one a piece per segment.
        MemorySegment data = seg == null ? w.data() : seg;
        int pieces = seg == null ? 1 : cols / ColumnSegments.COLS;
        int pieceCols = cols / pieces;
        int tiles = (rows + BatchDotKernels.TILE - 1) / BatchDotKernels.TILE;
        int tileFloats = BatchDotKernels.TILE * L;
        pool.parallelFor(outRows, FUSED_GROUP, (start, end, worker) -> {
            // [FUSED_GROUP][tiles][TILE][L] vector accumulators of the group's rows and token tiles
            float[] acc = scratch.floats(worker, FUSED_GROUP * tiles * tileFloats);
            for (int g = start; g < end; g += FUSED_GROUP) {
                int gEnd = Math.min(end, g + FUSED_GROUP);
                Arrays.fill(acc, 0, (gEnd - g) * tiles * tileFloats, 0f);
                for (int p = 0; p < pieces; p++) {
                    for (int o = g; o < gEnd; o++) {
                        long at = seg == null ? o * w.rowBytes() : ColumnSegments.at(w, o, p);
                        for (int r = 0, tile = 0; r < rows; r += BatchDotKernels.TILE, tile++) {
                            int m = Math.min(BatchDotKernels.TILE, rows - r);
                            // A partial tile repeats its first row; the duplicate sums are not stored. Tiles
                            // of 1 or 2 rows take the 2-row kernel, 3 the 4-row one.
                            int x0 = r * cols + p * pieceCols;
                            int x1 = m > 1 ? x0 + cols : x0;
                            int x2 = m > 2 ? x0 + 2 * cols : x0;
                            int x3 = m > 3 ? x0 + 3 * cols : x0;
                            int ao = ((o - g) * tiles + tile) * tileFloats;
                            if (m <= 2) {
                                BatchDotKernels.dot2(type, data, at, x, x0, x1, pieceCols, acc, ao);
                            } else {
                                BatchDotKernels.dot4(type, data, at, x, x0, x1, x2, x3, pieceCols, acc, ao);
                            }
                        }
                    }
                }
                for (int o = g; o < gEnd; o++) {
                    for (int r = 0; r < rows; r++) {
                        int ao = ((o - g) * tiles + r / BatchDotKernels.TILE) * tileFloats;
                        float v = BatchDotKernels.sum(acc, ao, r % BatchDotKernels.TILE);
                        out[r * outRows + o] = bias == null ? v : v + bias[o];
                    }
                }
            }
        });
    }

    /**
     * x: [rows][cols] where cols may exceed w.cols by columns the decoder fills on the weight
     * side too (zeros where unused). Tokens go along the vector lanes ({@link TokenLaneGemm}).
     */
    private void batch(Weight w, float[] bias, float[] x, int cols, int rows, float[] out, RowDecoder decoder) {
        if (rows <= ROW_TILE_MAX_ROWS) {
            rowTiles(w, bias, x, cols, rows, out, decoder);
            return;
        }
        int outRows = w.rows();
        int blocks = TokenLaneGemm.blocks(rows);
        // [blocks][cols][L]: the activations, tokens along lanes
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
        int group = Math.max(tile, Math.min(MAX_GROUP, Math.min(byBytes, byThreads)));
        int groups = (outRows + group - 1) / group;
        int accFloats = group * blocks * L;
        pool.parallelFor(groups, 1, (start, end, worker) -> {
            // [group][cols] decoded weight rows, then [group][blocks][L] accumulators
            float[] buf = scratch.floats(worker, group * cols + accFloats);
            int acc = group * cols;
            for (int g = start; g < end; g++) {
                int o0 = g * group;
                int n = Math.min(group, outRows - o0);
                decoder.decode(o0, n, buf, cols);
                Arrays.fill(buf, acc, acc + accFloats, 0f);
                for (int lo = 0; lo < cols; lo += TokenLaneGemm.COLUMN_CHUNK) {
                    int hi = Math.min(cols, lo + TokenLaneGemm.COLUMN_CHUNK);
                    TokenLaneGemm.multiply(buf, n, cols, xt, blocks, lo, hi, buf, acc);
                }
                // Token-major, so each token's outputs are written in one run: rows of out lie
                // outRows floats apart, often a multiple of 4 KiB, where column-wise stores would
                // all fall in the same L1 sets.
                for (int t = 0; t < rows; t++) {
                    int to = t * outRows + o0;
                    for (int k = 0; k < n; k++) {
                        float v = buf[acc + k * blocks * L + t];
                        out[to + k] = bias == null ? v : v + bias[o0 + k];
                    }
                }
            }
        });
    }

    /** A few token rows times decoded weight rows by {@link RowTileGemm}. */
    private void rowTiles(Weight w, float[] bias, float[] x, int cols, int rows, float[] out, RowDecoder decoder) {
        int outRows = w.rows();
        // Weight rows per group: even, at most 16, small enough for L2 and to give every thread work.
        int byBytes = Math.max(2, GROUP_BYTES / (4 * cols));
        int byThreads = Math.max(2, outRows / (2 * pool.size()));
        int group = Math.min(16, Math.min(byBytes, byThreads)) & ~1;
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

    private float[] transposed(int floats) {
        if (transposed.length < floats) {
            transposed = new float[Math.max(floats, transposed.length * 3 / 2)];
        }
        return transposed;
    }
}
