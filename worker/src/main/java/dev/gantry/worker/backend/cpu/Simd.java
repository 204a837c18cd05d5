package dev.gantry.worker.backend.cpu;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * The vector shapes every CPU kernel uses and the small conversions they share. The shapes are
 * {@code static final} so that C2 sees them as constants and compiles Vector API calls to SIMD
 * instructions; a species held in an instance field would fall back to slow boxed code.
 *
 * <p>The float shape is the platform's preferred one (128, 256 or 512 bits), or the one the
 * system property {@code gantry.vector.bits} names, which tests use to run the kernels at every
 * width on one machine (a width the CPU lacks is emulated: correct, slow).
 */
final class Simd {
    /** Float lanes: 4, 8 or 16 floats. */
    static final VectorSpecies<Float> F = floatSpecies();
    /** Lanes per float vector. */
    static final int L = F.length();
    /** Ints with the same lane count as {@link #F}. */
    static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, F.vectorShape());
    /** Shorts with the same lane count as {@link #F} (f16/bf16 weights). */
    static final VectorSpecies<Short> S = VectorSpecies.of(short.class, VectorShape.forBitSize(L * 16));
    /**
     * Bytes loaded at once from quantized blocks: L lanes, but at least 8 because there is no
     * 32-bit shape. With 4 float lanes one byte vector feeds {@link #PARTS} = 2 float vectors.
     */
    static final VectorSpecies<Byte> B = VectorSpecies.of(byte.class, VectorShape.forBitSize(Math.max(64, L * 8)));
    /** Bytes per byte vector. */
    static final int BL = B.length();
    /** Float vectors one byte vector converts to. */
    static final int PARTS = BL / L;

    static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    static final ValueLayout.OfShort SHORT_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(LE);
    static final ValueLayout.OfFloat FLOAT_LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(LE);
    static final ValueLayout.OfInt INT_LE = ValueLayout.JAVA_INT_UNALIGNED.withOrder(LE);

    private Simd() {}

    private static VectorSpecies<Float> floatSpecies() {
        String forced = System.getProperty("gantry.vector.bits");
        int bits = forced == null || forced.isBlank() ? FloatVector.SPECIES_PREFERRED.vectorBitSize()
                : Integer.parseInt(forced.trim());
        // Kernels are written for 4..16 lanes (a quant block of 32 spans whole vectors).
        int clamped = Math.clamp(bits, 128, 512);
        if (Integer.bitCount(clamped) != 1) {
            throw new IllegalArgumentException("gantry.vector.bits must be 128, 256 or 512, not " + forced);
        }
        return VectorSpecies.of(float.class, VectorShape.forBitSize(clamped));
    }

    /** Lane i to lane i ^ k, for the pairwise steps of {@link #sum} (null where k >= L). */
    private static final VectorShuffle<Float> XOR8 = L > 8 ? VectorShuffle.fromOp(F, i -> i ^ 8) : null;
    private static final VectorShuffle<Float> XOR4 = L > 4 ? VectorShuffle.fromOp(F, i -> i ^ 4) : null;
    private static final VectorShuffle<Float> XOR2 = VectorShuffle.fromOp(F, i -> i ^ 2);
    private static final VectorShuffle<Float> XOR1 = VectorShuffle.fromOp(F, i -> i ^ 1);

    /**
     * The sum of the lanes in one fixed order: halves added lanewise, then quarters, and so on.
     * {@code reduceLanes(ADD)} may add in a different order when C2 compiles it than when it is
     * interpreted, so two paths that must agree to the bit (a row alone and in a batch) could
     * differ while one of them is still warming up; lanewise adds and rearranges cannot.
     */
    static float sum(FloatVector v) {
        if (L > 8) {
            v = v.add(v.rearrange(XOR8));
        }
        if (L > 4) {
            v = v.add(v.rearrange(XOR4));
        }
        v = v.add(v.rearrange(XOR2));
        v = v.add(v.rearrange(XOR1));
        return v.lane(0);
    }

    /** Part {@code part} (0 .. PARTS-1) of a byte vector as floats, sign-extended. */
    static FloatVector toFloats(ByteVector v, int part) {
        return (FloatVector) v.convertShape(VectorOperators.B2F, F, part);
    }

    /**
     * Part {@code part} of a byte vector of Q4_0 nibbles as the values {@code (low nibble - 8)}:
     * zero-extended to int lanes, masked and offset there, then converted. The same floats as
     * masking and offsetting bytes first, in fewer instructions (x86 has no byte shift, and a
     * byte-to-float conversion is two instructions).
     */
    static FloatVector lowNibbleValues(ByteVector v, int part) {
        IntVector q = (IntVector) v.convertShape(VectorOperators.ZERO_EXTEND_B2I, I, part);
        return (FloatVector) q.and(0x0F).sub(8).convert(VectorOperators.I2F, 0);
    }

    /** As {@link #lowNibbleValues} for the high nibbles: {@code (byte >>> 4) - 8}. */
    static FloatVector highNibbleValues(ByteVector v, int part) {
        IntVector q = (IntVector) v.convertShape(VectorOperators.ZERO_EXTEND_B2I, I, part);
        return (FloatVector) q.lanewise(VectorOperators.LSHR, 4).sub(8).convert(VectorOperators.I2F, 0);
    }

    /** Part {@code part} of the low nibbles (0..15) as floats, by the route of {@link #lowNibbleValues}. */
    static FloatVector lowNibbleFloats(ByteVector v, int part) {
        IntVector q = (IntVector) v.convertShape(VectorOperators.ZERO_EXTEND_B2I, I, part);
        return (FloatVector) q.and(0x0F).convert(VectorOperators.I2F, 0);
    }

    /** Part {@code part} of the high nibbles (0..15) as floats. */
    static FloatVector highNibbleFloats(ByteVector v, int part) {
        IntVector q = (IntVector) v.convertShape(VectorOperators.ZERO_EXTEND_B2I, I, part);
        return (FloatVector) q.lanewise(VectorOperators.LSHR, 4).convert(VectorOperators.I2F, 0);
    }

    /** Loads {@link #BL} bytes. */
    static ByteVector bytes(MemorySegment m, long at) {
        return ByteVector.fromMemorySegment(B, m, at, LE);
    }

    /**
     * The high nibble of every byte. x86 has no byte shift, so shift 16-bit lanes and mask away
     * the bits that crossed in from the neighbouring byte.
     */
    static ByteVector highNibbles(ByteVector v) {
        return v.reinterpretAsShorts().lanewise(VectorOperators.LSHR, 4).reinterpretAsBytes().and((byte) 0x0F);
    }

    /** {@code (v << n) & mask} per byte, shifting 16-bit lanes (mask must drop the crossed-in bits). */
    static ByteVector shiftLeftMasked(ByteVector v, int n, byte mask) {
        return v.reinterpretAsShorts().lanewise(VectorOperators.LSHL, n).reinterpretAsBytes().and(mask);
    }

    /** {@code (v >>> n) & mask} per byte, shifting 16-bit lanes (mask must drop the crossed-in bits). */
    static ByteVector shiftRightMasked(ByteVector v, int n, byte mask) {
        return v.reinterpretAsShorts().lanewise(VectorOperators.LSHR, n).reinterpretAsBytes().and(mask);
    }

    /**
     * Signed six-bit values (-32..31) of a Q6_K block. For {@code l < 32} of one 128-value half,
     * byte {@code ql[l]} holds the low four bits of values {@code l} (low nibble, quarter 0) and
     * {@code l + 64} (high nibble, quarter 2), byte {@code ql[l + 32]} those of {@code l + 32}
     * and {@code l + 96}, and bit pairs 0-1, 2-3, 4-5, 6-7 of {@code qh[l]} the two high bits of
     * quarters 0, 1, 2, 3. {@code lowBytes} is ql[l..] for quarters 0 and 2, ql[l+32..] for 1 and 3.
     */
    static ByteVector q6(ByteVector lowBytes, ByteVector qh, int quarter) {
        ByteVector low = quarter < 2 ? lowBytes.and((byte) 0x0F) : highNibbles(lowBytes);
        ByteVector high = switch (quarter) {
            case 0 -> shiftLeftMasked(qh, 4, (byte) 0x30);
            case 1 -> shiftLeftMasked(qh, 2, (byte) 0x30);
            case 2 -> qh.and((byte) 0x30);
            default -> shiftRightMasked(qh, 2, (byte) 0x30);
        };
        return low.or(high).sub((byte) 32);
    }

    /** L IEEE half floats at byte {@code at} as floats, exactly as {@link Float#float16ToFloat}. */
    static FloatVector halfToFloat(MemorySegment m, long at) {
        ShortVector h = ShortVector.fromMemorySegment(S, m, at, LE);
        IntVector v = (IntVector) h.convertShape(VectorOperators.S2I, I, 0);
        IntVector magnitude = v.and(0x7fff);
        IntVector shifted = magnitude.lanewise(VectorOperators.LSHL, 13);
        // Exponent bias 15 -> 127: scaling by 2^112 is exact for normal and subnormal halves.
        FloatVector finite = shifted.reinterpretAsFloats().mul(0x1p112f);
        // Inf and NaN (exponent 31) keep their mantissa under the all-ones float exponent.
        FloatVector special = shifted.or(0x7f800000).reinterpretAsFloats();
        FloatVector f = finite.blend(special, magnitude.compare(VectorOperators.GE, 0x7c00).cast(F));
        IntVector sign = v.and(0x8000).lanewise(VectorOperators.LSHL, 16);
        return f.reinterpretAsInts().or(sign).reinterpretAsFloats();
    }

    /** L bfloat16 values at byte {@code at} as floats (the upper half of a float's bits). */
    static FloatVector bf16ToFloat(MemorySegment m, long at) {
        ShortVector h = ShortVector.fromMemorySegment(S, m, at, LE);
        IntVector v = (IntVector) h.convertShape(VectorOperators.S2I, I, 0);
        return v.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
    }

    static float f16(MemorySegment m, long at) {
        return Float.float16ToFloat(m.get(SHORT_LE, at));
    }

    static float bf16(MemorySegment m, long at) {
        return Float.intBitsToFloat((m.get(SHORT_LE, at) & 0xffff) << 16);
    }

    static int u8(MemorySegment m, long at) {
        return m.get(ValueLayout.JAVA_BYTE, at) & 0xff;
    }

    static int s8(MemorySegment m, long at) {
        return m.get(ValueLayout.JAVA_BYTE, at);
    }

    /**
     * ggml's get_scale_min_k4 for Q4_K: scale ({@code which == 0}) or min ({@code which == 1}) of
     * sub-block {@code j} (0..7) from the 12 packed bytes at {@code q}: six bits each.
     */
    static int scaleMinK4(MemorySegment m, long q, int j, int which) {
        if (j < 4) {
            return u8(m, q + j + 4 * which) & 63;
        }
        return which == 0
                ? (u8(m, q + j + 4) & 0xF) | ((u8(m, q + j - 4) >>> 6) << 4)
                : (u8(m, q + j + 4) >>> 4) | ((u8(m, q + j) >>> 6) << 4);
    }
}
