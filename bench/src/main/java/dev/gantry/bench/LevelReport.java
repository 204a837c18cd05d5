package dev.gantry.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The figures for one concurrency level, with vLLM's definitions so the two tools agree:
 * throughputs divide the successful requests' totals by the measured phase's wall time; latency
 * distributions take successful requests only; ITL pools the gaps of all requests; TPOT is per
 * request, {@code (e2e - TTFT) / (output tokens - 1)}. Times in milliseconds.
 *
 * @param promptTokensEstimated true when the server reported no prompt token counts and the
 *                              words per prompt stand in for them in {@code totalTokenThroughput}
 * @param errors                failed requests by {@link RequestError#key()}, in key order
 */
public record LevelReport(int concurrency, int requested, int completed, int failed, double durationSeconds,
        double requestThroughput, double outputThroughput, double totalTokenThroughput,
        double meanPromptTokens, double meanOutputTokens, boolean promptTokensEstimated,
        Distribution ttftMs, Distribution tpotMs, Distribution itlMs, Distribution e2eMs,
        Map<String, ErrorCount> errors) {

    /** How often one kind of failure happened, and the first message it came with. */
    public record ErrorCount(int count, String example) {
    }

    /**
     * @param promptWords the prompt length asked for, used only when the server reports no usage
     */
    public static LevelReport of(int concurrency, int requested, ClosedLoop.Phase phase, int promptWords) {
        List<RequestResult> ok = new ArrayList<>();
        Map<String, ErrorCount> errors = new TreeMap<>();
        for (RequestResult r : phase.results()) {
            if (r.ok()) {
                ok.add(r);
            } else {
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
            if (r.promptTokens() >= 0) {
                promptTokens += r.promptTokens();
            } else {
                promptTokens += promptWords;
                estimated = true;
            }
            ttft[i] = millis(r.ttftNanos());
            e2e[i] = millis(r.e2eNanos());
            for (long gap : r.interTokenNanos()) {
                itl[g++] = millis(gap);
            }
        }
        double seconds = phase.durationNanos() / 1e9;
        int n = ok.size();
        return new LevelReport(concurrency, requested, n, phase.results().size() - n, seconds,
                n / seconds, outputTokens / seconds, (promptTokens + outputTokens) / seconds,
                n == 0 ? Double.NaN : (double) promptTokens / n, n == 0 ? Double.NaN : (double) outputTokens / n,
                estimated, Distribution.of(ttft), Distribution.of(tpot), Distribution.of(itl), Distribution.of(e2e),
                errors);
    }

    /** Requests that were never sent because the run stopped early. */
    public int notSent() {
        return requested - completed - failed;
    }

    private static double millis(double nanos) {
        return nanos / 1e6;
    }
}
