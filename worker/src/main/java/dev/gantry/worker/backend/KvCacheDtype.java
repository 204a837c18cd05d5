package dev.gantry.worker.backend;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Locale;

/**
 * How the KV cache stores each K and V value ({@code --kv-cache-dtype}, vLLM's and llama.cpp's
 * option). A token's K (or V) row of {@code kvDim} values is encoded as one run of bytes:
 *
 * <ul>
 *   <li>{@link #F32}: the floats as computed. 4 bytes a value.
 *   <li>{@link #F16}: each value rounded to IEEE half precision (round to nearest even, as F16C
 *       and {@link Float#floatToFloat16}). 2 bytes a value: twice the tokens in the same memory.
 *   <li>{@link #Q8_0}: ggml's {@code block_q8_0}, as llama.cpp's {@code -ctk q8_0}: every 32
 *       values share an f16 scale {@code d = max|x| / 127} and are stored as {@code rint(x * 127 /
 *       max|x|)} in -127..127 (the rounding of {@link Q8Activations}). 34 bytes per 32 values:
 *       3.76 times the tokens of f32. Blocks never straddle heads, so the head dimension must be
 *       a multiple of 32.
 * </ul>
 *
 * <p>Encoding is the only rounding: attention reads back exactly {@link #decode} of what {@link
 * #encode} wrote, on every backend that supports the type, so the reference and the fast kernels
 * see the same cache.
 */
public enum KvCacheDtype {
    // The order is the native kernels' dtype code (gantry_cpu_attn.c): 0, 1, 2.
    F32,
    F16,
    Q8_0;

    /** Values per Q8_0 block. */
    public static final int Q8_BLOCK = 32;
    /** Bytes of one Q8_0 block: an f16 scale, then 32 signed bytes. */
    public static final int Q8_BLOCK_BYTES = 2 + Q8_BLOCK;

    private static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** The type named {@code f32}, {@code f16}, {@code q8_0} or {@code auto} (f32), any case, as users write it. */
    public static KvCacheDtype parse(String name) {
        String n = name.strip().toLowerCase(Locale.ROOT);
        return switch (n) {
            case "auto", "f32", "float32", "fp32" -> F32;
            case "f16", "float16", "fp16", "half" -> F16;
            case "q8_0" -> Q8_0;
            default -> throw new IllegalArgumentException("unknown KV-cache dtype '" + name + "'");
        };
    }

    /** The name users write ({@code f32}, {@code f16}, {@code q8_0}). */
    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** Bytes one row of {@code n} values takes ({@code n} a multiple of 32 for Q8_0). */
    public long rowBytes(int n) {
        return switch (this) {
            case F32 -> 4L * n;
            case F16 -> 2L * n;
            case Q8_0 -> (long) (n / Q8_BLOCK) * Q8_BLOCK_BYTES;
        };
    }

    /** Why a model of this head dimension cannot use this type, or null when it can. */
    public String unsupportedReason(int headDim) {
        if (this == Q8_0 && headDim % Q8_BLOCK != 0) {
            return "q8_0 stores 32-value blocks within a head, but the model's head dimension is " + headDim;
        }
        return null;
    }

    /**
     * Encodes {@code src[srcOff .. srcOff + n)} into {@code dst} at byte {@code dstOff}, {@link
     * #rowBytes}(n) bytes. For Q8_0, {@code n} is a multiple of 32.
     */
    public void encode(float[] src, int srcOff, int n, MemorySegment dst, long dstOff) {
        switch (this) {
            case F32 -> MemorySegment.copy(src, srcOff, dst, FLOAT, dstOff, n);
            case F16 -> {
                for (int i = 0; i < n; i++) {
                    dst.set(SHORT, dstOff + 2L * i, Float.floatToFloat16(src[srcOff + i]));
                }
            }
            case Q8_0 -> {
                for (int b = 0; b < n / Q8_BLOCK; b++) {
                    int at = srcOff + b * Q8_BLOCK;
                    long to = dstOff + (long) b * Q8_BLOCK_BYTES;
                    float amax = 0;
                    for (int j = 0; j < Q8_BLOCK; j++) {
                        amax = Math.max(amax, Math.abs(src[at + j]));
                    }
                    float inverse = Q8Activations.inverseScale(amax);
                    dst.set(SHORT, to, Float.floatToFloat16(amax / 127f));
                    for (int j = 0; j < Q8_BLOCK; j++) {
                        dst.set(ValueLayout.JAVA_BYTE, to + 2 + j, (byte) Math.rint(src[at + j] * inverse));
                    }
                }
            }
        }
    }

    /**
     * Decodes {@code n} values starting at value {@code first} of the row at byte {@code rowOff}
     * into {@code dst[dstOff ..)}. For Q8_0, {@code first} and {@code n} are multiples of 32.
     */
    public void decode(MemorySegment src, long rowOff, int first, int n, float[] dst, int dstOff) {
        switch (this) {
            case F32 -> MemorySegment.copy(src, FLOAT, rowOff + 4L * first, dst, dstOff, n);
            case F16 -> {
                long at = rowOff + 2L * first;
                for (int i = 0; i < n; i++) {
                    dst[dstOff + i] = Float.float16ToFloat(src.get(SHORT, at + 2L * i));
                }
            }
            case Q8_0 -> {
                for (int b = 0; b < n / Q8_BLOCK; b++) {
                    long at = rowOff + (long) (first / Q8_BLOCK + b) * Q8_BLOCK_BYTES;
                    float d = Float.float16ToFloat(src.get(SHORT, at));
                    for (int j = 0; j < Q8_BLOCK; j++) {
                        dst[dstOff + b * Q8_BLOCK + j] = d * src.get(ValueLayout.JAVA_BYTE, at + 2 + j);
                    }
                }
            }
        }
    }
}
