package dev.gantry.worker.perf;

import java.util.concurrent.CountDownLatch;
import java.util.function.IntConsumer;

/** Runs a body on fresh platform threads at once, for the machine measurements. */
final class OnThreads {
    private OnThreads() {}

    /** Runs {@code body.accept(t)} for t in 0 .. threads-1, each on its own thread, and waits for all. */
    static void run(int threads, IntConsumer body) {
        CountDownLatch done = new CountDownLatch(threads);
        for (int t = 0; t < threads; t++) {
            int index = t;
            Thread.ofPlatform().daemon().start(() -> {
                try {
                    body.accept(index);
                } finally {
                    done.countDown();
                }
            });
        }
        try {
            done.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
