package dev.gantry.worker.model.llama;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gantry.worker.backend.Backend;
import dev.gantry.worker.backend.KvStorage;
import dev.gantry.worker.backend.cpu.VectorBackend;
import dev.gantry.worker.engine.kv.SimpleBlockAllocator;
import dev.gantry.worker.model.Model;
import dev.gantry.worker.testing.TestModels;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/**
 * One flat batch holding a prefill chunk of one sequence and decode tokens of two others gives
 * each sequence the logits it gets when run alone: the forward pass keeps sequences apart
 * through their block tables, whatever else shares the step.
 */
class BatchInvarianceTest {
    static final int BS = 4;

    @Test
    void mixedBatchEqualsSequencesAlone() {
        try (Model model = Model.load(TestModels.smolLm2()); Backend backend = new VectorBackend(2)) {
            LlamaConfig c = model.config();
            int[] a = model.tokenizer().encode("The quick brown fox jumps over the lazy dog", false, false);
            int[] b = model.tokenizer().encode("Paris is the capital of", false, false);
            int[] d = model.tokenizer().encode("1, 2, 3, 4, 5,", false, false);
            int blocks = 64;
            LlamaForward f = new LlamaForward(c, model.weights(), backend, 64, 4);

            // Alone: each sequence's full prompt in one call, in its own cache.
            float[][] alone = new float[3][];
            int[][] seqs = {a, b, d};
            for (int s = 0; s < 3; s++) {
                try (KvStorage kv = backend.allocateKv(c.layers(), blocks, BS, c.kvDim())) {
                    SimpleBlockAllocator.Table t = new SimpleBlockAllocator(blocks, BS).newTable();
                    t.ensureCapacity(seqs[s].length);
                    alone[s] = f.forward(ForwardBatch.of(new int[][] {seqs[s]}, new int[] {0}, new int[][] {t.blocks()}, BS,
                            new boolean[] {true}), kv);
                }
            }

            // Together, in one shared cache: b and d are first prefilled up to their last token (one step),
            // then one step holds a's whole prompt plus the last token of b and of d.
            try (KvStorage kv = backend.allocateKv(c.layers(), blocks, BS, c.kvDim())) {
                SimpleBlockAllocator alloc = new SimpleBlockAllocator(blocks, BS);
                SimpleBlockAllocator.Table ta = alloc.newTable();
                SimpleBlockAllocator.Table tb = alloc.newTable();
                SimpleBlockAllocator.Table td = alloc.newTable();
                tb.ensureCapacity(b.length);
                ta.ensureCapacity(a.length); // interleaved allocation: tables are not contiguous
                td.ensureCapacity(d.length);
                f.forward(ForwardBatch.of(new int[][] {Arrays.copyOf(b, b.length - 1), Arrays.copyOf(d, d.length - 1)},
                        new int[] {0, 0}, new int[][] {tb.blocks(), td.blocks()}, BS, new boolean[] {false, false}), kv);
                float[] mixed = f.forward(ForwardBatch.of(
                        new int[][] {{b[b.length - 1]}, a, {d[d.length - 1]}},
                        new int[] {b.length - 1, 0, d.length - 1},
                        new int[][] {tb.blocks(), ta.blocks(), td.blocks()}, BS, new boolean[] {true, true, true}), kv);
                int v = c.vocabSize();
                assertClose(Arrays.copyOfRange(mixed, 0, v), alone[1]);
                assertClose(Arrays.copyOfRange(mixed, v, 2 * v), alone[0]);
                assertClose(Arrays.copyOfRange(mixed, 2 * v, 3 * v), alone[2]);
            }
        }
    }

    private static void assertClose(float[] got, float[] want) {
        float max = 0;
        for (int i = 0; i < want.length; i++) {
            max = Math.max(max, Math.abs(got[i] - want[i]));
        }
        assertThat(max).as("largest logit difference").isLessThan(1e-3f);
        assertThat(argmax(got)).isEqualTo(argmax(want));
    }

    private static int argmax(float[] v) {
        int best = 0;
        for (int i = 1; i < v.length; i++) {
            if (v[i] > v[best]) {
                best = i;
            }
        }
        return best;
    }
}
