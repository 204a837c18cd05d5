package dev.gantry.bench;

/**
 * The summary the report gives for one latency metric, in milliseconds. Every figure is NaN
 * (written as {@code null} in JSON) when the metric had no values, e.g. TPOT when every request
 * produced a single token.
 */
public record Distribution(int count, double mean, double std, double min, double p50, double p90,
        double p95, double p99, double max) {

    /** Percentiles after {@link Percentiles}: linear interpolation, as numpy and vLLM. */
    public static Distribution of(double... millis) {
        Percentiles p = Percentiles.of(millis);
        return new Distribution(p.count(), p.mean(), p.stdDev(), p.min(), p.percentile(50),
                p.percentile(90), p.percentile(95), p.percentile(99), p.max());
    }
}
