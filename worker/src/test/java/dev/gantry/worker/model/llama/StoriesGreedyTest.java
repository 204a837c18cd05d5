package dev.gantry.worker.model.llama;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gantry.worker.backend.Backend;
import dev.gantry.worker.backend.KvStorage;
import dev.gantry.worker.backend.ReferenceBackend;
import dev.gantry.worker.backend.cuda.CudaBackend;
import dev.gantry.worker.backend.cuda.EmulatedKernels;
import dev.gantry.worker.engine.kv.SimpleBlockAllocator;
import dev.gantry.worker.model.gguf.GgufFile;
import dev.gantry.worker.testing.TestModels;
import org.junit.jupiter.api.Test;

/** stories260K from BOS alone, greedy: the 25 ids llama.cpp produces (../shared/models/README.md). */
class StoriesGreedyTest {
    static final int[] EXPECTED = {403, 407, 261, 378, 432, 383, 286, 261, 376, 298, 315, 421, 395, 317, 426, 338, 401, 396,
        267, 337, 410, 408, 419, 292, 411};

    @Test
    void referenceBackendReproducesLlamaCpp() {
        assertThat(greedy(new ReferenceBackend(), 25)).containsExactly(EXPECTED);
    }

    /** The whole forward pass through the CUDA backend, its kernels run on the CPU. */
    @Test
    void cudaBackendReproducesLlamaCpp() {
        try (Backend cuda = new CudaBackend(EmulatedKernels.open())) {
            assertThat(greedy(cuda, 25)).containsExactly(EXPECTED);
        }
    }

    static int[] greedy(Backend backend, int n) {
        try (GgufFile gguf = GgufFile.open(TestModels.stories260K())) {
            LlamaConfig c = LlamaConfig.from(gguf);
            LlamaWeights w = LlamaWeights.from(gguf, c);
            backend.prepare(w.all());
            LlamaForward f = new LlamaForward(c, w, backend, 16, 1);
            SimpleBlockAllocator alloc = new SimpleBlockAllocator(8, 4);
            KvStorage kv = backend.allocateKv(c.layers(), 8, 4, c.kvDim());
            SimpleBlockAllocator.Table table = alloc.newTable();
            int[] out = new int[n];
            int token = 1; // BOS
            for (int pos = 0; pos < n; pos++) {
                assertThat(table.ensureCapacity(pos + 1)).isTrue();
                ForwardBatch b = ForwardBatch.of(new int[][] {{token}}, new int[] {pos}, new int[][] {table.blocks()}, 4,
                        new boolean[] {true});
                float[] logits = f.forward(b, kv);
                int best = 0;
                for (int i = 1; i < c.vocabSize(); i++) {
                    if (logits[i] > logits[best]) {
                        best = i;
                    }
                }
                out[pos] = token = best;
            }
            return out;
        }
    }
}
