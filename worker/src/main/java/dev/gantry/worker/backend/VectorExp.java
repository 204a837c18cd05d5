package dev.gantry.worker.backend;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;

/**
 * e^x lane by lane for float vectors of any shape, in plain multiplies and adds, for the code
 * whose bits must not depend on whether it is compiled yet: {@code lanewise(EXP)} runs an SVML
 * stub when C2 compiles it and Math.exp per lane while interpreted, so the first requests after a
 * start (SiLU, softmax, sampling weights) got other last bits than the same requests later.
 */
public final class VectorExp {
    /** 1.5 * 2^23: adding and subtracting it rounds a float of magnitude below 2^22 to an integer, ties to even. */
    private static final float ROUND_TO_INTEGER = 0x1.8p23f;

    private VectorExp() {}

    /**
     * e^x to about 2 ulp for x in [-87.3, 88]; 0 below (e^-inf = 0, as a masked logit's weight
     * must be), e^88 above.
     * Cephes' expf: e^x = 2^n * e^r, n = round(x / ln 2), r = x - n ln 2 (ln 2 in two parts), e^r
     * by a degree-7 polynomial.
     */
    public static FloatVector exp(FloatVector x) {
        VectorMask<Float> under = x.lt(-87.33654f);
        x = x.max(-87.33654f).min(88f);
        FloatVector n = x.mul(1.44269504088896341f).add(ROUND_TO_INTEGER).sub(ROUND_TO_INTEGER);
        FloatVector r = x.sub(n.mul(0.693359375f)).sub(n.mul(-2.12194440e-4f));
        FloatVector p = r.mul(1.9875691500E-4f).add(1.3981999507E-3f).mul(r).add(8.3334519073E-3f).mul(r)
                .add(4.1665795894E-2f).mul(r).add(1.6666665459E-1f).mul(r).add(5.0000001201E-1f).mul(r.mul(r))
                .add(r).add(1f);
        IntVector e = ((IntVector) n.convert(VectorOperators.F2I, 0)).add(127).lanewise(VectorOperators.LSHL, 23);
        return p.mul(e.reinterpretAsFloats()).blend(0f, under);
    }
}
