package dev.gantry.worker.engine;

import static dev.gantry.worker.engine.EngineHarness.awaitIdle;
import static dev.gantry.worker.engine.EngineHarness.greedy;
import static dev.gantry.worker.engine.EngineHarness.prompt;
import static org.assertj.core.api.Assertions.assertThat;

import dev.gantry.worker.backend.Backend;
import dev.gantry.worker.backend.cpu.VectorBackend;
import dev.gantry.worker.model.Model;
import dev.gantry.worker.testing.TestModels;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.lang.management.ManagementFactory;
import java.lang.ref.WeakReference;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * A rough run (cancellations at random moments, deadlines that expire, a KV cache small enough to
 * force preemptions) leaves nothing behind: every block is free, no request is in flight, the
 * engine holds no reference to any finished request, and the heap comes back to where it was.
 */
class EngineLeakTest {

    @Test
    void cancellationsTimeoutsAndPreemptionsLeakNothing() throws Exception {
        try (Model model = Model.load(TestModels.stories260K()); Backend backend = new VectorBackend(2)) {
            SimpleMeterRegistry registry = new SimpleMeterRegistry();
            EngineConfig config = new EngineConfig(16, 64, 4, 48, 256, 256, true);
            try (Engine engine = new Engine(model, backend, config, registry, "stories")) {
                engine.start();
                List<WeakReference<Object>> listeners = new ArrayList<>();
                long baseline = 0;
                for (int round = 0; round < 6; round++) {
                    roughRound(engine, model, new Random(round), listeners);
                    awaitIdle(engine);
                    assertThat(engine.inFlight()).isZero();
                    assertThat(engine.stats().usedBlocks()).isZero();
                    assertThat(engine.stats().running()).isZero();
                    assertThat(engine.stats().waiting()).isZero();
                    long used = usedHeapAfterGc();
                    if (round == 1) {
                        baseline = used;   // after warm-up: JIT, class loading and pools have settled
                    } else if (round > 1) {
                        assertThat(used).as("heap after round %d vs round 1", round).isLessThan(baseline + 16L * 1024 * 1024);
                    }
                }
                assertThat(registry.get("vllm:num_preemptions").counter().count()).as("the run must preempt").isPositive();
                usedHeapAfterGc();
                assertThat(listeners).as("requests the engine still references").allSatisfy(r -> assertThat(r.get()).isNull());
            }
        }
    }

    /** 24 requests: a third cancelled at a random moment, a third with a deadline of a few steps, the rest run out. */
    private static void roughRound(Engine engine, Model model, Random random, List<WeakReference<Object>> listeners)
            throws Exception {
        List<EngineHarness.Collector> collectors = new ArrayList<>();
        List<RequestHandle> handles = new ArrayList<>();
        for (int i = 0; i < 24; i++) {
            EngineHarness.Collector c = new EngineHarness.Collector();
            int[] p = prompt(model, "Once upon a time " + "there was a dog ".repeat(random.nextInt(8)));
            handles.add(engine.submit(new EngineRequest("r" + i, p, greedy(20 + random.nextInt(60)).withIgnoreEos(true)), c));
            collectors.add(c);
            listeners.add(new WeakReference<>(c));
        }
        long start = System.nanoTime();
        long[] deadlines = new long[24];
        for (int i = 0; i < 24; i++) {
            deadlines[i] = i % 3 == 1 ? start + (2 + random.nextInt(20)) * 1_000_000L : Long.MAX_VALUE;
        }
        boolean pending = true;
        while (pending) {
            pending = false;
            for (int i = 0; i < 24; i++) {
                if (collectors.get(i).done.isDone()) {
                    continue;
                }
                pending = true;
                boolean cancelNow = i % 3 == 0 && random.nextInt(50) == 0 || System.nanoTime() > deadlines[i];
                if (cancelNow) {
                    handles.get(i).cancel();
                }
            }
            Thread.sleep(1);
        }
        for (EngineHarness.Collector c : collectors) {
            assertThat(c.await().result().finishReason()).isIn(FinishReason.ABORT, FinishReason.LENGTH);
        }
    }

    private static long usedHeapAfterGc() throws InterruptedException {
        long used = Long.MAX_VALUE;
        for (int i = 0; i < 3; i++) {
            System.gc();
            Thread.sleep(50);
            used = Math.min(used, ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed());
        }
        return used;
    }
}
