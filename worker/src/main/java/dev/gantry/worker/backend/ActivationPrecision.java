package dev.gantry.worker.backend;

import dev.gantry.worker.quant.GgmlType;
import java.util.Locale;

/**
 * What a backend does to the activations (the float input rows) of a matrix product with a
 * quantized weight.
 *
 * <ul>
 *   <li>{@link #F32}: multiplies them as they are, in float, with the dequantized weights: the
 *       closest this worker gets to the exact product of the weights as stored. The default.
 *   <li>{@link #Q8}: first quantizes every activation row to 8 bits per value, in blocks of 32
 *       sharing one f16 scale, exactly as llama.cpp's CPU backend does on x86 (ggml's {@code
 *       quantize_row_q8_0} / {@code quantize_row_q8_1}: scale {@code d = max|x| / 127}, values
 *       {@code round-half-even(x * 127 / max|x|)}, {@code d} and the Q8_1 block sum {@code d *
 *       sum(q)} stored as f16), then takes integer dot products block by block against the
 *       weight's quantized blocks; for the K-quants (Q4_K, Q5_K, Q6_K) the same in ggml's 256-value Q8_K
 *       blocks ({@link Q8KActivations}). Only weights of {@link #quantizes quantizing types} are
 *       treated so; others multiply float activations as under F32.
 *   <li>{@link #AUTO}: Q8 for the types the native int8 kernels multiply faster than the float
 *       path (Q8_0, Q4_0, Q5_0, Q5_1, Q4_K, Q5_K, Q6_K), F32 for Q4_1 (its native kernel, on
 *       unpacked rows, prefills slower than the Vector API's float path) and float weights. The
 *       default: on the CPU those products then run in the native kernels, two to six times the
 *       float path's speed (docs/native-cpu.md). The rule depends on the type alone, not on
 *       whether the native kernels loaded, so results never depend on the machine's build.
 * </ul>
 *
 * <p>Why Q8 exists: llama.cpp rounds every activation of a Q4_0/Q4_1/Q8_0 product this way, and
 * the rounding (up to 1/254 of a block's largest value per element) moves logits of a quantized
 * model by up to ~2 over 30 layers, enough to part greedy decoding at near-ties. Under Q8 each
 * product equals llama.cpp's to float rounding given the same input; end to end the two still
 * differ at that level, because the last-bit differences of every other op flip a few 8-bit
 * activations per product (llama.cpp differs from itself as much between batch shapes).
 */
public enum ActivationPrecision {
    F32,
    Q8,
    AUTO;

    /**
     * Whether a product with a weight of this type quantizes its activations under this
     * precision: under Q8 for the 32-value block quants whose ggml dot product takes 8-bit
     * activations (Q4_0, Q5_0 and Q8_0 against Q8_0 blocks, Q4_1 and Q5_1 against Q8_1 blocks), and
     * Q4_K, Q5_K and Q6_K against 256-value Q8_K blocks ({@link Q8KActivations}). Float weights are not covered.
     */
    public boolean quantizes(GgmlType weightType) {
        return switch (this) {
            case F32 -> false;
            case Q8 -> Q8Activations.supports(weightType) || Q8KActivations.supports(weightType);
            // Q4_1's native kernel runs on unpacked rows: it decodes as fast as the Vector API's float
            // path but prefills at less than half its speed (docs/native-cpu.md), so auto keeps Q4_1 on floats.
            case AUTO -> (Q8Activations.supports(weightType) && weightType != GgmlType.Q4_1)
                    || Q8KActivations.supports(weightType);
        };
    }

    /** The precision named {@code f32}, {@code q8} or {@code auto} (any case), as users write it in configuration. */
    public static ActivationPrecision parse(String name) {
        try {
            return valueOf(name.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("unknown activation precision '" + name + "' (choose f32, q8 or auto)");
        }
    }
}
