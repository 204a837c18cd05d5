package dev.gantry.bench;

import java.util.Arrays;

/**
 * Percentiles of a sample by linear interpolation between the two nearest ranks: the definition
 * numpy's {@code percentile} uses by default (method "linear"), and therefore the one vLLM's
 * benchmark reports, so figures from both tools can be compared.
 *
 * <p>For a sorted sample {@code x[0..n-1]} the p-th percentile is at fractional index
 * {@code h = (n - 1) * p / 100}: {@code x[floor(h)] + (h - floor(h)) * (x[floor(h) + 1] - x[floor(h)])}.
 * So P0 is the minimum, P100 the maximum and P50 of an even-sized sample the mean of the middle two.
 */
public final class Percentiles {

    private final double[] sorted;

    private Percentiles(double[] sorted) {
        this.sorted = sorted;
    }

    /** Copies and sorts {@code values}; the caller's array is left as it was. */
    public static Percentiles of(double... values) {
        double[] copy = values.clone();
        for (double v : copy) {
            if (Double.isNaN(v)) {
                throw new IllegalArgumentException("a sample for percentiles must not contain NaN");
            }
        }
        Arrays.sort(copy);
        return new Percentiles(copy);
    }

    /** Number of values in the sample. */
    public int count() {
        return sorted.length;
    }

    public boolean isEmpty() {
        return sorted.length == 0;
    }

    /**
     * The p-th percentile, {@code 0 <= p <= 100}; NaN for an empty sample, since "no value" must
     * not read as zero latency in a report.
     */
    public double percentile(double p) {
        if (!(p >= 0 && p <= 100)) {
            throw new IllegalArgumentException("percentile must be within 0..100, got " + p);
        }
        if (sorted.length == 0) {
            return Double.NaN;
        }
        double h = (sorted.length - 1) * (p / 100.0);
        int lower = (int) Math.floor(h);
        if (lower >= sorted.length - 1) {
            return sorted[sorted.length - 1];
        }
        double fraction = h - lower;
        return sorted[lower] + fraction * (sorted[lower + 1] - sorted[lower]);
    }

    /** Arithmetic mean; NaN for an empty sample. */
    public double mean() {
        if (sorted.length == 0) {
            return Double.NaN;
        }
        double sum = 0;
        for (double v : sorted) {
            sum += v;
        }
        return sum / sorted.length;
    }

    /** Population standard deviation (numpy's default, ddof = 0); NaN for an empty sample. */
    public double stdDev() {
        if (sorted.length == 0) {
            return Double.NaN;
        }
        double mean = mean();
        double squares = 0;
        for (double v : sorted) {
            squares += (v - mean) * (v - mean);
        }
        return Math.sqrt(squares / sorted.length);
    }

    public double min() {
        return sorted.length == 0 ? Double.NaN : sorted[0];
    }

    public double max() {
        return sorted.length == 0 ? Double.NaN : sorted[sorted.length - 1];
    }
}
