package dev.gantry.bench;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Keeps a fixed number of requests in flight: each of {@code concurrency} virtual threads sends a
 * request, waits for its stream to end and sends the next, until the phase's count is reached.
 * The server therefore sees a constant load, and the measured throughput is what it sustains at
 * that concurrency (an open loop at a fixed request rate is the other pattern, not built yet).
 *
 * <p>One instance serves a whole sweep. Until some request has succeeded, a connect failure stops
 * the run at once: the server is not there, and hundreds of identical failures would tell nothing more.
 */
public final class ClosedLoop {

    /** One request: sent, streamed and timed by the caller's client. */
    @FunctionalInterface
    public interface RequestSender {
        RequestResult send(Runnable onToken) throws InterruptedException;
    }

    /**
     * What a phase produced.
     *
     * @param results       every finished request, in the order they finished
     * @param durationNanos from the first send to the last request's end
     * @param abortedBy     the connect failure that stopped the run, or null
     */
    public record Phase(List<RequestResult> results, long durationNanos, RequestError abortedBy) {
        public boolean aborted() {
            return abortedBy != null;
        }
    }

    private final RequestSender sender;
    private final Progress progress;
    private final AtomicBoolean anySucceeded = new AtomicBoolean();

    public ClosedLoop(RequestSender sender, Progress progress) {
        this.sender = sender;
        this.progress = progress;
    }

    /**
     * Runs {@code count} requests, {@code concurrency} at a time, and returns once all have ended.
     *
     * @param label what the progress line calls this phase, e.g. {@code c=8} or {@code c=8 warmup}
     */
    public Phase run(String label, int concurrency, int count) throws InterruptedException {
        if (concurrency < 1 || count < 0) {
            throw new IllegalArgumentException("concurrency must be >= 1 and count >= 0");
        }
        List<RequestResult> results = Collections.synchronizedList(new ArrayList<>(count));
        AtomicInteger nextTicket = new AtomicInteger();
        AtomicBoolean stop = new AtomicBoolean();
        RequestError[] abortedBy = new RequestError[1];
        progress.startPhase(label, count);
        long start = System.nanoTime();
        try (ExecutorService workers = Executors.newVirtualThreadPerTaskExecutor()) {
            for (int w = 0; w < Math.min(concurrency, Math.max(count, 1)); w++) {
                workers.submit(() -> {
                    while (!stop.get() && nextTicket.getAndIncrement() < count) {
                        RequestResult result = sender.send(progress::token);
                        results.add(result);
                        progress.requestDone(result.ok());
                        if (result.ok()) {
                            anySucceeded.set(true);
                        } else if (result.error().kind() == ErrorKind.CONNECT && !anySucceeded.get()) {
                            synchronized (abortedBy) {
                                if (abortedBy[0] == null) {
                                    abortedBy[0] = result.error();
                                }
                            }
                            stop.set(true);
                        }
                    }
                    return null;
                });
            }
        } finally {
            progress.endPhase();
        }
        long duration = System.nanoTime() - start;
        if (Thread.interrupted()) {
            throw new InterruptedException();
        }
        synchronized (results) {
            return new Phase(List.copyOf(results), duration, abortedBy[0]);
        }
    }
}
