package dev.gantry.worker.backend.cpu;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;

/**
 * A fixed set of platform threads that run parallel-for loops over index ranges, made for the
 * many short kernels of a forward pass: a loop is one shared job object whose chunks the calling
 * thread and the workers take from an atomic counter, so starting one costs a volatile write
 * and, for workers that went to sleep, an unpark, never a task object per chunk or per row.
 *
 * <p>Workers spin briefly after a job before parking, because the next kernel usually follows
 * within microseconds. Loops are serialized: one runs at a time, which also lets each running
 * chunk own the scratch memory of its worker index. A loop's body must not start another loop.
 */
final class ThreadPool implements AutoCloseable {
    /** Body of a parallel loop: handles indices {@code start .. end-1} on worker {@code worker}. */
    @FunctionalInterface
    interface RangeTask {
        void run(int start, int end, int worker);
    }

    /**
     * Whether chunks shrink as a loop runs out (each takes {@code remaining / (2 * threads)}, at
     * least the grain), so that the threads finish together: the last chunk of a fixed split
     * leaves the other threads idle for half a chunk on average.
     */
    static final boolean GUIDED = !"false".equals(System.getProperty("gantry.pool.guided"));

    /** How long an idle worker (or a caller waiting for the workers) polls before it starts yielding. */
    static final long SPIN_NANOS = Long.getLong("gantry.pool.spinMicros", 50) * 1000;

    /**
     * How long it then polls between {@link Thread#yield}s before it parks. Waking a parked thread
     * costs a system call and, on a virtual machine whose vCPU went idle, a wait for the host
     * (117 us on average on the 2-vCPU build machine), and a forward pass leaves gaps longer than
     * the spin between many of its loops (serial steps, sampling between decode steps): with
     * parking after the spin, 44% of a batched decode's loops started with the worker parked
     * (docs/native-cpu.md). A yielding thread stays ready without holding its core from other
     * runnable threads (the HTTP server's, another process's), and parks once the model is idle.
     */
    static final long YIELD_NANOS = Long.getLong("gantry.pool.yieldMicros", 20_000) * 1000;

    private final long spinNanos;
    private final long yieldNanos;
    private final Worker[] workers;
    private volatile Job current;
    private volatile boolean closed;

    /** @param threads threads that run loops, the caller included (so {@code threads - 1} are started) */
    ThreadPool(int threads, String name) {
        this(threads, name, SPIN_NANOS, YIELD_NANOS);
    }

    /** With an idle thread's spinning and yielding times (tests: 0 to park at once). */
    ThreadPool(int threads, String name, long spinNanos, long yieldNanos) {
        this.spinNanos = spinNanos;
        this.yieldNanos = yieldNanos;
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be at least 1, not " + threads);
        }
        workers = new Worker[threads - 1];
        for (int i = 0; i < workers.length; i++) {
            workers[i] = new Worker(i + 1);
            Thread t = Thread.ofPlatform().daemon().name(name + "-" + (i + 1)).unstarted(workers[i]);
            workers[i].thread = t;
            t.start();
        }
    }

    /** Threads running each loop, the caller included; worker indices are 0 .. size()-1. */
    int size() {
        return workers.length + 1;
    }

    /**
     * Runs {@code task} over {@code 0 .. n-1} in chunks of at least {@code grain} indices (see
     * {@link #GUIDED}; with fixed chunks about four per thread when n is large) and returns when
     * every chunk is done. A loop that would be one fixed chunk runs on the caller alone. The first
     * exception of a chunk is rethrown.
     */
    synchronized void parallelFor(int n, int grain, RangeTask task) {
        if (n <= 0) {
            return;
        }
        if (closed) {
            throw new IllegalStateException("the CPU backend is closed");
        }
        int threads = size();
        int chunk = Math.max(Math.max(1, grain), (n + 4 * threads - 1) / (4 * threads));
        int chunks = (n + chunk - 1) / chunk;
        if (chunks == 1 || threads == 1) {
            task.run(0, n, 0);
            return;
        }
        Job job = GUIDED ? new Job(task, n, Math.max(1, grain), threads, Thread.currentThread())
                : new Job(task, n, chunk, 0, Thread.currentThread());
        current = job;
        // Dekker-style with Worker.parked: either the worker sees the new job before parking, or we see it parked.
        for (Worker w : workers) {
            if (w.parked) {
                LockSupport.unpark(w.thread);
            }
        }
        job.work(0);
        job.awaitDone();
        current = null;
        Throwable error = job.error.get();
        if (error instanceof RuntimeException e) {
            throw e;
        } else if (error instanceof Error e) {
            throw e;
        } else if (error != null) {
            throw new IllegalStateException(error);
        }
    }

    /** Stops the workers and waits briefly for them to exit. */
    @Override
    public void close() {
        closed = true;
        for (Worker w : workers) {
            LockSupport.unpark(w.thread);
        }
        for (Worker w : workers) {
            try {
                w.thread.join(1000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    /** One poll of a thread waiting {@code waited} ns: spins, then yields; false once it should park. */
    private boolean pause(long waited) {
        if (waited < spinNanos) {
            Thread.onSpinWait();
            return true;
        }
        if (waited < spinNanos + yieldNanos) {
            Thread.yield();
            return true;
        }
        return false;
    }

    /** Workers parked right now (tests: an idle pool must not keep its threads busy). */
    int parkedWorkers() {
        int n = 0;
        for (Worker w : workers) {
            n += w.parked ? 1 : 0;
        }
        return n;
    }

    private final class Job {
        final RangeTask task;
        final int n;
        /** The fixed chunk, or with {@link #split} > 0 the smallest one. */
        final int chunk;
        /** Threads of a guided loop, whose chunks are (what remains) / (2 * split); 0 for fixed chunks. */
        final int split;
        final Thread owner;
        final AtomicInteger next = new AtomicInteger();
        final AtomicInteger done = new AtomicInteger(); // indices done
        final AtomicReference<Throwable> error = new AtomicReference<>();
        volatile boolean ownerParked;

        Job(RangeTask task, int n, int chunk, int split, Thread owner) {
            this.task = task;
            this.n = n;
            this.chunk = chunk;
            this.split = split;
            this.owner = owner;
        }

        void work(int worker) {
            while (true) {
                int start = next.get();
                if (start >= n) {
                    return;
                }
                int size = split == 0 ? chunk : Math.max(chunk, (n - start) / (2 * split));
                int end = Math.min(n, start + size);
                if (!next.compareAndSet(start, end)) {
                    continue;
                }
                try {
                    if (error.get() == null) {
                        task.run(start, end, worker);
                    }
                } catch (Throwable t) {
                    error.compareAndSet(null, t);
                }
                if (done.addAndGet(end - start) == n && ownerParked) {
                    LockSupport.unpark(owner);
                }
            }
        }

        void awaitDone() {
            long waitingSince = System.nanoTime();
            while (done.get() < n) {
                if (pause(System.nanoTime() - waitingSince)) {
                    continue;
                }
                ownerParked = true;
                if (done.get() < n) {
                    LockSupport.park(this);
                }
                ownerParked = false;
            }
        }
    }

    private final class Worker implements Runnable {
        final int index;
        Thread thread;
        volatile boolean parked;

        Worker(int index) {
            this.index = index;
        }

        @Override
        public void run() {
            Job seen = null;
            long idleSince = System.nanoTime();
            while (!closed) {
                Job job = current;
                if (job != null && job != seen) {
                    seen = job;
                    job.work(index);
                    idleSince = System.nanoTime();
                } else if (!pause(System.nanoTime() - idleSince)) {
                    parked = true;
                    Job again = current;
                    if ((again == null || again == seen) && !closed) {
                        LockSupport.park(this);
                    }
                    parked = false;
                }
            }
        }
    }
}
