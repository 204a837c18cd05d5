package dev.gantry.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;

/**
 * Renders a sweep's results as a plain-text table: one column per level, one row per figure,
 * numbers right-aligned so levels compare at a glance. Rows that no level has a value for (send
 * rate in a closed-loop sweep, goodput without SLOs, server metrics of a server without vLLM's
 * names) are left out. Failures follow the table,
 * one line per level and kind, with the first message the server (or the client) gave.
 */
public final class ReportTable {

    private ReportTable() {
    }

    public static String render(List<LevelReport> levels) {
        List<String[]> rows = new ArrayList<>();
        List<String> header = new ArrayList<>(List.of(""));
        levels.forEach(l -> header.add(l.load()));
        rows.add(header.toArray(String[]::new));
        row(rows, levels, "successful requests", l -> l.completed() + "/" + l.requested());
        row(rows, levels, "failed requests", l -> Integer.toString(l.failed()));
        row(rows, levels, "error rate (%)", l -> fixed(100 * l.errorRate(), 1));
        row(rows, levels, "timeout rate (%)", l -> fixed(100 * l.timeoutRate(), 1));
        row(rows, levels, "duration (s)", l -> fixed(l.durationSeconds(), 2));
        optionalRow(rows, levels, "send rate (req/s)", LevelReport::sendRate, 2);
        row(rows, levels, "request throughput (req/s)", l -> fixed(l.requestThroughput(), 2));
        optionalRow(rows, levels, "goodput (req/s)", LevelReport::goodput, 2);
        row(rows, levels, "output throughput (tok/s)", l -> fixed(l.outputThroughput(), 1));
        row(rows, levels, "total throughput (tok/s)", l -> fixed(l.totalTokenThroughput(), 1)
                + (l.promptTokensEstimated() ? "*" : ""));
        row(rows, levels, "mean prompt tokens", l -> fixed(l.meanPromptTokens(), 1) + (l.promptTokensEstimated() ? "*" : ""));
        row(rows, levels, "mean output tokens", l -> fixed(l.meanOutputTokens(), 1));
        distribution(rows, levels, "TTFT", LevelReport::ttftMs);
        distribution(rows, levels, "TPOT", LevelReport::tpotMs);
        distribution(rows, levels, "ITL", LevelReport::itlMs);
        distribution(rows, levels, "E2E latency", LevelReport::e2eMs);
        optionalRow(rows, levels, "server: waiting mean", l -> l.server().waitingMean(), 1);
        optionalRow(rows, levels, "server: waiting max", l -> l.server().waitingMax(), 0);
        optionalRow(rows, levels, "server: KV cache max (%)", l -> 100 * l.server().kvCacheUsageMax(), 1);
        optionalRow(rows, levels, "server: prefix hit rate (%)", l -> 100 * l.server().prefixCacheHitRate(), 1);
        optionalRow(rows, levels, "server: preemptions", l -> l.server().preemptions(), 0);

        StringBuilder out = new StringBuilder();
        int[] widths = new int[header.size()];
        for (String[] r : rows) {
            for (int i = 0; i < r.length; i++) {
                widths[i] = Math.max(widths[i], r[i].length());
            }
        }
        for (String[] r : rows) {
            StringBuilder line = new StringBuilder();
            line.append(r[0]).append(" ".repeat(widths[0] - r[0].length()));
            for (int i = 1; i < r.length; i++) {
                line.append("  ").append(" ".repeat(widths[i] - r[i].length())).append(r[i]);
            }
            out.append(line.toString().stripTrailing()).append('\n');
        }
        if (levels.stream().anyMatch(LevelReport::promptTokensEstimated)) {
            out.append("* the server reported no prompt token counts: prompt words stand in for tokens\n");
        }
        for (LevelReport l : levels) {
            for (Map.Entry<String, LevelReport.ErrorCount> e : l.errors().entrySet()) {
                out.append(String.format(Locale.ROOT, "%s: %d x %s: %s%n",
                        l.load(), e.getValue().count(), e.getKey(), e.getValue().example()));
            }
            if (l.notSent() > 0) {
                out.append(String.format(Locale.ROOT, "%s: %d requests not sent (run stopped)%n",
                        l.load(), l.notSent()));
            }
        }
        return out.toString();
    }

    private static void distribution(List<String[]> rows, List<LevelReport> levels, String name,
            Function<LevelReport, Distribution> metric) {
        row(rows, levels, name + " mean (ms)", l -> fixed(metric.apply(l).mean(), 2));
        row(rows, levels, name + " p50 (ms)", l -> fixed(metric.apply(l).p50(), 2));
        row(rows, levels, name + " p90 (ms)", l -> fixed(metric.apply(l).p90(), 2));
        row(rows, levels, name + " p95 (ms)", l -> fixed(metric.apply(l).p95(), 2));
        row(rows, levels, name + " p99 (ms)", l -> fixed(metric.apply(l).p99(), 2));
    }

    /** A row only when some level has a value for it. */
    private static void optionalRow(List<String[]> rows, List<LevelReport> levels, String name,
            java.util.function.ToDoubleFunction<LevelReport> figure, int decimals) {
        if (levels.stream().anyMatch(l -> !Double.isNaN(figure.applyAsDouble(l)))) {
            row(rows, levels, name, l -> fixed(figure.applyAsDouble(l), decimals));
        }
    }

    private static void row(List<String[]> rows, List<LevelReport> levels, String name,
            Function<LevelReport, String> cell) {
        String[] r = new String[levels.size() + 1];
        r[0] = name;
        for (int i = 0; i < levels.size(); i++) {
            r[i + 1] = cell.apply(levels.get(i));
        }
        rows.add(r);
    }

    /** NaN (no value: nothing succeeded, or single-token outputs for TPOT) prints as a dash, never as 0. */
    private static String fixed(double value, int decimals) {
        return Double.isNaN(value) || Double.isInfinite(value) ? "-" : String.format(Locale.ROOT, "%." + decimals + "f", value);
    }
}
