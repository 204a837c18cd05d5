package dev.gantry.bench;

import java.io.PrintWriter;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The one line of progress on stderr while a phase runs, e.g. {@code c=8  37/64 requests  412 tok/s}.
 * On a terminal the line is rewritten in place a few times a second; into a file or a CI log a
 * new line is written every few seconds instead, so logs stay readable. Token rates count
 * streamed chunks as they arrive, so they move during long generations.
 */
public final class Progress {

    private final PrintWriter out;
    private final boolean terminal;
    private final long intervalNanos;
    private final Object lock = new Object();
    private final AtomicInteger done = new AtomicInteger();
    private final AtomicInteger failed = new AtomicInteger();
    private final AtomicLong tokens = new AtomicLong();
    private volatile String label;
    private volatile int total;
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

    void startPhase(String label, int total) {
        this.label = label;
        this.total = total;
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

    private void print(boolean last) {
        double seconds = (System.nanoTime() - phaseStart) / 1e9;
        String line = String.format(Locale.ROOT, "%s  %d/%d requests%s  %.0f tok/s  %.0fs",
                label, done.get(), total, failed.get() > 0 ? "  " + failed.get() + " failed" : "",
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
