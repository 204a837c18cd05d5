package dev.gantry.worker.backend.cpu;

import static dev.gantry.worker.backend.cpu.Simd.F;
import static dev.gantry.worker.backend.cpu.Simd.L;

import dev.gantry.worker.backend.AttentionBatch;
import dev.gantry.worker.backend.HostKvStorage;
import dev.gantry.worker.backend.KvCacheDtype;
import dev.gantry.worker.backend.VectorExp;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;

/**
 * Causal grouped-query attention over the paged, off-heap KV cache ({@link HostKvStorage}: f32,
 * f16 or q8_0 rows), parallel over (token row, query head) pairs. Each pair is two passes over its
 * context: scores q.k for every position into scratch (and their max), then exp(score - max) in
 * place with their sum, then out = sum_t p_t * V_t / sum.
 *
 * <p>With the native library, {@code gantry_attend_rows} (gantry_cpu_attn.c) widens f16 and
 * q8_0 values to floats in registers; where there are enough (KV head, tile) items for the
 * threads, one call takes the query heads of a GQA group for a tile of a sequence's consecutive
 * rows together (each cached row read once for them all), else one call takes one (row, head)
 * pair: the same bits either way. Without it the
 * Vector API reads an f32 cache in place (the second pass in vector-wide strips of the head, one
 * register accumulator per strip) and decodes f16/q8_0 rows into scratch first.
 */
final class Attention {
    private static final ValueLayout.OfFloat LE_FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private final ThreadPool pool;
    private final Scratch scratch;
    /** The native kernel (f16/q8_0 widened in registers), or null for the Vector API's code here. */
    private final NativeCpu lib;

    Attention(ThreadPool pool, Scratch scratch, NativeCpu lib) {
        this.pool = pool;
        this.scratch = scratch;
        this.lib = lib;
    }

    /**
     * q, out: [numTokens][heads * headDim]; the cache's layer: K and V [numBlocks * blockSize][rowBytes]
     * of {@code kv.dtype()}.
     */
    void run(float[] q, HostKvStorage kv, int layer, AttentionBatch batch, int heads, int kvHeads, int headDim,
            float scale, float[] out) {
        int numTokens = batch.numTokens();
        int group = heads / kvHeads;
        int blockSize = kv.blockSize();
        // [numTokens] sequence of each batch row
        int[] seqOf = new int[numTokens];
        // [numSeqs][contextLen[s]] cache slot of every position, shared by all rows and heads of a sequence
        int[][] slots = new int[batch.numSeqs()][];
        for (int s = 0; s < batch.numSeqs(); s++) {
            for (int r = batch.queryStart()[s]; r < batch.queryStart()[s + 1]; r++) {
                seqOf[r] = s;
            }
            int[] table = batch.blockTables()[s];
            slots[s] = new int[batch.contextLen()[s]];
            for (int t = 0; t < slots[s].length; t++) {
                slots[s][t] = table[t / blockSize] * blockSize + t % blockSize;
            }
        }
        MemorySegment keys = kv.keys(layer);
        MemorySegment values = kv.values(layer);
        KvCacheDtype dtype = kv.dtype();
        long rowBytes = kv.rowBytes();
        if (lib != null) {
            // Tiles of a sequence's consecutive rows, as many as keep an item for every thread.
            int tileRows = Math.max(1, TILE_HEADS / group);
            int numTiles = tiles(batch, tileRows);
            while (tileRows > 1 && numTiles * kvHeads < pool.size()) {
                tileRows /= 2;
                numTiles = tiles(batch, tileRows);
            }
            if (numTiles * kvHeads >= pool.size()) {
                attendTiles(q, keys, values, dtype, rowBytes, batch, slots, tileRows, numTiles, heads, kvHeads, headDim,
                        scale, out);
                return;
            }
        }
        // Work items differ in cost (context length), so take small chunks for balance.
        pool.parallelFor(numTokens * heads, 1, (start, end, worker) -> {
            for (int item = start; item < end; item++) {
                int row = item / heads;
                int h = item % heads;
                int s = seqOf[row];
                int pos = batch.contextLen()[s] - batch.queryLen(s) + (row - batch.queryStart()[s]);
                int n = pos + 1;
                int qOff = (row * heads + h) * headDim;
                int kvOff = (h / group) * headDim;
                if (lib != null) {
                    float[] work = scratch.floats(worker, NativeCpu.attendWorkFloats(1, 1, n, headDim));
                    lib.attendRows(dtype, q, qOff, 0, 1, 1, keys, values, rowBytes, kvOff, slots[s], n, headDim, scale,
                            work, out);
                    continue;
                }
                // [2 * headDim] row and accumulator scratch, then [n] scores, then probabilities (unnormalized)
                float[] work = scratch.floats(worker, 2 * headDim + n);
                if (dtype == KvCacheDtype.F32) {
                    headF32(q, qOff, keys, values, rowBytes, slots[s], n, 4L * kvOff, headDim, scale, work, out);
                } else {
                    headDecoded(dtype, q, qOff, keys, values, rowBytes, slots[s], n, kvOff, headDim, scale, work, out);
                }
            }
        });
    }

    /** Query heads per native call, over a tile's rows: 16 make the most of each cached row read (4 rows of a 4-head group). */
    private static final int TILE_HEADS = 16;

    /** How many tiles of up to {@code tileRows} consecutive rows the batch's sequences make. */
    private static int tiles(AttentionBatch batch, int tileRows) {
        int n = 0;
        for (int s = 0; s < batch.numSeqs(); s++) {
            n += (batch.queryLen(s) + tileRows - 1) / tileRows;
        }
        return n;
    }

    /**
     * The native path: one item per (KV head, tile), each attending the query heads of one GQA
     * group for the tile's rows together, reading each cached row once for all of them (each row
     * gets the same bits whatever tile it is in, so a prompt's rows do not depend on its chunking
     * or on what shares the step). Items run KV head by KV head: a prompt's consecutive tiles
     * read the same slices of the cache, which then stay in the cores' L2 rather than being
     * evicted by the other heads' between one tile and the next. One decode row of a model with
     * 3 KV heads on 2 threads is 3 such items rather than 9 heads: the uneven split costs less
     * than reading the rows three times.
     */
    private void attendTiles(float[] q, MemorySegment keys, MemorySegment values, KvCacheDtype dtype, long rowBytes,
            AttentionBatch batch, int[][] slots, int tileRows, int numTiles, int heads, int kvHeads, int headDim,
            float scale, float[] out) {
        int group = heads / kvHeads;
        // [numTiles] sequence, first row and rows of each tile
        int[] tileSeq = new int[numTiles];
        int[] tileStart = new int[numTiles];
        int[] tileLen = new int[numTiles];
        int t = 0;
        for (int s = 0; s < batch.numSeqs(); s++) {
            for (int r = batch.queryStart()[s]; r < batch.queryStart()[s + 1]; r += tileRows) {
                tileSeq[t] = s;
                tileStart[t] = r;
                tileLen[t] = Math.min(tileRows, batch.queryStart()[s + 1] - r);
                t++;
            }
        }
        int stride = heads * headDim;
        // Work items differ in cost (context length), so take small chunks for balance.
        pool.parallelFor(numTiles * kvHeads, 1, (start, end, worker) -> {
            for (int item = start; item < end; item++) {
                int tile = item % numTiles;
                int g = item / numTiles;
                int s = tileSeq[tile];
                int row = tileStart[tile];
                int rows = tileLen[tile];
                // the context of the tile's first row; its last row's is n0 + rows - 1
                int n0 = batch.contextLen()[s] - batch.queryLen(s) + (row - batch.queryStart()[s]) + 1;
                float[] work = scratch.floats(worker, NativeCpu.attendWorkFloats(rows, group, n0, headDim));
                lib.attendRows(dtype, q, row * stride + g * group * headDim, stride, rows, group, keys, values,
                        rowBytes, g * headDim, slots[s], n0, headDim, scale, work, out);
            }
        });
    }

    /** One (row, head) over an f32 cache, read in place. work: [2 * headDim + n]. */
    private static void headF32(float[] q, int qOff, MemorySegment keys, MemorySegment values, long rowBytes,
            int[] slots, int n, long kvByteOff, int headDim, float scale, float[] work, float[] out) {
        int p0 = 2 * headDim;
        float max = Float.NEGATIVE_INFINITY;
        for (int t = 0; t < n; t++) {
            float s = dot(q, qOff, keys, slots[t] * rowBytes + kvByteOff, headDim) * scale;
            work[p0 + t] = s;
            max = Math.max(max, s);
        }
        float inv = 1f / expInPlace(work, p0, n, max);
        int i = 0;
        for (int bound = F.loopBound(headDim); i < bound; i += L) {
            FloatVector acc = FloatVector.zero(F);
            for (int t = 0; t < n; t++) {
                FloatVector v = FloatVector.fromMemorySegment(F, values, slots[t] * rowBytes + kvByteOff + 4L * i,
                        ByteOrder.LITTLE_ENDIAN);
                acc = v.fma(FloatVector.broadcast(F, work[p0 + t]), acc);
            }
            acc.mul(inv).intoArray(out, qOff + i);
        }
        for (; i < headDim; i++) {
            float acc = 0;
            for (int t = 0; t < n; t++) {
                acc += work[p0 + t] * values.get(LE_FLOAT, slots[t] * rowBytes + kvByteOff + 4L * i);
            }
            out[qOff + i] = acc * inv;
        }
    }

    /**
     * One (row, head) over an f16 or q8_0 cache: each position's K and V head is decoded into
     * scratch, then used as floats. The Vector API has no f16 or int8 loads that widen to floats
     * in one step; the native kernel does this in registers. work: [2 * headDim + n].
     */
    private static void headDecoded(KvCacheDtype dtype, float[] q, int qOff, MemorySegment keys, MemorySegment values,
            long rowBytes, int[] slots, int n, int kvOff, int headDim, float scale, float[] work, float[] out) {
        int acc0 = headDim;
        int p0 = 2 * headDim;
        float max = Float.NEGATIVE_INFINITY;
        for (int t = 0; t < n; t++) {
            dtype.decode(keys, slots[t] * rowBytes, kvOff, headDim, work, 0);
            float s = dot(q, qOff, work, 0, headDim) * scale;
            work[p0 + t] = s;
            max = Math.max(max, s);
        }
        float inv = 1f / expInPlace(work, p0, n, max);
        java.util.Arrays.fill(work, acc0, acc0 + headDim, 0f);
        for (int t = 0; t < n; t++) {
            dtype.decode(values, slots[t] * rowBytes, kvOff, headDim, work, 0);
            FloatVector pt = FloatVector.broadcast(F, work[p0 + t]);
            int i = 0;
            for (int bound = F.loopBound(headDim); i < bound; i += L) {
                FloatVector.fromArray(F, work, i).fma(pt, FloatVector.fromArray(F, work, acc0 + i))
                        .intoArray(work, acc0 + i);
            }
            for (; i < headDim; i++) {
                work[acc0 + i] += work[p0 + t] * work[i];
            }
        }
        for (int i = 0; i < headDim; i++) {
            out[qOff + i] = work[acc0 + i] * inv;
        }
    }

    private static float dot(float[] a, int ao, MemorySegment b, long bo, int n) {
        FloatVector acc = FloatVector.zero(F);
        int i = 0;
        for (int bound = F.loopBound(n); i < bound; i += L) {
            acc = FloatVector.fromArray(F, a, ao + i)
                    .fma(FloatVector.fromMemorySegment(F, b, bo + 4L * i, ByteOrder.LITTLE_ENDIAN), acc);
        }
        float s = Simd.sum(acc);
        for (; i < n; i++) {
            s += a[ao + i] * b.get(LE_FLOAT, bo + 4L * i);
        }
        return s;
    }

    private static float dot(float[] a, int ao, float[] b, int bo, int n) {
        FloatVector acc = FloatVector.zero(F);
        int i = 0;
        for (int bound = F.loopBound(n); i < bound; i += L) {
            acc = FloatVector.fromArray(F, a, ao + i).fma(FloatVector.fromArray(F, b, bo + i), acc);
        }
        float s = Simd.sum(acc);
        for (; i < n; i++) {
            s += a[ao + i] * b[bo + i];
        }
        return s;
    }

    /** p[at + t] = exp(p[at + t] - max) for t < n; returns their sum. */
    private static float expInPlace(float[] p, int at, int n, float max) {
        FloatVector sum = FloatVector.zero(F);
        int t = 0;
        for (int bound = F.loopBound(n); t < bound; t += L) {
            FloatVector e = VectorExp.exp(FloatVector.fromArray(F, p, at + t).sub(max));
            e.intoArray(p, at + t);
            sum = sum.add(e);
        }
        float s = Simd.sum(sum);
        for (; t < n; t++) {
            p[at + t] = (float) Math.exp(p[at + t] - max);
            s += p[at + t];
        }
        return s;
    }
}
