package dev.gantry.worker.model.llama;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gantry.worker.backend.Backend;
import dev.gantry.worker.backend.KvStorage;
import dev.gantry.worker.backend.cpu.VectorBackend;
import dev.gantry.worker.backend.cuda.CudaBackend;
import dev.gantry.worker.backend.cuda.EmulatedKernels;
import dev.gantry.worker.engine.kv.SimpleBlockAllocator;
import dev.gantry.worker.model.Model;
import dev.gantry.worker.testing.TestModels;
import org.junit.jupiter.api.Test;

/**
 * SmolLM2-135M-Instruct greedy through the CUDA backend (its kernels run on the CPU) gives the
 * CPU backend's tokens, and logits within float rounding of the CPU's: a prompt prefilled in one
 * step, then decode steps, through paged attention over a block table.
 */
class CudaGreedyParityTest {
    static final int BS = 16;
    static final int STEPS = 4;

    @Test
    void smolLm2GreedyOnCudaMatchesTheCpu() {
        try (Model model = Model.load(TestModels.smolLm2())) {
            int[] prompt = model.tokenizer().encode("The capital of France is", false, false);
            Run cpu;
            try (Backend b = new VectorBackend(2)) {
                cpu = greedy(model, b, prompt);
            }
            Run cuda;
            try (Backend b = new CudaBackend(EmulatedKernels.open())) {
                cuda = greedy(model, b, prompt);
            }
            assertThat(cuda.tokens()).containsExactly(cpu.tokens());
            float max = 0;
            for (float f : cpu.firstLogits()) {
                max = Math.max(max, Math.abs(f));
            }
            for (int i = 0; i < cpu.firstLogits().length; i++) {
                assertThat(Math.abs(cuda.firstLogits()[i] - cpu.firstLogits()[i])).as("logit %d", i)
                        .isLessThanOrEqualTo(1e-3f * max);
            }
        }
    }

    record Run(int[] tokens, float[] firstLogits) {}

    private static Run greedy(Model model, Backend backend, int[] prompt) {
        LlamaConfig c = model.config();
        backend.prepare(model.weights().all());
        LlamaForward f = new LlamaForward(c, model.weights(), backend, 64, 1);
        int blocks = 8;
        try (KvStorage kv = backend.allocateKv(c.layers(), blocks, BS, c.kvDim())) {
            SimpleBlockAllocator.Table t = new SimpleBlockAllocator(blocks, BS).newTable();
            int[] tokens = new int[STEPS];
            float[] first = null;
            int[] input = prompt;
            int pos = 0;
            for (int step = 0; step < STEPS; step++) {
                assertThat(t.ensureCapacity(pos + input.length)).isTrue();
                float[] logits = f.forward(ForwardBatch.of(new int[][] {input}, new int[] {pos}, new int[][] {t.blocks()},
                        BS, new boolean[] {true}), kv);
                if (first == null) {
                    first = logits.clone();
                }
                int best = 0;
                for (int i = 1; i < c.vocabSize(); i++) {
                    if (logits[i] > logits[best]) {
                        best = i;
                    }
                }
                pos += input.length;
                tokens[step] = best;
                input = new int[] {best};
            }
            return new Run(tokens, first);
        }
    }
}
