package dev.gantry.worker.backend.cpu;

import static dev.gantry.worker.backend.cpu.Simd.F;
import static dev.gantry.worker.backend.cpu.Simd.L;

import dev.gantry.worker.backend.AttentionBatch;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/**
 * Causal grouped-query attention over the paged KV cache, parallel over (token row, query head)
 * pairs. Each pair is two passes over its context: scores q.k for every position into scratch
 * (and their max), then exp(score - max) in place with their sum, then out = sum_t p_t * V_t /
 * sum. The second pass walks the head's output in vector-wide strips, one register accumulator
 * per strip, so V rows are read from L1/L2 and the output is written once.
 */
final class Attention {
    private final ThreadPool pool;
    private final Scratch scratch;

    Attention(ThreadPool pool, Scratch scratch) {
        this.pool = pool;
        this.scratch = scratch;
    }

    /**
     * q, out: [numTokens][heads * headDim]; keys, values: [numBlocks * blockSize][kvDim] of one layer.
     */
    void run(float[] q, float[] keys, float[] values, int blockSize, int kvDim, AttentionBatch batch, int heads,
            int kvHeads, int headDim, float scale, float[] out) {
        int numTokens = batch.numTokens();
        int group = heads / kvHeads;
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
        // Work items differ in cost (context length), so take small chunks for balance.
        pool.parallelFor(numTokens * heads, 1, (start, end, worker) -> {
            for (int item = start; item < end; item++) {
                int row = item / heads;
                int h = item % heads;
                int s = seqOf[row];
                int pos = batch.contextLen()[s] - batch.queryLen(s) + (row - batch.queryStart()[s]);
                // [pos + 1] scores, then probabilities (unnormalized)
                float[] p = scratch.floats(worker, pos + 1);
                int qOff = (row * heads + h) * headDim;
                head(q, qOff, keys, values, slots[s], pos + 1, kvDim, (h / group) * headDim, headDim, scale, p, out);
            }
        });
    }

    private static void head(float[] q, int qOff, float[] keys, float[] values, int[] slots, int n, int kvDim,
            int kvOff, int headDim, float scale, float[] p, float[] out) {
        float max = Float.NEGATIVE_INFINITY;
        for (int t = 0; t < n; t++) {
            float s = dot(q, qOff, keys, slots[t] * kvDim + kvOff, headDim) * scale;
            p[t] = s;
            max = Math.max(max, s);
        }
        float sum = expInPlace(p, n, max);
        float inv = 1f / sum;
        int i = 0;
        for (int bound = F.loopBound(headDim); i < bound; i += L) {
            FloatVector acc = FloatVector.zero(F);
            for (int t = 0; t < n; t++) {
                FloatVector v = FloatVector.fromArray(F, values, slots[t] * kvDim + kvOff + i);
                acc = v.fma(FloatVector.broadcast(F, p[t]), acc);
            }
            acc.mul(inv).intoArray(out, qOff + i);
        }
        for (; i < headDim; i++) {
            float acc = 0;
            for (int t = 0; t < n; t++) {
                acc += p[t] * values[slots[t] * kvDim + kvOff + i];
            }
            out[qOff + i] = acc * inv;
        }
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

    /** p[t] = exp(p[t] - max) for t < n; returns their sum. */
    private static float expInPlace(float[] p, int n, float max) {
        FloatVector sum = FloatVector.zero(F);
        int t = 0;
        for (int bound = F.loopBound(n); t < bound; t += L) {
            FloatVector e = FloatVector.fromArray(F, p, t).sub(max).lanewise(VectorOperators.EXP);
            e.intoArray(p, t);
            sum = sum.add(e);
        }
        float s = Simd.sum(sum);
        for (; t < n; t++) {
            p[t] = (float) Math.exp(p[t] - max);
            s += p[t];
        }
        return s;
    }
}
