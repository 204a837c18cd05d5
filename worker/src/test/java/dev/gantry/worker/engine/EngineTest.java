package dev.gantry.worker.engine;

import static dev.gantry.worker.engine.EngineHarness.alone;
import static dev.gantry.worker.engine.EngineHarness.awaitIdle;
import static dev.gantry.worker.engine.EngineHarness.greedy;
import static dev.gantry.worker.engine.EngineHarness.prompt;
import static dev.gantry.worker.engine.EngineHarness.submit;
import static dev.gantry.worker.engine.EngineHarness.together;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.gantry.worker.backend.Backend;
import dev.gantry.worker.backend.cpu.VectorBackend;
import dev.gantry.worker.engine.EngineHarness.Output;
import dev.gantry.worker.model.Model;
import dev.gantry.worker.testing.TestModels;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The engine on stories260K (fast enough for unit tests): continuous batching, chunked prefill,
 * preemption, prefix caching and cancellation never change a greedy result, and every KV block
 * comes back.
 */
class EngineTest {
    static Model model;
    static Backend backend;

    static final String[] OPENINGS = {"Once upon a time", "The little dog", "Lily and Tom went", "One day, a big",
        "There was a cat", "The sun was", "Tim had a red ball", "A girl named Sue", "The bird sang", "Mom said",
        "In the park", "The boy was sad", "Ben liked to", "The tree was tall", "She found a box", "The fish swam"};

    @BeforeAll
    static void load() {
        model = Model.load(TestModels.stories260K());
        backend = new VectorBackend(2);
    }

    @AfterAll
    static void close() {
        backend.close();
        model.close();
    }

    static Engine engine(int maxNumSeqs, int budget, int numBlocks, boolean prefixCaching, SimpleMeterRegistry registry) {
        EngineConfig config = new EngineConfig(maxNumSeqs, budget, 4, numBlocks, 256, 64, prefixCaching);
        Engine e = new Engine(model, backend, config, registry, "stories");
        e.start();
        return e;
    }

    static List<int[]> prompts(int n) {
        List<int[]> ps = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            ps.add(prompt(model, OPENINGS[i % OPENINGS.length] + (i >= OPENINGS.length ? " and" : "")));
        }
        return ps;
    }

    @Test
    void thirtyTwoConcurrentGreedyRequestsEqualTheirOutputAlone() {
        List<int[]> prompts = prompts(32);
        try (Engine e = engine(32, 128, 1024, false, null)) {
            List<Output> single = alone(e, prompts, greedy(40));
            List<Output> batched = together(e, prompts, greedy(40));
            for (int i = 0; i < prompts.size(); i++) {
                assertThat(batched.get(i).tokens()).as("request %d", i).isEqualTo(single.get(i).tokens());
                assertThat(batched.get(i).text()).isEqualTo(single.get(i).text());
                assertThat(batched.get(i).result().finishReason()).isIn(FinishReason.STOP, FinishReason.LENGTH);
            }
            assertThat(single.getFirst().text()).startsWith(", there was a little girl named Lily.");
            awaitIdle(e);
            assertThat(e.stats().usedBlocks()).isZero();
        }
    }

    @Test
    void smallBudgetChunksPromptsWithoutChangingResults() {
        List<int[]> prompts = prompts(6);
        List<Output> reference;
        try (Engine e = engine(8, 256, 512, false, null)) {
            reference = together(e, prompts, greedy(30));
        }
        try (Engine e = engine(8, 3, 512, false, null)) {
            List<Output> chunked = together(e, prompts, greedy(30));
            for (int i = 0; i < prompts.size(); i++) {
                assertThat(chunked.get(i).tokens()).as("request %d", i).isEqualTo(reference.get(i).tokens());
            }
        }
    }

    @Test
    void preemptionWhenBlocksRunOutRecomputesAndKeepsResults() {
        List<int[]> prompts = prompts(12);
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        List<Output> reference;
        try (Engine e = engine(16, 256, 1024, false, null)) {
            reference = alone(e, prompts, greedy(48));
        }
        // 64 blocks of 4 tokens: 256 slots for 12 sequences of up to ~56 tokens each.
        try (Engine e = engine(16, 256, 64, true, registry)) {
            List<Output> squeezed = together(e, prompts, greedy(48));
            for (int i = 0; i < prompts.size(); i++) {
                assertThat(squeezed.get(i).tokens()).as("request %d", i).isEqualTo(reference.get(i).tokens());
            }
            assertThat(registry.get("vllm:num_preemptions").counter().count()).isPositive();
            awaitIdle(e);
            assertThat(e.stats().usedBlocks()).isZero();
            assertThat(e.inFlight()).isZero();
        }
    }

    @Test
    void sharedPrefixIsComputedOnceAndGivesTheSameOutput() {
        StringBuilder shared = new StringBuilder("Once upon a time");
        while (prompt(model, shared.toString()).length < 200) {
            shared.append(", there was a little girl who liked to play in the park with her dog");
        }
        List<int[]> prompts = new ArrayList<>();
        for (String end : new String[] {" One day", " Then the dog", " The girl was happy"}) {
            prompts.add(prompt(model, shared + "." + end));
        }
        List<Output> uncached;
        try (Engine e = engine(8, 512, 1024, false, null)) {
            uncached = alone(e, prompts, greedy(20));
        }
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        try (Engine e = engine(8, 512, 1024, true, registry)) {
            List<Output> cached = alone(e, prompts, greedy(20));
            for (int i = 0; i < prompts.size(); i++) {
                assertThat(cached.get(i).tokens()).as("request %d", i).isEqualTo(uncached.get(i).tokens());
            }
            assertThat(cached.get(0).result().cachedPromptTokens()).isZero();
            // The shared prefix of >= 200 tokens is computed once: later requests reuse its full blocks.
            assertThat(cached.get(1).result().cachedPromptTokens()).isGreaterThanOrEqualTo(196);
            assertThat(cached.get(2).result().cachedPromptTokens()).isGreaterThanOrEqualTo(196);
            double hits = registry.get("vllm:prefix_cache_hits").counter().count();
            double queries = registry.get("vllm:prefix_cache_queries").counter().count();
            assertThat(hits).isGreaterThanOrEqualTo(2 * 196);
            assertThat(queries).isGreaterThan(hits);
        }
    }

    @Test
    void cancelledRequestsStopAndFreeTheirBlocks() throws Exception {
        try (Engine e = engine(8, 64, 256, true, null)) {
            List<EngineHarness.Collector> cs = new ArrayList<>();
            List<RequestHandle> handles = new ArrayList<>();
            for (int[] p : prompts(8)) {
                EngineHarness.Collector c = new EngineHarness.Collector();
                handles.add(e.submit(new EngineRequest("c", p, greedy(200).withIgnoreEos(true)), c));
                cs.add(c);
            }
            while (cs.getFirst().outputs < 3) {
                Thread.sleep(1);
            }
            handles.forEach(RequestHandle::cancel);
            handles.forEach(RequestHandle::cancel);
            for (EngineHarness.Collector c : cs) {
                Output o = c.await();
                assertThat(o.result().finishReason()).isEqualTo(FinishReason.ABORT);
                assertThat(o.tokens().size()).isLessThan(200);
            }
            awaitIdle(e);
            assertThat(e.stats().usedBlocks()).isZero();
            assertThat(e.inFlight()).isZero();
            // Still serving.
            assertThat(submit(e, prompts(1).getFirst(), greedy(5)).await().tokens()).hasSize(5);
        }
    }

    @Test
    void refusesWhatCanNeverFitAndWhatTheQueueCannotHold() {
        EngineConfig tiny = new EngineConfig(1, 16, 4, 8, 256, 2, false);
        try (Engine e = new Engine(model, backend, tiny, null, "stories")) {
            // Not started: nothing leaves the queue.
            int[] p = prompts(1).getFirst();
            assertThatThrownBy(() -> e.submit(new EngineRequest("long", new int[40], greedy(1)), new EngineHarness.Collector()))
                    .isInstanceOf(RequestRejectedException.class).hasMessageContaining("KV cache holds 32")
                    .satisfies(x -> assertThat(((RequestRejectedException) x).reason()).isEqualTo(RequestRejectedException.Reason.PROMPT_TOO_LONG));
            assertThatThrownBy(() -> e.submit(new EngineRequest("bad", new int[] {1, 100000}, greedy(1)), new EngineHarness.Collector()))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("outside the vocabulary");
            submit(e, p, greedy(1));
            submit(e, p, greedy(1));
            assertThatThrownBy(() -> e.submit(new EngineRequest("third", p, greedy(1)), new EngineHarness.Collector()))
                    .isInstanceOf(RequestRejectedException.class)
                    .satisfies(x -> assertThat(((RequestRejectedException) x).reason()).isEqualTo(RequestRejectedException.Reason.QUEUE_FULL));
        }
    }

    @Test
    void closeAbortsWhatIsInFlightAndRefusesMore() {
        Engine e = engine(4, 64, 256, true, null);
        EngineHarness.Collector c = submit(e, prompts(1).getFirst(), greedy(250).withIgnoreEos(true));
        e.close();
        assertThat(c.await().result().finishReason()).isIn(FinishReason.ABORT, FinishReason.LENGTH);
        assertThatThrownBy(() -> e.submit(new EngineRequest("late", prompts(1).getFirst(), greedy(1)), new EngineHarness.Collector()))
                .isInstanceOf(RequestRejectedException.class).hasMessageContaining("shutting down");
    }
}
