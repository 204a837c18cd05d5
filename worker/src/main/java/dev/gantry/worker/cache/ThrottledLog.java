package dev.gantry.worker.cache;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import org.jboss.logging.Logger;

/**
 * A warning that is written at most once per interval. A cache backend that is down fails every
 * request; one line a minute with the latest cause and how many were suppressed says the same
 * without flooding the log.
 */
final class ThrottledLog {
    private final Logger log;
    private final long intervalNanos;
    private final AtomicLong nextAllowedNanos;
    private final AtomicLong suppressed = new AtomicLong();

    ThrottledLog(Logger log, Duration interval) {
        this.log = log;
        this.intervalNanos = interval.toNanos();
        this.nextAllowedNanos = new AtomicLong(System.nanoTime());
    }

    /** Logs {@code message: cause} unless a warning was logged within the interval. */
    void warn(String message, Throwable cause) {
        long now = System.nanoTime();
        long allowed = nextAllowedNanos.get();
        if (now - allowed < 0 || !nextAllowedNanos.compareAndSet(allowed, now + intervalNanos)) {
            suppressed.incrementAndGet();
            return;
        }
        long skipped = suppressed.getAndSet(0);
        String tail = skipped == 0 ? "" : " (" + skipped + " similar failures since the last report)";
        log.warnf("%s: %s%s", message, describe(cause), tail);
    }

    /** The cause chain in one line: a timeout or a refused connection rarely needs a stack trace. */
    private static String describe(Throwable cause) {
        StringBuilder text = new StringBuilder(String.valueOf(cause));
        Throwable c = cause.getCause();
        for (int depth = 0; c != null && depth < 4; depth++, c = c.getCause()) {
            text.append(" <- ").append(c);
        }
        return text.toString();
    }
}
