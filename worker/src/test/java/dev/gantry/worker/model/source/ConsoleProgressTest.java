package dev.gantry.worker.model.source;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** The progress bar's text, with a clock the test moves by hand. */
class ConsoleProgressTest {
    static final HubFile FILE = HubFile.parse("hf://owner/repo/model.gguf");
    static final URI SOURCE = URI.create("https://cdn.example.com/blob");
    static final long GIB = 1L << 30;

    final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    final PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8);
    final AtomicLong clock = new AtomicLong();

    String output() {
        return bytes.toString(StandardCharsets.UTF_8);
    }

    @Test
    void logModePrintsOneLinePerTenthWithPercentSizesRateAndEta() {
        var progress = new ConsoleProgress(out, false, clock::get);
        progress.started(FILE, SOURCE, 0, 2 * GIB);
        // 100 MiB a second, reported every 8 MiB.
        for (long done = 8L << 20; done <= 2 * GIB; done += 8L << 20) {
            clock.addAndGet(80_000_000L);
            progress.progressed(FILE, done, 2 * GIB);
        }
        progress.finished(FILE, 2 * GIB);

        String[] lines = output().split("\n");
        assertThat(output()).doesNotContain("\r");
        assertThat(lines[0]).isEqualTo("downloading hf://owner/repo@main/model.gguf (2.0 GiB) from cdn.example.com");
        assertThat(lines).hasSize(1 + 10 + 1);
        assertThat(lines[1]).isEqualTo(" 10% [##------------------] 208.0 MiB / 2.0 GiB  100.0 MiB/s  ETA 19s");
        assertThat(lines[5]).isEqualTo(" 50% [##########----------] 1.0 GiB / 2.0 GiB  100.0 MiB/s  ETA 11s");
        assertThat(lines[10]).isEqualTo("100% [####################] 2.0 GiB / 2.0 GiB  100.0 MiB/s  ETA 0s");
        assertThat(lines[11]).isEqualTo("downloaded hf://owner/repo@main/model.gguf (2.0 GiB) in 21s, 100.0 MiB/s");
    }

    @Test
    void terminalModeRedrawsInPlaceAtMostTenTimesASecond() {
        var progress = new ConsoleProgress(out, true, clock::get);
        progress.started(FILE, SOURCE, 0, 1000);
        for (int done = 1; done <= 1000; done++) {
            clock.addAndGet(1_000_000L);
            progress.progressed(FILE, done, 1000);
        }
        progress.finished(FILE, 1000);

        String out = output();
        long redraws = out.chars().filter(c -> c == '\r').count();
        // The first draw, one per 100 ms over the second, and the final redraw.
        assertThat(redraws).isEqualTo(12);
        assertThat(out).contains("\r100% [####################] 1000 B / 1000 B");
        assertThat(out).endsWith("\ndownloaded hf://owner/repo@main/model.gguf (1000 B) in 1s, 1000 B/s\n");
    }

    @Test
    void resumedDownloadCountsOnlyNewBytesInTheRate() {
        var progress = new ConsoleProgress(out, false, clock::get);
        progress.started(FILE, SOURCE, 900L << 20, 1000L << 20);
        clock.addAndGet(1_000_000_000L);
        progress.progressed(FILE, 950L << 20, 1000L << 20);
        clock.addAndGet(1_000_000_000L);
        progress.progressed(FILE, 1000L << 20, 1000L << 20);

        String[] lines = output().split("\n");
        assertThat(lines[0]).endsWith("(1000.0 MiB, resuming at 900.0 MiB) from cdn.example.com");
        // The 90% step was passed before the resume; only 100% is new.
        assertThat(lines).hasSize(2);
        assertThat(lines[1]).isEqualTo("100% [####################] 1000.0 MiB / 1000.0 MiB  50.0 MiB/s  ETA 0s");
    }

    @Test
    void logModeAlsoPrintsEveryTenSecondsWhenATenthTakesLonger() {
        var progress = new ConsoleProgress(out, false, clock::get);
        progress.started(FILE, SOURCE, 0, 10 * GIB);
        // 1 MiB a second: a tenth would take 17 minutes.
        for (int second = 1; second <= 35; second++) {
            clock.addAndGet(1_000_000_000L);
            progress.progressed(FILE, (long) second << 20, 10 * GIB);
        }

        String[] lines = output().split("\n");
        assertThat(lines).hasSize(1 + 3);
        assertThat(lines[1]).isEqualTo("  0% [--------------------] 10.0 MiB / 10.0 GiB  1.0 MiB/s  ETA 2h50m");
        assertThat(lines[3]).startsWith("  0% [--------------------] 30.0 MiB / 10.0 GiB  1.0 MiB/s");
    }

    @Test
    void unknownSizeShowsBytesAndRateOnly() {
        var progress = new ConsoleProgress(out, false, clock::get);
        progress.started(FILE, SOURCE, 0, -1);
        clock.addAndGet(2_000_000_000L);
        progress.progressed(FILE, 300L << 20, -1);

        assertThat(output().split("\n")).containsExactly(
                "downloading hf://owner/repo@main/model.gguf (size unknown) from cdn.example.com",
                "300.0 MiB  150.0 MiB/s");
    }

    @Test
    void interruptionIsReported() {
        var progress = new ConsoleProgress(out, true, clock::get);
        progress.started(FILE, SOURCE, 0, 1000);
        progress.interrupted(FILE, 500, "connection lost");

        assertThat(output()).endsWith(
                "\ndownload of hf://owner/repo@main/model.gguf interrupted at 500 B (connection lost), resuming\n");
    }

    @Test
    void formatsSizesAndDurations() {
        assertThat(ConsoleProgress.formatBytes(0)).isEqualTo("0 B");
        assertThat(ConsoleProgress.formatBytes(1023)).isEqualTo("1023 B");
        assertThat(ConsoleProgress.formatBytes(1536)).isEqualTo("1.5 KiB");
        assertThat(ConsoleProgress.formatBytes(1_153_024)).isEqualTo("1.1 MiB");
        assertThat(ConsoleProgress.formatBytes(7L * 1024 * 1024 * 1024 + (400L << 20))).isEqualTo("7.4 GiB");
        assertThat(ConsoleProgress.formatDuration(0)).isEqualTo("0s");
        assertThat(ConsoleProgress.formatDuration(26.2)).isEqualTo("27s");
        assertThat(ConsoleProgress.formatDuration(185)).isEqualTo("3m05s");
        assertThat(ConsoleProgress.formatDuration(3720)).isEqualTo("1h02m");
    }
}
