package dev.gantry.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;

/**
 * Renders a sweep's results as a plain-text table: one column per concurrency level, one row
 * per figure, numbers right-aligned so levels compare at a glance. Failures follow the table,
 * one line per level and kind, with the first message the server (or the client) gave.
 */
public final class ReportTable {

    private ReportTable() {
    }

    public static String render(List<LevelReport> levels) {
        List<String[]> rows = new ArrayList<>();
        List<String> header = new ArrayList<>(List.of(""));
        levels.forEach(l -> header.add("c=" + l.concurrency()));
        rows.add(header.toArray(String[]::new));
        row(rows, levels, "successful requests", l -> l.completed() + "/" + l.requested());
        row(rows, levels, "failed requests", l -> Integer.toString(l.failed()));
        row(rows, levels, "duration (s)", l -> fixed(l.durationSeconds(), 2));
        row(rows, levels, "request throughput (req/s)", l -> fixed(l.requestThroughput(), 2));
        row(rows, levels, "output throughput (tok/s)", l -> fixed(l.outputThroughput(), 1));
        row(rows, levels, "total throughput (tok/s)", l -> fixed(l.totalTokenThroughput(), 1)
                + (l.promptTokensEstimated() ? "*" : ""));
        row(rows, levels, "mean prompt tokens", l -> fixed(l.meanPromptTokens(), 1) + (l.promptTokensEstimated() ? "*" : ""));
        row(rows, levels, "mean output tokens", l -> fixed(l.meanOutputTokens(), 1));
        distribution(rows, levels, "TTFT", LevelReport::ttftMs);
        distribution(rows, levels, "TPOT", LevelReport::tpotMs);
        distribution(rows, levels, "ITL", LevelReport::itlMs);
        distribution(rows, levels, "E2E latency", LevelReport::e2eMs);

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
                out.append(String.format(Locale.ROOT, "c=%d: %d x %s: %s%n",
                        l.concurrency(), e.getValue().count(), e.getKey(), e.getValue().example()));
            }
            if (l.notSent() > 0) {
                out.append(String.format(Locale.ROOT, "c=%d: %d requests not sent (run stopped)%n",
                        l.concurrency(), l.notSent()));
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
