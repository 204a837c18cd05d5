package dev.gantry.bench;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * Offers requests to the server in one of the two patterns of {@link Load}, each request on its
 * own virtual thread, and collects what they measured. A phase ends when its request count has
 * been sent, or when its time limit has passed (no request is sent after it; those in flight are
 * awaited and counted, as vLLM's benchmark does).
 *
 * <p>One instance serves a whole sweep. Until some request has succeeded, a connect failure stops
 * the run at once: the server is not there, and hundreds of identical failures would tell nothing more.
 */
public final class LoadRunner {

    /** One request: sent, streamed and timed by the caller's client. */
    @FunctionalInterface
    public interface RequestSender {
        RequestResult send(Runnable onToken) throws InterruptedException;
    }

    private final RequestSender sender;
    private final Progress progress;
    private final AtomicBoolean anySucceeded = new AtomicBoolean();

    public LoadRunner(RequestSender sender, Progress progress) {
        this.sender = sender;
        this.progress = progress;
    }

    /** Runs one phase of {@code load}; {@code seed} draws an open loop's arrival times. */
    public Phase run(String label, Load load, int count, Duration limit, long seed) throws InterruptedException {
        return switch (load) {
            case Load.Closed c -> closed(label, c.concurrency(), count, limit);
            case Load.Open o -> open(label, o.rate(), count, limit, seed);
        };
    }

    /**
     * Keeps {@code concurrency} requests in flight: each of that many virtual threads sends a
     * request, waits for its stream to end and sends the next, until {@code count} have been sent
     * or {@code limit} (null: none) has passed.
     */
    public Phase closed(String label, int concurrency, int count, Duration limit) throws InterruptedException {
        if (concurrency < 1 || count < 0) {
            throw new IllegalArgumentException("concurrency must be >= 1 and count >= 0");
        }
        State state = new State(count);
        progress.startPhase(label, count, limit);
        long start = System.nanoTime();
        long deadline = limit == null ? Long.MAX_VALUE : limit.toNanos();
        try (ExecutorService workers = Executors.newVirtualThreadPerTaskExecutor()) {
            for (int w = 0; w < Math.min(concurrency, Math.max(count, 1)); w++) {
                workers.submit(() -> {
                    while (!state.stop.get() && System.nanoTime() - start < deadline
                            && state.tickets.getAndIncrement() < count) {
                        state.sent(System.nanoTime() - start);
                        state.finished(sender.send(progress::token));
                    }
                    return null;
                });
            }
        } finally {
            progress.endPhase();
        }
        return state.phase(System.nanoTime() - start);
    }

    /**
     * Sends {@code count} requests (or as many as {@code limit} allows) at Poisson arrival times
     * of mean rate {@code rate} per second, whatever is in flight; all at once when the rate is
     * infinite. The schedule is drawn before the phase starts and depends only on {@code seed},
     * and each send waits for its absolute time, so a late wake-up does not delay those after it.
     */
    public Phase open(String label, double rate, int count, Duration limit, long seed) throws InterruptedException {
        if (!(rate > 0) || count < 0) {
            throw new IllegalArgumentException("rate must be > 0 and count >= 0");
        }
        long deadline = limit == null ? Long.MAX_VALUE : limit.toNanos();
        State state = new State(count);
        progress.startPhase(label, count, limit);
        SplittableRandom random = new SplittableRandom(seed);
        double offset = 0;
        long start = System.nanoTime();
        try (ExecutorService workers = Executors.newVirtualThreadPerTaskExecutor()) {
            for (int i = 0; i < count && !state.stop.get(); i++) {
                if (i > 0 && !Double.isInfinite(rate)) {
                    offset += exponential(random, rate);
                }
                long due = (long) (offset * 1e9);
                if (due >= deadline) {
                    break;
                }
                sleepUntil(start + due);
                if (Thread.interrupted()) {
                    throw new InterruptedException();
                }
                state.sent(System.nanoTime() - start);
                workers.submit(() -> {
                    state.finished(sender.send(progress::token));
                    return null;
                });
            }
        } finally {
            progress.endPhase();
        }
        return state.phase(System.nanoTime() - start);
    }

    /** A gap of an exponential distribution of the given rate, in seconds, by inversion. */
    static double exponential(SplittableRandom random, double rate) {
        return -Math.log(1 - random.nextDouble()) / rate; // 1 - u is in (0, 1]: never log(0)
    }

    private static void sleepUntil(long deadline) {
        long left;
        while ((left = deadline - System.nanoTime()) > 0 && !Thread.currentThread().isInterrupted()) {
            LockSupport.parkNanos(left);
        }
    }

    /** What a phase's threads share. */
    private final class State {
        final List<RequestResult> results;
        final AtomicInteger tickets = new AtomicInteger();
        final AtomicBoolean stop = new AtomicBoolean();
        private long[] sends;
        private int sendCount;
        private RequestError abortedBy;

        State(int count) {
            results = Collections.synchronizedList(new ArrayList<>(Math.min(count, 1 << 16)));
            sends = new long[Math.min(Math.max(count, 1), 1 << 16)];
        }

        synchronized void sent(long offset) {
            if (sendCount == sends.length) {
                sends = Arrays.copyOf(sends, sendCount * 2);
            }
            sends[sendCount++] = offset;
        }

        void finished(RequestResult result) {
            results.add(result);
            progress.requestDone(result.ok());
            if (result.ok()) {
                anySucceeded.set(true);
            } else if (result.error().kind() == ErrorKind.CONNECT && !anySucceeded.get()) {
                synchronized (this) {
                    if (abortedBy == null) {
                        abortedBy = result.error();
                    }
                }
                stop.set(true);
            }
        }

        Phase phase(long durationNanos) throws InterruptedException {
            if (Thread.interrupted()) {
                throw new InterruptedException();
            }
            synchronized (this) {
                synchronized (results) {
                    return new Phase(List.copyOf(results), durationNanos, abortedBy, Arrays.copyOf(sends, sendCount));
                }
            }
        }
    }
}
