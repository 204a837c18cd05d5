package dev.gantry.worker.backend.cpu;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;
import org.junit.jupiter.api.Test;

class ThreadPoolTest {

    @Test
    void everyIndexRunsExactlyOnceAndWorkersNeverOverlap() {
        try (ThreadPool pool = new ThreadPool(3, "pool-test")) {
            for (int n : new int[] {1, 2, 7, 64, 1000, 4099}) {
                for (int grain : new int[] {1, 5, 100}) {
                    AtomicIntegerArray hits = new AtomicIntegerArray(n);
                    // [workers] chunks a worker index is running right now: must never exceed 1
                    AtomicIntegerArray busy = new AtomicIntegerArray(pool.size());
                    AtomicInteger overlaps = new AtomicInteger();
                    pool.parallelFor(n, grain, (start, end, worker) -> {
                        if (busy.incrementAndGet(worker) > 1) {
                            overlaps.incrementAndGet();
                        }
                        assertThat(end - start).isPositive();
                        for (int i = start; i < end; i++) {
                            hits.incrementAndGet(i);
                        }
                        busy.decrementAndGet(worker);
                    });
                    assertThat(overlaps.get()).isZero();
                    for (int i = 0; i < n; i++) {
                        assertThat(hits.get(i)).as("index %d of %d, grain %d", i, n, grain).isEqualTo(1);
                    }
                }
            }
        }
    }

    @Test
    void manyShortLoopsInARowAllFinish() {
        // A lost wake-up would hang here, so bound the time. Idle threads park at once in the
        // second pool, so that its loops start with the workers parked.
        assertTimeoutPreemptively(Duration.ofSeconds(20), () -> {
            for (long idle : new long[] {ThreadPool.YIELD_NANOS, 0}) {
                try (ThreadPool pool = new ThreadPool(3, "pool-test", idle == 0 ? 0 : ThreadPool.SPIN_NANOS, idle)) {
                    AtomicInteger sum = new AtomicInteger();
                    for (int k = 0; k < 5000; k++) {
                        pool.parallelFor(12, 1, (start, end, worker) -> sum.addAndGet(end - start));
                        if (k % 1000 == 0) {
                            Thread.sleep(1); // let workers fall asleep between some loops
                        }
                    }
                    assertThat(sum.get()).isEqualTo(5000 * 12);
                }
            }
        });
    }

    @Test
    void idleWorkersParkOnceTheirYieldingTimeIsOver() throws InterruptedException {
        // The workers spin, then yield, for a short time after a loop, and must not keep a core busy after that.
        try (ThreadPool pool = new ThreadPool(3, "pool-test", 50_000, 5_000_000)) {
            AtomicInteger count = new AtomicInteger();
            pool.parallelFor(1000, 1, (start, end, worker) -> count.addAndGet(end - start));
            assertThat(count.get()).isEqualTo(1000);
            long deadline = System.nanoTime() + 10_000_000_000L;
            while (pool.parkedWorkers() < 2 && System.nanoTime() < deadline) {
                Thread.sleep(5);
            }
            assertThat(pool.parkedWorkers()).as("workers parked 10 s after the loop").isEqualTo(2);
            pool.parallelFor(1000, 1, (start, end, worker) -> count.addAndGet(end - start)); // and wake again
            assertThat(count.get()).isEqualTo(2000);
        }
    }

    @Test
    void aFailingChunkIsRethrownAndThePoolStaysUsable() {
        try (ThreadPool pool = new ThreadPool(2, "pool-test")) {
            assertThatThrownBy(() -> pool.parallelFor(100, 1, (start, end, worker) -> {
                if (start <= 50 && 50 < end) {
                    throw new IllegalStateException("chunk failed");
                }
            })).isInstanceOf(IllegalStateException.class).hasMessage("chunk failed");
            AtomicInteger count = new AtomicInteger();
            pool.parallelFor(100, 1, (start, end, worker) -> count.addAndGet(end - start));
            assertThat(count.get()).isEqualTo(100);
        }
    }

    @Test
    void callersFromSeveralThreadsAreSerialized() throws InterruptedException {
        try (ThreadPool pool = new ThreadPool(3, "pool-test")) {
            AtomicInteger total = new AtomicInteger();
            CountDownLatch done = new CountDownLatch(2);
            for (int c = 0; c < 2; c++) {
                Thread.ofPlatform().start(() -> {
                    for (int k = 0; k < 300; k++) {
                        pool.parallelFor(50, 1, (start, end, worker) -> total.addAndGet(end - start));
                    }
                    done.countDown();
                });
            }
            assertThat(done.await(20, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
            assertThat(total.get()).isEqualTo(2 * 300 * 50);
        }
    }

    @Test
    void closeStopsTheWorkers() {
        ThreadPool pool = new ThreadPool(4, "pool-close-test");
        pool.parallelFor(100, 1, (start, end, worker) -> {});
        pool.close();
        assertThat(Thread.getAllStackTraces().keySet())
                .noneMatch(t -> t.getName().startsWith("pool-close-test") && t.isAlive());
        assertThatThrownBy(() -> pool.parallelFor(10, 1, (start, end, worker) -> {}))
                .isInstanceOf(IllegalStateException.class);
    }
}
