package dev.gantry.bench;

import java.io.PrintWriter;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The one line of progress on stderr while a phase runs, e.g.
 * {@code c=8  [#########...........]  37/64 requests  412 tok/s  9s}: the bar fills with finished
 * requests, or with elapsed time for a phase bounded by {@code --duration} alone.
 * On a terminal the line is rewritten in place a few times a second; into a file or a CI log a
 * new line is written every few seconds instead, so logs stay readable. Token rates count
 * streamed chunks as they arrive, so they move during long generations.
 */
public final class Progress {

    private static final int BAR_WIDTH = 20;

    private final PrintWriter out;
    private final boolean terminal;
    private final long intervalNanos;
    private final Object lock = new Object();
    private final AtomicInteger done = new AtomicInteger();
    private final AtomicInteger failed = new AtomicInteger();
    private final AtomicLong tokens = new AtomicLong();
    private volatile String label;
    private volatile int total;
    private volatile long limitNanos;
    private volatile long phaseStart;
    private Thread ticker;
    private int lastWidth;

    public Progress(PrintWriter out, boolean terminal) {
        this.out = out;
        this.terminal = terminal;
        this.intervalNanos = terminal ? 250_000_000L : 5_000_000_000L;
    }

    /** Writes nothing. */
    public static Progress silent() {
        return new Progress(null, false);
    }

    /**
     * @param total requests the phase sends at most ({@link Integer#MAX_VALUE}: no count, only a limit)
     * @param limit the phase's time limit, or null
     */
    void startPhase(String label, int total, java.time.Duration limit) {
        this.label = label;
        this.total = total;
        this.limitNanos = limit == null ? 0 : limit.toNanos();
        done.set(0);
        failed.set(0);
        tokens.set(0);
        phaseStart = System.nanoTime();
        if (out == null) {
            return;
        }
        ticker = Thread.ofVirtual().name("gantry-bench-progress").start(() -> {
            try {
                while (true) {
                    Thread.sleep(intervalNanos / 1_000_000);
                    print(false);
                }
            } catch (InterruptedException stopped) {
                // the phase has ended
            }
        });
    }

    void token() {
        tokens.incrementAndGet();
    }

    void requestDone(boolean ok) {
        done.incrementAndGet();
        if (!ok) {
            failed.incrementAndGet();
        }
    }

    void endPhase() {
        if (out == null) {
            return;
        }
        ticker.interrupt();
        try {
            ticker.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        print(true);
    }

    static String bar(double fraction) {
        int filled = (int) Math.round(Math.clamp(fraction, 0, 1) * BAR_WIDTH);
        return "[" + "#".repeat(filled) + ".".repeat(BAR_WIDTH - filled) + "]";
    }

    private void print(boolean last) {
        long elapsed = System.nanoTime() - phaseStart;
        double seconds = elapsed / 1e9;
        boolean counted = total != Integer.MAX_VALUE;
        double fraction = counted ? (total == 0 ? 1 : (double) done.get() / total) : 0;
        if (limitNanos > 0) {
            fraction = Math.max(fraction, Math.min(1, (double) elapsed / limitNanos));
        }
        String line = String.format(Locale.ROOT, "%s  %s  %d%s requests%s  %.0f tok/s  %.0fs",
                label, bar(fraction), done.get(), counted ? "/" + total : "",
                failed.get() > 0 ? "  " + failed.get() + " failed" : "",
                seconds > 0 ? tokens.get() / seconds : 0.0, seconds);
        synchronized (lock) {
            if (terminal) {
                out.print("\r" + line + " ".repeat(Math.max(0, lastWidth - line.length())) + (last ? "\n" : ""));
                lastWidth = last ? 0 : line.length();
            } else {
                out.println(line);
            }
            out.flush();
        }
    }
}
