package dev.gantry.worker.model.source;

import java.io.Console;
import java.io.PrintStream;
import java.net.URI;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * A text progress bar for downloads:
 * {@code  45% [#########-----------] 512.0 MiB / 1.1 GiB  23.4 MiB/s  ETA 27s}.
 *
 * <p>On a terminal the line is redrawn in place with {@code \r} (at most ten times a second); on
 * anything else (a CI log, a container's log) it prints one line per tenth of the file, and one at
 * least every {@link #LOG_INTERVAL_SECONDS} seconds while the download runs, so logs stay short
 * and a slow download still shows it moves.
 */
public final class ConsoleProgress implements DownloadListener {
    private static final long REDRAW_NANOS = TimeUnit.MILLISECONDS.toNanos(100);
    /** Without a known size, a log line every this many bytes instead of every tenth. */
    private static final long UNKNOWN_SIZE_STEP = 256L << 20;
    private static final int BAR_WIDTH = 20;
    /** In log mode, the longest silence between progress lines. */
    static final long LOG_INTERVAL_SECONDS = 10;
    private static final long LOG_INTERVAL_NANOS = TimeUnit.SECONDS.toNanos(LOG_INTERVAL_SECONDS);

    private final PrintStream out;
    private final boolean interactive;
    private final LongSupplier nanoClock;
    private final Map<HubFile, State> states = new HashMap<>();

    /** Per-file state, since threads resolving different files may share this listener. */
    private static final class State {
        long startNanos;
        long startBytes;
        long lastDrawNanos;
        long lastLineNanos;
        long lastStep;
        int lastLineLength;
    }

    /**
     * @param out         where to draw
     * @param interactive redraw in place (a terminal) rather than print a line per tenth
     */
    public ConsoleProgress(PrintStream out, boolean interactive) {
        this(out, interactive, System::nanoTime);
    }

    ConsoleProgress(PrintStream out, boolean interactive, LongSupplier nanoClock) {
        this.out = out;
        this.interactive = interactive;
        this.nanoClock = nanoClock;
    }

    /** Progress on standard error, redrawn in place when the process runs on a terminal. */
    public static ConsoleProgress stderr() {
        Console console = System.console();
        // Since JDK 22 System.console() is non-null even when redirected; isTerminal() tells.
        return new ConsoleProgress(System.err, console != null && console.isTerminal());
    }

    @Override
    public synchronized void started(HubFile file, URI source, long resumedFrom, long totalBytes) {
        State s = new State();
        s.startNanos = nanoClock.getAsLong();
        s.startBytes = resumedFrom;
        s.lastDrawNanos = s.startNanos;
        s.lastLineNanos = s.startNanos;
        s.lastStep = step(resumedFrom, totalBytes);
        states.put(file, s);
        String size = totalBytes >= 0 ? formatBytes(totalBytes) : "size unknown";
        String resume = resumedFrom > 0 ? ", resuming at " + formatBytes(resumedFrom) : "";
        out.println("downloading " + file + " (" + size + resume + ") from " + source.getHost());
        if (interactive) {
            draw(s, resumedFrom, totalBytes);
        }
        out.flush();
    }

    @Override
    public synchronized void progressed(HubFile file, long bytesDone, long totalBytes) {
        State s = states.get(file);
        if (s == null) {
            return;
        }
        long now = nanoClock.getAsLong();
        if (interactive) {
            if (now - s.lastDrawNanos >= REDRAW_NANOS || bytesDone == totalBytes) {
                s.lastDrawNanos = now;
                draw(s, bytesDone, totalBytes);
                out.flush();
            }
        } else {
            long step = step(bytesDone, totalBytes);
            if (step > s.lastStep || now - s.lastLineNanos >= LOG_INTERVAL_NANOS) {
                s.lastStep = Math.max(s.lastStep, step);
                s.lastLineNanos = now;
                out.println(line(s, bytesDone, totalBytes, now));
                out.flush();
            }
        }
    }

    @Override
    public synchronized void interrupted(HubFile file, long bytesDone, String reason) {
        State s = states.remove(file);
        if (interactive && s != null) {
            out.println();
        }
        out.println("download of " + file + " interrupted at " + formatBytes(bytesDone) + " (" + reason
                + "), resuming");
        out.flush();
    }

    @Override
    public synchronized void finished(HubFile file, long totalBytes) {
        State s = states.remove(file);
        if (s == null) {
            return;
        }
        long now = nanoClock.getAsLong();
        if (interactive) {
            draw(s, totalBytes, totalBytes);
            out.println();
        }
        double seconds = (now - s.startNanos) / 1e9;
        out.println("downloaded " + file + " (" + formatBytes(totalBytes) + ") in " + formatDuration(seconds)
                + rateSuffix(s, totalBytes, now));
        out.flush();
    }

    /** The progress line, without any carriage return. */
    private String line(State s, long done, long total, long now) {
        StringBuilder b = new StringBuilder();
        if (total > 0) {
            double fraction = Math.min(1.0, (double) done / total);
            int filled = (int) Math.floor(fraction * BAR_WIDTH);
            b.append(String.format(Locale.ROOT, "%3d%% [", (int) Math.floor(fraction * 100)))
                    .append("#".repeat(filled)).append("-".repeat(BAR_WIDTH - filled)).append("] ")
                    .append(formatBytes(done)).append(" / ").append(formatBytes(total));
        } else {
            b.append(formatBytes(done));
        }
        double rate = rate(s, done, now);
        if (rate > 0) {
            b.append("  ").append(formatBytes((long) rate)).append("/s");
            if (total > 0) {
                b.append("  ETA ").append(formatDuration(Math.max(0, total - done) / rate));
            }
        } else if (total > 0) {
            b.append("  ETA --");
        }
        return b.toString();
    }

    private void draw(State s, long done, long total) {
        String line = line(s, done, total, nanoClock.getAsLong());
        // Pad over the rest of a longer previous line, which \r alone would leave on screen.
        int pad = Math.max(0, s.lastLineLength - line.length());
        out.print("\r" + line + " ".repeat(pad));
        s.lastLineLength = line.length();
    }

    private static long step(long done, long total) {
        return total > 0 ? done * 10 / total : done / UNKNOWN_SIZE_STEP;
    }

    /** Bytes per second over this attempt, not counting bytes resumed from disk. */
    private static double rate(State s, long done, long now) {
        double seconds = (now - s.startNanos) / 1e9;
        return seconds > 0 ? (done - s.startBytes) / seconds : 0;
    }

    private static String rateSuffix(State s, long done, long now) {
        double rate = rate(s, done, now);
        return rate > 0 ? ", " + formatBytes((long) rate) + "/s" : "";
    }

    /** {@code 512 B}, {@code 3.0 KiB}, {@code 1.1 MiB}, {@code 7.4 GiB}. */
    static String formatBytes(long bytes) {
        if (bytes < 1024) {
            return bytes + " B";
        }
        String[] units = {"KiB", "MiB", "GiB", "TiB"};
        double v = bytes;
        int unit = -1;
        while (v >= 1024 && unit < units.length - 1) {
            v /= 1024;
            unit++;
        }
        return String.format(Locale.ROOT, "%.1f %s", v, units[unit]);
    }

    /** {@code 27s}, {@code 3m05s}, {@code 1h02m}. */
    static String formatDuration(double seconds) {
        long s = (long) Math.ceil(seconds);
        if (s < 60) {
            return s + "s";
        }
        if (s < 3600) {
            return String.format(Locale.ROOT, "%dm%02ds", s / 60, s % 60);
        }
        return String.format(Locale.ROOT, "%dh%02dm", s / 3600, (s % 3600) / 60);
    }
}
