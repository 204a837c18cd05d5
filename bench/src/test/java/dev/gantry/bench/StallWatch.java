package dev.gantry.bench;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * Measures how late this JVM's threads wake while a test runs: a thread that asks to sleep 1 ms,
 * over and over, and keeps the longest overshoot. On shared CI cores under a CPU quota the whole
 * process is sometimes held for a hundred milliseconds or more; any thread, the client's as much
 * as the stub's, can wake that late, and a wall-clock test may allow that much beyond its own
 * bound, since it is the machine's and was measured, not assumed.
 */
final class StallWatch implements AutoCloseable {

    private static final long TICK_NANOS = TimeUnit.MILLISECONDS.toNanos(1);

    private final Thread thread;
    private volatile boolean running = true;
    private volatile long longestNanos;

    StallWatch() {
        thread = Thread.ofPlatform().daemon().name("stall-watch").start(this::watch);
    }

    private void watch() {
        while (running) {
            long before = System.nanoTime();
            LockSupport.parkNanos(TICK_NANOS);
            long late = System.nanoTime() - before - TICK_NANOS;
            if (late > longestNanos) {
                longestNanos = late;
            }
        }
    }

    /** The longest a 1 ms sleep overran so far, in milliseconds. */
    double longestStallMs() {
        return longestNanos / 1e6;
    }

    @Override
    public void close() throws InterruptedException {
        running = false;
        thread.join();
    }
}
