package dev.gantry.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The figures for one level of a sweep, with vLLM's definitions so the two tools agree:
 * throughputs divide the successful requests' totals by the measured phase's wall time; latency
 * distributions take successful requests only; ITL pools the gaps of all requests; TPOT is per
 * request, {@code (e2e - TTFT) / (output tokens - 1)}. Times in milliseconds. A figure with no
 * value is NaN ({@code null} in JSON).
 *
 * @param load                  the level, e.g. {@code c=8} or {@code rate=2/s}
 * @param concurrency           the closed loop's concurrency; null for an open loop
 * @param requestRate           the open loop's rate in requests/s; null for a closed loop and for {@code inf}
 * @param requested             requests the level was to send ({@link Integer#MAX_VALUE}: bounded by time only)
 * @param sendRate              requests sent per second, over the sending period (open loop; NaN otherwise)
 * @param errorRate             failed / (completed + failed)
 * @param timeoutRate           timed-out / (completed + failed)
 * @param goodput               requests/s that met every SLO; NaN without {@code --slo}
 * @param promptTokensEstimated true when some server reported no prompt token counts and prompt
 *                              words stand in for them in {@code totalTokenThroughput}
 * @param errors                failed requests by {@link RequestError#key()}, in key order
 * @param server                what the server's /metrics said during the level
 */
public record LevelReport(String load, Integer concurrency, Double requestRate, int requested, int completed,
        int failed, double durationSeconds, double sendRate, double requestThroughput, double outputThroughput,
        double totalTokenThroughput, double errorRate, double timeoutRate, double goodput,
        double meanPromptTokens, double meanOutputTokens, boolean promptTokensEstimated,
        Distribution ttftMs, Distribution tpotMs, Distribution itlMs, Distribution e2eMs,
        Map<String, ErrorCount> errors, ServerMetrics.Figures server) {

    /** How often one kind of failure happened, and the first message it came with. */
    public record ErrorCount(int count, String example) {
    }

    /**
     * @param slo the objectives for goodput, or null
     */
    public static LevelReport of(Load load, int requested, Phase phase, Slo slo, ServerMetrics.Figures server) {
        List<RequestResult> ok = new ArrayList<>();
        Map<String, ErrorCount> errors = new TreeMap<>();
        int timeouts = 0;
        int good = 0;
        for (RequestResult r : phase.results()) {
            if (slo != null && slo.met(r)) {
                good++;
            }
            if (r.ok()) {
                ok.add(r);
            } else {
                timeouts += r.error().kind() == ErrorKind.TIMEOUT ? 1 : 0;
                errors.merge(r.error().key(), new ErrorCount(1, r.error().message()),
                        (a, b) -> new ErrorCount(a.count() + b.count(), a.example()));
            }
        }
        long outputTokens = 0;
        long promptTokens = 0;
        boolean estimated = false;
        double[] ttft = new double[ok.size()];
        double[] e2e = new double[ok.size()];
        double[] tpot = ok.stream().mapToDouble(RequestResult::tpotNanos).filter(v -> !Double.isNaN(v))
                .map(LevelReport::millis).toArray();
        int gaps = ok.stream().mapToInt(r -> r.interTokenNanos().length).sum();
        double[] itl = new double[gaps];
        int g = 0;
        for (int i = 0; i < ok.size(); i++) {
            RequestResult r = ok.get(i);
            outputTokens += r.outputTokens();
            promptTokens += Math.max(0, r.promptTokens());
            estimated |= !r.promptFromUsage();
            ttft[i] = millis(r.ttftNanos());
            e2e[i] = millis(r.e2eNanos());
            for (long gap : r.interTokenNanos()) {
                itl[g++] = millis(gap);
            }
        }
        double seconds = phase.durationNanos() / 1e9;
        int n = ok.size();
        int finished = phase.results().size();
        long[] sends = phase.sendOffsetNanos();
        double sendRate = load instanceof Load.Open && sends.length > 1 && sends[sends.length - 1] > 0
                ? (sends.length - 1) / (sends[sends.length - 1] / 1e9) : Double.NaN;
        return new LevelReport(load.label(),
                load instanceof Load.Closed c ? c.concurrency() : null,
                load instanceof Load.Open o && !o.unbounded() ? o.rate() : null,
                requested, n, finished - n, seconds, sendRate,
                n / seconds, outputTokens / seconds, (promptTokens + outputTokens) / seconds,
                finished == 0 ? Double.NaN : (double) (finished - n) / finished,
                finished == 0 ? Double.NaN : (double) timeouts / finished,
                slo == null ? Double.NaN : good / seconds,
                n == 0 ? Double.NaN : (double) promptTokens / n, n == 0 ? Double.NaN : (double) outputTokens / n,
                estimated, Distribution.of(ttft), Distribution.of(tpot), Distribution.of(itl), Distribution.of(e2e),
                errors, server == null ? ServerMetrics.Figures.none() : server);
    }

    /** Requests that were never sent because the run stopped early (none for a level bounded by time). */
    public int notSent() {
        return requested == Integer.MAX_VALUE ? 0 : requested - completed - failed;
    }

    private static double millis(double nanos) {
        return nanos / 1e6;
    }
}
