package dev.gantry.worker.backend.cpu;

import static dev.gantry.worker.backend.cpu.Simd.BL;
import static dev.gantry.worker.backend.cpu.Simd.F;
import static dev.gantry.worker.backend.cpu.Simd.L;
import static dev.gantry.worker.backend.cpu.Simd.PARTS;
import static dev.gantry.worker.backend.cpu.Simd.bytes;
import static dev.gantry.worker.backend.cpu.Simd.f16;
import static dev.gantry.worker.backend.cpu.Simd.highNibbleValues;
import static dev.gantry.worker.backend.cpu.Simd.lowNibbleValues;
import static dev.gantry.worker.backend.cpu.Simd.toFloats;

import dev.gantry.worker.quant.GgmlType;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;

/**
 * Fused dequantize-and-dot of one weight row with up to {@link #TILE} activation rows at once:
 * each weight block is read from the mapped file and converted to float vectors once, in
 * registers, and that vector is multiplied into the accumulators of every activation row of the
 * tile. No decoded copy of the weight is written, so a small batch costs about one weight read
 * plus TILE times the multiply-adds, instead of a full dequantization pass per step.
 *
 * <p>Batch invariance: for every activation row the float operations are exactly those of
 * {@link DotKernels} for the same type, in the same order (block-local sum of {@code q * x},
 * then {@code acc += s * d}, then one lane reduction). So a row's result is bit for bit the same
 * whether it is computed alone ({@link DotKernels#dot}) or in a tile with other rows.
 */
final class BatchDotKernels {
    /** Activation rows one call handles: 4 block sums + 4 row accumulators stay in registers. */
    static final int TILE = 4;

    private BatchDotKernels() {}

    /** Types {@link #dot4} handles; others go through {@link DotKernels} or the decoded path. */
    static boolean supports(GgmlType type) {
        return type == GgmlType.Q8_0 || type == GgmlType.Q4_0;
    }

    /**
     * Adds the dot of the weight row (or row piece) at byte {@code at} with the activation rows at
     * x0..x3 of x into the 4 vector accumulators at acc[ao..] ([4][L]; zero them before a row's first
     * piece, then {@link #sum} each). Callers with fewer than 4 rows repeat one offset; the
     * duplicate results are ignored.
     */
    static void dot4(GgmlType type, MemorySegment w, long at, float[] x, int x0, int x1, int x2, int x3, int cols,
            float[] acc, int ao) {
        switch (type) {
            case Q8_0 -> q8_0(w, at, x, x0, x1, x2, x3, cols, acc, ao);
            case Q4_0 -> q4_0(w, at, x, x0, x1, x2, x3, cols, acc, ao);
            default -> throw new IllegalArgumentException("no batched dot for " + type);
        }
    }

    /**
     * {@link #dot4} for the activation rows at x0 and x1 (acc: [2][L]): for a batch of 2, where
     * {@link #dot4} would spend twice the multiply-adds on duplicates.
     */
    static void dot2(GgmlType type, MemorySegment w, long at, float[] x, int x0, int x1, int cols, float[] acc,
            int ao) {
        switch (type) {
            case Q8_0 -> q8_0x2(w, at, x, x0, x1, cols, acc, ao);
            case Q4_0 -> q4_0x2(w, at, x, x0, x1, cols, acc, ao);
            default -> throw new IllegalArgumentException("no batched dot for " + type);
        }
    }

    private static void q8_0x2(MemorySegment w, long at, float[] x, int x0, int x1, int n, float[] acc, int ao) {
        FloatVector acc0 = FloatVector.fromArray(F, acc, ao), acc1 = FloatVector.fromArray(F, acc, ao + L);
        for (int b = 0; b < n; b += 32, at += 34) {
            FloatVector s0 = FloatVector.zero(F), s1 = s0;
            for (int j = 0; j < 32; j += BL) {
                ByteVector q = bytes(w, at + 2 + j);
                for (int p = 0; p < PARTS; p++) {
                    FloatVector v = toFloats(q, p);
                    int i = b + j + p * L;
                    s0 = v.fma(FloatVector.fromArray(F, x, x0 + i), s0);
                    s1 = v.fma(FloatVector.fromArray(F, x, x1 + i), s1);
                }
            }
            FloatVector d = FloatVector.broadcast(F, f16(w, at));
            acc0 = s0.fma(d, acc0);
            acc1 = s1.fma(d, acc1);
        }
        acc0.intoArray(acc, ao);
        acc1.intoArray(acc, ao + L);
    }

    private static void q4_0x2(MemorySegment w, long at, float[] x, int x0, int x1, int n, float[] acc, int ao) {
        FloatVector acc0 = FloatVector.fromArray(F, acc, ao), acc1 = FloatVector.fromArray(F, acc, ao + L);
        for (int b = 0; b < n; b += 32, at += 18) {
            FloatVector s0 = FloatVector.zero(F), s1 = s0;
            for (int j = 0; j < 16; j += BL) {
                ByteVector q = bytes(w, at + 2 + j);
                for (int p = 0; p < PARTS; p++) {
                    FloatVector v = lowNibbleValues(q, p);
                    int i = b + j + p * L;
                    s0 = v.fma(FloatVector.fromArray(F, x, x0 + i), s0);
                    s1 = v.fma(FloatVector.fromArray(F, x, x1 + i), s1);
                    v = highNibbleValues(q, p);
                    i += 16;
                    s0 = v.fma(FloatVector.fromArray(F, x, x0 + i), s0);
                    s1 = v.fma(FloatVector.fromArray(F, x, x1 + i), s1);
                }
            }
            FloatVector d = FloatVector.broadcast(F, f16(w, at));
            acc0 = s0.fma(d, acc0);
            acc1 = s1.fma(d, acc1);
        }
        acc0.intoArray(acc, ao);
        acc1.intoArray(acc, ao + L);
    }

    // block_q8_0 (34 bytes): f16 d, i8 qs[32]; same operations per row as DotKernels.q8_0
    private static void q8_0(MemorySegment w, long at, float[] x, int x0, int x1, int x2, int x3, int n,
            float[] acc, int ao) {
        FloatVector zero = FloatVector.zero(F);
        FloatVector acc0 = FloatVector.fromArray(F, acc, ao), acc1 = FloatVector.fromArray(F, acc, ao + L);
        FloatVector acc2 = FloatVector.fromArray(F, acc, ao + 2 * L), acc3 = FloatVector.fromArray(F, acc, ao + 3 * L);
        for (int b = 0; b < n; b += 32, at += 34) {
            FloatVector s0 = zero, s1 = zero, s2 = zero, s3 = zero;
            for (int j = 0; j < 32; j += BL) {
                ByteVector q = bytes(w, at + 2 + j);
                for (int p = 0; p < PARTS; p++) {
                    FloatVector v = toFloats(q, p);
                    int i = b + j + p * L;
                    s0 = v.fma(FloatVector.fromArray(F, x, x0 + i), s0);
                    s1 = v.fma(FloatVector.fromArray(F, x, x1 + i), s1);
                    s2 = v.fma(FloatVector.fromArray(F, x, x2 + i), s2);
                    s3 = v.fma(FloatVector.fromArray(F, x, x3 + i), s3);
                }
            }
            FloatVector d = FloatVector.broadcast(F, f16(w, at));
            acc0 = s0.fma(d, acc0);
            acc1 = s1.fma(d, acc1);
            acc2 = s2.fma(d, acc2);
            acc3 = s3.fma(d, acc3);
        }
        store(acc0, acc1, acc2, acc3, acc, ao);
    }

    // block_q4_0 (18 bytes): f16 d, u8 qs[16]; same operations per row as DotKernels.q4_0
    private static void q4_0(MemorySegment w, long at, float[] x, int x0, int x1, int x2, int x3, int n,
            float[] acc, int ao) {
        FloatVector zero = FloatVector.zero(F);
        FloatVector acc0 = FloatVector.fromArray(F, acc, ao), acc1 = FloatVector.fromArray(F, acc, ao + L);
        FloatVector acc2 = FloatVector.fromArray(F, acc, ao + 2 * L), acc3 = FloatVector.fromArray(F, acc, ao + 3 * L);
        for (int b = 0; b < n; b += 32, at += 18) {
            FloatVector s0 = zero, s1 = zero, s2 = zero, s3 = zero;
            for (int j = 0; j < 16; j += BL) {
                ByteVector q = bytes(w, at + 2 + j);
                for (int p = 0; p < PARTS; p++) {
                    // Low nibble then high nibble into the same sum, as the single-row kernel does.
                    FloatVector v = lowNibbleValues(q, p);
                    int i = b + j + p * L;
                    s0 = v.fma(FloatVector.fromArray(F, x, x0 + i), s0);
                    s1 = v.fma(FloatVector.fromArray(F, x, x1 + i), s1);
                    s2 = v.fma(FloatVector.fromArray(F, x, x2 + i), s2);
                    s3 = v.fma(FloatVector.fromArray(F, x, x3 + i), s3);
                    v = highNibbleValues(q, p);
                    i += 16;
                    s0 = v.fma(FloatVector.fromArray(F, x, x0 + i), s0);
                    s1 = v.fma(FloatVector.fromArray(F, x, x1 + i), s1);
                    s2 = v.fma(FloatVector.fromArray(F, x, x2 + i), s2);
                    s3 = v.fma(FloatVector.fromArray(F, x, x3 + i), s3);
                }
            }
            FloatVector d = FloatVector.broadcast(F, f16(w, at));
            acc0 = s0.fma(d, acc0);
            acc1 = s1.fma(d, acc1);
            acc2 = s2.fma(d, acc2);
            acc3 = s3.fma(d, acc3);
        }
        store(acc0, acc1, acc2, acc3, acc, ao);
    }

    private static void store(FloatVector a0, FloatVector a1, FloatVector a2, FloatVector a3, float[] acc, int ao) {
        a0.intoArray(acc, ao);
        a1.intoArray(acc, ao + L);
        a2.intoArray(acc, ao + 2 * L);
        a3.intoArray(acc, ao + 3 * L);
    }

    /** The dot product of tile row {@code t} from the vector accumulators the kernels left at acc[ao..]. */
    static float sum(float[] acc, int ao, int t) {
        return Simd.sum(FloatVector.fromArray(F, acc, ao + t * L));
    }
}
