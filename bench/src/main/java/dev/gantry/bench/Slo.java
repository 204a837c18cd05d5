package dev.gantry.bench;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * Service-level objectives for goodput ({@code --slo ttft=500ms,tpot=50ms}): a request counts as
 * good when it succeeded and meets every objective given. The metrics are per request, as in
 * vLLM's goodput: {@code ttft}, {@code tpot} ((e2e - TTFT) / (tokens - 1)) and {@code e2e}.
 *
 * @param limitsNanos the objectives by metric name, in the order given
 */
public record Slo(Map<String, Long> limitsNanos) {

    public Slo {
        limitsNanos = Map.copyOf(limitsNanos);
    }

    /** Parses {@code ttft=500ms,tpot=50ms,e2e=10s}; durations as {@link Durations#parse} reads them. */
    public static Slo parse(String text) {
        Map<String, Long> limits = new LinkedHashMap<>();
        for (String part : text.split(",")) {
            String p = part.strip();
            int eq = p.indexOf('=');
            if (eq < 0) {
                throw new IllegalArgumentException("--slo takes metric=duration pairs, e.g. ttft=500ms,tpot=50ms; got '" + p + "'");
            }
            String metric = p.substring(0, eq).strip().toLowerCase(java.util.Locale.ROOT);
            if (!metric.equals("ttft") && !metric.equals("tpot") && !metric.equals("e2e")) {
                throw new IllegalArgumentException("--slo metric must be ttft, tpot or e2e, got '" + metric + "'");
            }
            Duration limit = Durations.parse(p.substring(eq + 1));
            if (limits.put(metric, limit.toNanos()) != null) {
                throw new IllegalArgumentException("--slo gives " + metric + " twice");
            }
        }
        return new Slo(limits);
    }

    /**
     * Whether {@code r} succeeded and met every objective. A request with a single output token
     * has no TPOT, and so cannot miss a TPOT objective.
     */
    public boolean met(RequestResult r) {
        if (!r.ok()) {
            return false;
        }
        for (Map.Entry<String, Long> e : limitsNanos.entrySet()) {
            double value = switch (e.getKey()) {
                case "ttft" -> r.ttftNanos();
                case "tpot" -> r.tpotNanos();
                case "e2e" -> r.e2eNanos();
                default -> throw new AssertionError(e.getKey());
            };
            if (value > e.getValue()) { // NaN (no TPOT) compares false: met
                return false;
            }
        }
        return true;
    }

    /** E.g. {@code e2e<=10s tpot<=50ms ttft<=500ms}, sorted by name, for reports. */
    public String describe() {
        return limitsNanos.entrySet().stream().sorted(Map.Entry.comparingByKey())
                .map(e -> e.getKey() + "<=" + Durations.format(Duration.ofNanos(e.getValue())))
                .collect(Collectors.joining(" "));
    }
}
