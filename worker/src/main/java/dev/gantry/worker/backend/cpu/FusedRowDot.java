package dev.gantry.worker.backend.cpu;

import static dev.gantry.worker.backend.cpu.Simd.BL;
import static dev.gantry.worker.backend.cpu.Simd.F;
import static dev.gantry.worker.backend.cpu.Simd.L;
import static dev.gantry.worker.backend.cpu.Simd.PARTS;
import static dev.gantry.worker.backend.cpu.Simd.bytes;
import static dev.gantry.worker.backend.cpu.Simd.f16;

import dev.gantry.worker.quant.GgmlType;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;

/**
 * One token row times Q4_1 weight rows with each weight vector decoded in registers, not
 * written to scratch first: the decode step of a Q4_1 model, where each weight is used once.
 *
 * <p>The same bits as {@link RowTileGemm} over {@link RowDequant}'s rows (so a token's result
 * does not depend on whether it was alone): each vector of values is decoded by RowDequant's own
 * {@link RowDequant#q4_1Low}/{@link RowDequant#q4_1High} ({@code q * d + m}), vectors are taken in column order into one accumulator per
 * row ({@code fma(w, x, acc)}), and {@link Simd#sum} adds the lanes.
 */
final class FusedRowDot {
    private FusedRowDot() {}

    /** Whether {@link #rows} takes this weight type. */
    static boolean supports(GgmlType type) {
        return type == GgmlType.Q4_1;
    }

    /**
     * out[o] = dot(row o of w, x) (+ bias[o]) for o in [start, end); x: [cols] from xo.
     */
    static void rows(MemorySegment w, long rowBytes, int start, int end, int cols, float[] x, int xo, float[] out,
            float[] bias) {
        // Row by row: four rows interleaved (four chains) ran at a quarter of the speed, their
        // vectors no longer fitting C2's registers.
        for (int o = start; o < end; o++) {
            float s = Simd.sum(q4_1(w, o * rowBytes, cols, x, xo));
            out[o] = bias == null ? s : s + bias[o];
        }
    }

    /** One Q4_1 row's vector accumulator. Block: f16 d, f16 m, u8 qs[16] (values 0..15 low nibbles, 16..31 high). */
    private static FloatVector q4_1(MemorySegment w, long at, int cols, float[] x, int xo) {
        FloatVector acc = FloatVector.zero(F);
        for (int b = 0; b < cols; b += 32, at += 20) {
            float d = f16(w, at);
            float m = f16(w, at + 2);
            for (int j = 0; j < 16; j += BL) {
                ByteVector q = bytes(w, at + 4 + j);
                for (int p = 0; p < PARTS; p++) {
                    acc = RowDequant.q4_1Low(q, p, d, m).fma(FloatVector.fromArray(F, x, xo + b + j + p * L), acc);
                }
            }
            for (int j = 0; j < 16; j += BL) {
                ByteVector q = bytes(w, at + 4 + j);
                for (int p = 0; p < PARTS; p++) {
                    acc = RowDequant.q4_1High(q, p, d, m).fma(FloatVector.fromArray(F, x, xo + b + 16 + j + p * L),
                            acc);
                }
            }
        }
        return acc;
    }
}
