package dev.gantry.worker.engine;

import static dev.gantry.worker.engine.EngineHarness.alone;
import static dev.gantry.worker.engine.EngineHarness.awaitIdle;
import static dev.gantry.worker.engine.EngineHarness.greedy;
import static dev.gantry.worker.engine.EngineHarness.prompt;
import static dev.gantry.worker.engine.EngineHarness.together;
import static org.assertj.core.api.Assertions.assertThat;

import dev.gantry.worker.backend.Backend;
import dev.gantry.worker.backend.cpu.VectorBackend;
import dev.gantry.worker.backend.cuda.CudaBackend;
import dev.gantry.worker.backend.cuda.EmulatedKernels;
import dev.gantry.worker.engine.EngineHarness.Output;
import dev.gantry.worker.model.Model;
import dev.gantry.worker.model.sample.SamplingParams;
import dev.gantry.worker.testing.TestModels;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The engine on the CUDA backend (kernels run on the CPU), stories260K: greedy batches give the
 * CPU engine's tokens; seeded sampling, drawn on the device, gives the same tokens on every run
 * and whatever the batch; a step with a penalised sequence falls back to the host sampler.
 */
class EngineOnCudaTest {
    static List<int[]> prompts(Model model, int n) {
        List<int[]> ps = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            ps.add(prompt(model, EngineTest.OPENINGS[i % EngineTest.OPENINGS.length]));
        }
        return ps;
    }

    static Engine engine(Model model, Backend backend) {
        backend.prepare(model.weights().all()); // as the worker does before it starts the engine
        Engine e = new Engine(model, backend, new EngineConfig(8, 64, 4, 512, 256, 64, true), null, "stories");
        e.start();
        return e;
    }

    @Test
    void greedyAndSeededSamplingOnTheDevice() {
        try (Model model = Model.load(TestModels.stories260K())) {
            List<int[]> prompts = prompts(model, 6);
            List<Output> cpu;
            try (Backend b = new VectorBackend(2); Engine e = engine(model, b)) {
                cpu = together(e, prompts, greedy(24));
            }
            SamplingParams seeded = SamplingParams.defaults().withTemperature(0.9).withTopK(40).withTopP(0.9)
                    .withSeed(7L).withMaxTokens(24);
            SamplingParams penalised = seeded.withRepetitionPenalty(1.3);
            try (Backend b = new CudaBackend(EmulatedKernels.open()); Engine e = engine(model, b)) {
                List<Output> gpu = together(e, prompts, greedy(24));
                for (int i = 0; i < prompts.size(); i++) {
                    assertThat(gpu.get(i).tokens()).as("greedy %d", i).isEqualTo(cpu.get(i).tokens());
                }
                List<Output> first = alone(e, prompts.subList(0, 3), seeded);
                List<Output> batched = together(e, prompts.subList(0, 3), seeded);
                for (int i = 0; i < 3; i++) {
                    assertThat(batched.get(i).tokens()).as("seeded %d", i).isEqualTo(first.get(i).tokens());
                }
                assertThat(first.get(0).tokens()).as("a draw, not the greedy path").isNotEqualTo(gpu.get(0).tokens());
                // A penalised request beside a plain one: the step samples on the host for both.
                List<Output> mixed = together(e, prompts.subList(0, 2), penalised);
                assertThat(mixed).allSatisfy(o -> assertThat(o.tokens()).hasSize(24));
                awaitIdle(e);
                assertThat(e.stats().usedBlocks()).isZero();
            }
        }
    }

    /**
     * What the API reads besides tokens, on the CUDA backend: sampled and prompt log-probabilities
     * (prompt rows read after the pass, outside any graph) and pooled embeddings, as the CPU
     * engine gives them to the precision of the device's prompt GEMM (tensor cores: operands
     * rounded to half, so about 1e-3 on a log-probability).
     */
    @Test
    void logprobsAndEmbeddingsOnTheDevice() throws Exception {
        try (Model model = Model.load(TestModels.stories260K())) {
            int[] p = prompt(model, "Once upon a time, there was a little girl named Lily. She liked to");
            Output cpu;
            float[] cpuEmbedding;
            try (Backend b = new VectorBackend(2); Engine e = engine(model, b)) {
                cpu = EngineHarness.submit(e, new EngineRequest("lp", p, greedy(8)).withLogprobs(3, 2)).await();
                cpuEmbedding = embed(e, p);
            }
            try (Backend b = new CudaBackend(EmulatedKernels.open()); Engine e = engine(model, b)) {
                Output gpu = EngineHarness.submit(e, new EngineRequest("lp", p, greedy(8)).withLogprobs(3, 2)).await();
                assertThat(gpu.tokens()).isEqualTo(cpu.tokens());
                assertThat(gpu.promptLogprobs()).hasSize(p.length - 1);
                for (int i = 0; i < p.length - 1; i++) {
                    assertThat(gpu.promptLogprobs().get(i).topIds()).containsExactly(cpu.promptLogprobs().get(i).topIds());
                    assertThat(gpu.promptLogprobs().get(i).logprob())
                            .isCloseTo(cpu.promptLogprobs().get(i).logprob(), org.assertj.core.api.Assertions.within(1e-2f));
                }
                for (int i = 0; i < gpu.logprobs().size(); i++) {
                    assertThat(gpu.logprobs().get(i).logprob())
                            .isCloseTo(cpu.logprobs().get(i).logprob(), org.assertj.core.api.Assertions.within(1e-2f));
                }
                float[] gpuEmbedding = embed(e, p);
                for (int d = 0; d < cpuEmbedding.length; d++) {
                    assertThat(gpuEmbedding[d]).isCloseTo(cpuEmbedding[d], org.assertj.core.api.Assertions.within(2e-3f));
                }
                awaitIdle(e);
                assertThat(e.stats().usedBlocks()).isZero();
            }
        }
    }

    private static float[] embed(Engine e, int[] prompt) throws Exception {
        float[][] got = new float[1][];
        EngineHarness.Collector c = new EngineHarness.Collector() {
            @Override
            public void onEmbedding(float[] embedding) {
                got[0] = embedding;
            }
        };
        e.submit(EngineRequest.embedding("e", prompt, dev.gantry.worker.model.Pooling.MEAN, System.nanoTime()), c);
        c.await();
        return got[0];
    }
}
