package dev.gantry.worker.backend;

/** {@link Backend#sample}'s semantics in plain Java: the truth {@code sample.cu} is tested against. */
final class HostSampling {
    private HostSampling() {}

    static int pick(float[] logits, int at, int vocab, SamplingRow p) {
        int first = -1;
        float max = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < vocab; i++) {
            float x = logits[at + i];
            if (x > Float.NEGATIVE_INFINITY && (first < 0 || Math.min(x, Float.MAX_VALUE) > max)) {
                max = Math.min(x, Float.MAX_VALUE);
                first = i;
            }
        }
        if (first < 0 || p.greedy()) {
            return first;
        }
        float[] w = new float[vocab];
        for (int i = 0; i < vocab; i++) {
            float x = logits[at + i];
            w[i] = x > Float.NEGATIVE_INFINITY ? (float) Math.exp((Math.min(x, Float.MAX_VALUE) - max) * p.invTemperature()) : 0f;
        }
        if (p.topK() > 0 && p.topK() < vocab) {
            dropBelow(w, largestThreshold(w, p.topK(), true));
        }
        if (p.topP() < 1f) {
            dropBelow(w, largestThreshold(w, (double) p.topP() * atLeast(w, 0f, false), false));
        }
        if (p.minP() > 0f) {
            dropBelow(w, p.minP());
        }
        double mass = 0;
        for (float x : w) {
            mass += x > 0 ? x : 0;
        }
        double target = p.uniform() * mass;
        double cum = 0;
        for (int i = 0; i < vocab; i++) {
            if (w[i] > 0) {
                cum += w[i];
                if (cum > target) {
                    return i;
                }
            }
        }
        return first;
    }

    private static double atLeast(float[] w, float t, boolean count) {
        double s = 0;
        for (float x : w) {
            if (x >= t && x > 0) {
                s += count ? 1 : x;
            }
        }
        return s;
    }

    /** The largest float threshold in [0, 1] whose kept count (or mass) is >= target, by bisection on its bits. */
    private static float largestThreshold(float[] w, double target, boolean count) {
        int lo = 0;
        int hi = Float.floatToRawIntBits(1f) + 1;
        while (hi - lo > 1) {
            int mid = lo + (hi - lo) / 2;
            if (atLeast(w, Float.intBitsToFloat(mid), count) >= target) {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        return Float.intBitsToFloat(lo);
    }

    private static void dropBelow(float[] w, float t) {
        for (int i = 0; i < w.length; i++) {
            if (w[i] < t) {
                w[i] = 0;
            }
        }
    }
}
