package dev.gantry.bench;

import java.util.Locale;

/**
 * How requests are offered at one level of a sweep: a closed loop keeps a fixed number in flight
 * (the server's speed sets the rate), an open loop sends at a fixed mean rate whatever the server
 * does (its queue grows when the rate is more than it sustains, as with real users).
 */
public sealed interface Load {

    /** How the report names the level, e.g. {@code c=8}, {@code rate=2/s}, {@code rate=inf}. */
    String label();

    /** {@code concurrency} requests in flight, each client sending its next when the last ends. */
    record Closed(int concurrency) implements Load {
        public Closed {
            if (concurrency < 1) {
                throw new IllegalArgumentException("--concurrency values must be 1 or more, got " + concurrency);
            }
        }

        @Override
        public String label() {
            return "c=" + concurrency;
        }
    }

    /**
     * Poisson arrivals at {@code rate} requests per second (exponential gaps, mean 1/rate), or
     * every request at once when the rate is infinite.
     */
    record Open(double rate) implements Load {
        public Open {
            if (!(rate > 0)) {
                throw new IllegalArgumentException("--request-rate values must be above 0 (or inf), got " + rate);
            }
        }

        public boolean unbounded() {
            return Double.isInfinite(rate);
        }

        @Override
        public String label() {
            if (unbounded()) {
                return "rate=inf";
            }
            return "rate=" + (rate == Math.rint(rate) ? Long.toString((long) rate) : String.format(Locale.ROOT, "%.3g", rate))
                    + "/s";
        }
    }

    /** Parses one {@code --request-rate} value: a positive number, or {@code inf}. */
    static Open parseRate(String text) {
        String t = text.strip().toLowerCase(Locale.ROOT);
        if (t.equals("inf") || t.equals("infinity")) {
            return new Open(Double.POSITIVE_INFINITY);
        }
        try {
            return new Open(Double.parseDouble(t));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--request-rate takes numbers (requests per second) or inf, got '" + text + "'");
        }
    }
}
