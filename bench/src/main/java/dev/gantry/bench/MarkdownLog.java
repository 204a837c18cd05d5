package dev.gantry.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.LocalDate;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;

/**
 * The {@code --markdown FILE} results log: a Markdown table that every run appends one row per
 * level to, so measurements of different servers, commits and days collect in one place and read
 * as a table on GitHub. The header is written when the file is new or empty.
 */
public final class MarkdownLog {

    static final String HEADER = """
            | date | commit | server | model | workload | load | ok/sent | req/s | output tok/s | total tok/s \
            | TTFT p50 (ms) | TTFT p99 (ms) | TPOT p50 (ms) | TPOT p99 (ms) | ITL p50 (ms) | E2E p50 (ms) \
            | goodput (req/s) | errors |
            |---|---|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|
            """;

    private MarkdownLog() {
    }

    /**
     * Appends a row per level.
     *
     * @param server   how the row names the server: its label and URL
     * @param workload the workload in a few words, e.g. {@code fixed 100/64}
     */
    public static void append(Path file, String commit, String server, String model, String workload,
            List<LevelReport> levels) throws IOException {
        Path parent = file.toAbsolutePath().getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
        StringBuilder text = new StringBuilder();
        if (!Files.exists(file) || Files.size(file) == 0) {
            text.append(HEADER);
        }
        String date = LocalDate.now().toString();
        for (LevelReport l : levels) {
            String errors = l.errors().isEmpty() ? "" : String.join(", ", l.errors().entrySet().stream()
                    .map(e -> e.getValue().count() + " " + e.getKey()).toList());
            text.append("| ").append(String.join(" | ", List.of(date, commit, cell(server), cell(model), cell(workload),
                    l.load(), l.completed() + "/" + (l.completed() + l.failed()),
                    fixed(l.requestThroughput(), 2), fixed(l.outputThroughput(), 1), fixed(l.totalTokenThroughput(), 1),
                    fixed(l.ttftMs().p50(), 1), fixed(l.ttftMs().p99(), 1), fixed(l.tpotMs().p50(), 2),
                    fixed(l.tpotMs().p99(), 2), fixed(l.itlMs().p50(), 2), fixed(l.e2eMs().p50(), 1),
                    fixed(l.goodput(), 2), cell(errors)))).append(" |\n");
        }
        Files.writeString(file, text, StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
    }

    /**
     * The short commit of the git repository the command runs in ({@code git rev-parse --short
     * HEAD}), with {@code +dirty} when it has uncommitted changes; {@code -} outside a repository
     * or without git.
     */
    public static String gitCommit() {
        String head = git("rev-parse", "--short", "HEAD");
        if (head == null || head.isEmpty()) {
            return "-";
        }
        String status = git("status", "--porcelain", "--untracked-files=no");
        return status != null && !status.isEmpty() ? head + "+dirty" : head;
    }

    private static String git(String... args) {
        try {
            String[] command = new String[args.length + 1];
            command[0] = "git";
            System.arraycopy(args, 0, command, 1, args.length);
            Process p = new ProcessBuilder(command).redirectErrorStream(false)
                    .redirectError(ProcessBuilder.Redirect.DISCARD).start();
            byte[] out = p.getInputStream().readAllBytes();
            if (!p.waitFor(5, TimeUnit.SECONDS) || p.exitValue() != 0) {
                p.destroy();
                return null;
            }
            return new String(out, StandardCharsets.UTF_8).strip();
        } catch (IOException e) {
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
    }

    /** A table cell: pipes would end the cell, line breaks the row. */
    private static String cell(String text) {
        return text.replace("|", "\\|").replace("\n", " ");
    }

    private static String fixed(double value, int decimals) {
        return Double.isNaN(value) || Double.isInfinite(value) ? "-" : String.format(Locale.ROOT, "%." + decimals + "f", value);
    }
}
