package dev.gantry.worker.model.synth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.gantry.worker.backend.Backend;
import dev.gantry.worker.backend.cpu.VectorBackend;
import dev.gantry.worker.model.Model;
import dev.gantry.worker.model.Pooling;
import dev.gantry.worker.model.gguf.GgufFile;
import dev.gantry.worker.perf.ModelBenchmark;
import dev.gantry.worker.quant.GgmlType;
import dev.gantry.worker.testing.TestModels;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link SyntheticGguf} on small shapes: the files load as complete models (every tensor of the
 * right name, type and shape; the tokenizer; RoPE factors), run a forward pass, and their bytes
 * depend on the seed only, not on the number of threads.
 */
class SyntheticGgufTest {
    /** A small Llama 3.1-like shape: separate output, RoPE factors, a vocabulary larger than the file's. */
    static final ModelShape TINY_LLAMA = new ModelShape("tiny-llama", "llama", 256, 2, 4, 2, 512, 32064, 4096, 500000f,
            1e-5f, false, new ModelShape.Llama3Rope(8f, 1f, 4f, 1024), "llama-spm");
    /** A small Qwen2-like shape: QKV biases, tied output, rows that are not whole Q4_K blocks. */
    static final ModelShape TINY_QWEN = new ModelShape("tiny-qwen", "qwen2", 160, 2, 5, 1, 512, 32000, 4096, 1e6f, 1e-6f,
            true, null, "llama-spm");

    @TempDir
    Path dir;

    /**
     * An embedding model as llama.cpp's converter marks one ({@code pooling_type}, here last-token
     * pooling): the model says so, and the engine's embedding is its last position's final hidden
     * state, normalised.
     */
    @Test
    void embeddingModelDeclaresItsPoolingAndTheEnginePoolsThatWay() throws Exception {
        Path file = dir.resolve("embed.gguf");
        new SyntheticGguf(TINY_QWEN, GgmlType.F32, 3, 2, Pooling.LAST).write(TestModels.llamaSpmVocab(), file, (d, t) -> {});
        try (Model m = Model.load(file); Backend b = new VectorBackend(2)) {
            assertThat(m.isEmbeddingModel()).isTrue();
            assertThat(m.pooling()).isEqualTo(Pooling.LAST);
            int[] prompt = m.tokenizer().encode("Embeddings of the last token", true, false);
            float[][] got = new float[1][];
            java.util.concurrent.CompletableFuture<dev.gantry.worker.engine.RequestResult> done = new java.util.concurrent.CompletableFuture<>();
            try (dev.gantry.worker.engine.Engine e = new dev.gantry.worker.engine.Engine(m, b,
                    new dev.gantry.worker.engine.EngineConfig(4, 4, 4, 64, 256, 8, true), null, "embed")) {
                e.start();
                e.submit(dev.gantry.worker.engine.EngineRequest.embedding("e", prompt, m.pooling(), System.nanoTime()),
                        new dev.gantry.worker.engine.RequestListener() {
                            @Override
                            public void onOutput(int[] ids, String text, dev.gantry.worker.model.sample.TokenLogprobs[] lp) {}

                            @Override
                            public void onEmbedding(float[] embedding) {
                                got[0] = embedding;
                            }

                            @Override
                            public void onFinish(dev.gantry.worker.engine.RequestResult result) {
                                done.complete(result);
                            }
                        });
                done.get(60, java.util.concurrent.TimeUnit.SECONDS);
            }
            // The reference: one plain pass over the whole prompt, its last row after the final norm.
            var c = m.config();
            var forward = new dev.gantry.worker.model.llama.LlamaForward(c, m.weights(), b, prompt.length, 1);
            var table = new dev.gantry.worker.engine.kv.SimpleBlockAllocator(64, 4).newTable();
            table.ensureCapacity(prompt.length);
            try (var kv = b.allocateKv(c.layers(), 64, 4, c.kvDim())) {
                forward.forward(dev.gantry.worker.model.llama.ForwardBatch.of(new int[][] {prompt}, new int[] {0},
                        new int[][] {table.blocks()}, 4, new boolean[] {true}), kv);
                float[] last = forward.hiddenOfRows(new int[] {prompt.length - 1});
                double norm = 0;
                for (float x : last) {
                    norm += x * x;
                }
                assertThat(got[0]).hasSize(c.dim());
                for (int d = 0; d < c.dim(); d++) {
                    assertThat(got[0][d]).isCloseTo((float) (last[d] / Math.sqrt(norm)), org.assertj.core.api.Assertions.within(1e-5f));
                }
            }
        }
    }

    @Test
    void llamaShapeLoadsWithPaddedVocabularyAndRunsForward() throws Exception {
        Path file = dir.resolve("tiny.gguf");
        long[] lastProgress = {0, 0};
        SyntheticGguf.Summary s = new SyntheticGguf(TINY_LLAMA, GgmlType.Q4_K, 7, 2).write(TestModels.llamaSpmVocab(), file,
                (done, total) -> {
                    lastProgress[0] = done;
                    lastProgress[1] = total;
                });
        assertThat(s.paddedTokens()).isEqualTo(64);
        assertThat(s.fallbacks()).isZero();
        assertThat(lastProgress[0]).isEqualTo(lastProgress[1]).isPositive();
        assertThat(Files.exists(dir.resolve("tiny.gguf.part"))).isFalse();
        try (Model m = Model.load(file)) {
            var c = m.config();
            assertThat(c.dim()).isEqualTo(256);
            assertThat(c.layers()).isEqualTo(2);
            assertThat(c.kvHeads()).isEqualTo(2);
            assertThat(c.vocabSize()).isEqualTo(32064);
            assertThat(c.ropeTheta()).isEqualTo(500000f);
            assertThat(c.ropeFactors()).containsExactly(TINY_LLAMA.ropeFactors());
            assertThat(m.weights().output()).isNotSameAs(m.weights().tokenEmbedding());
            assertThat(m.weights().layers()[1].down().type()).isEqualTo(GgmlType.Q4_K);
            assertThat(m.weights().outputNorm().type()).isEqualTo(GgmlType.F32);
            assertThat(m.tokenizer().vocabSize()).isEqualTo(32064);
            assertThat(m.tokenizer().encode("Hello world", false, false)).isNotEmpty();
            assertThat(m.gguf().getLong("general.file_type", -1)).isEqualTo(14);
            try (Backend be = new VectorBackend(2); ModelBenchmark bench = new ModelBenchmark(m, be, 20, 3, 2)) {
                assertThat(bench.decode(2, 1)).isPositive();
            }
        }
    }

    @Test
    void q4kMixtureIsLlamaCppsQ4KM() throws Exception {
        // 16 layers: use_more_bits holds for layers 0, 1 (first eighth), 4, 7, 10, 13 (every third), 14, 15 (last eighth)
        ModelShape shape = new ModelShape("tiny-llama-16", "llama", 256, 16, 4, 2, 512, 32064, 4096, 500000f, 1e-5f, true,
                null, "llama-spm");
        Path file = dir.resolve("q4km.gguf");
        SyntheticGguf.q4KM(shape, 5, 2, null).write(TestModels.llamaSpmVocab(), file, (d, t) -> {});
        try (Model m = Model.load(file)) {
            assertThat(m.gguf().getLong("general.file_type", -1)).isEqualTo(15);
            assertThat(m.weights().tokenEmbedding().type()).isEqualTo(GgmlType.Q6_K); // tied: it is the output
            var layers = m.weights().layers();
            java.util.List<Integer> more = new java.util.ArrayList<>();
            for (int l = 0; l < layers.length; l++) {
                GgmlType down = layers[l].down().type();
                assertThat(down).isIn(GgmlType.Q4_K, GgmlType.Q6_K);
                if (down == GgmlType.Q6_K) {
                    more.add(l);
                }
                assertThat(layers[l].wv().type()).isEqualTo(down);
                assertThat(layers[l].up().type()).isEqualTo(GgmlType.Q4_K);
            }
            assertThat(more).containsExactly(0, 1, 4, 7, 10, 13, 14, 15);
            try (Backend be = new VectorBackend(2); ModelBenchmark bench = new ModelBenchmark(m, be, 20, 3, 2)) {
                assertThat(bench.decode(2, 1)).isPositive();
            }
        }
    }

    @Test
    void qwenShapeWithBiasesFallsBackAsLlamaCppWhereRowsAreNotWholeBlocks() throws Exception {
        Path file = dir.resolve("qwen.gguf");
        SyntheticGguf.Summary s = new SyntheticGguf(TINY_QWEN, GgmlType.Q4_K, 7, 1).write(TestModels.llamaSpmVocab(), file,
                (d, t) -> {});
        // dim 160 is not a multiple of 256: every matrix with dim-long rows; ffn_down's 512 fits
        assertThat(s.fallbacks()).isEqualTo(1 + 2 * 6);
        try (Model m = Model.load(file)) {
            assertThat(m.config().qkvBias()).isTrue();
            assertThat(m.weights().output()).isSameAs(m.weights().tokenEmbedding());
            assertThat(m.weights().layers()[0].wq().type()).isEqualTo(GgmlType.Q5_0); // llama.cpp's fallback for Q4_K
            assertThat(m.weights().layers()[0].down().type()).isEqualTo(GgmlType.Q4_K);
            assertThat(m.weights().layers()[0].bq()).isNotNull();
        }
    }

    @Test
    void q5kMixtureIsLlamaCppsQ5KMWithItsFallbacks() throws Exception {
        Path file = dir.resolve("qwen-q5km.gguf");
        SyntheticGguf.Summary s = SyntheticGguf.q5KM(TINY_QWEN, 7, 2, null).write(TestModels.llamaSpmVocab(), file,
                (d, t) -> {});
        assertThat(s.fallbacks()).isEqualTo(1 + 2 * 6);
        try (Model m = Model.load(file)) {
            assertThat(m.gguf().getLong("general.file_type", -1)).isEqualTo(17); // LLAMA_FTYPE_MOSTLY_Q5_K_M
            // dim 160 is not whole 256-value blocks: Q5_K falls back to Q5_1, Q6_K (the tied output) to Q8_0
            assertThat(m.weights().tokenEmbedding().type()).isEqualTo(GgmlType.Q8_0);
            assertThat(m.weights().layers()[0].wq().type()).isEqualTo(GgmlType.Q5_1);
            assertThat(m.weights().layers()[0].down().type()).isIn(GgmlType.Q5_K, GgmlType.Q6_K);
            try (Backend be = new VectorBackend(2); ModelBenchmark bench = new ModelBenchmark(m, be, 20, 3, 2)) {
                assertThat(bench.decode(2, 1)).isPositive();
            }
        }
    }

    @Test
    void bytesDependOnTheSeedNotOnThreads() throws Exception {
        ModelShape small = new ModelShape("s", "llama", 64, 1, 2, 1, 128, 32000, 512, 10000f, 1e-5f, true, null, "llama-spm");
        Path a = dir.resolve("a.gguf");
        Path b = dir.resolve("b.gguf");
        Path c = dir.resolve("c.gguf");
        new SyntheticGguf(small, GgmlType.Q8_0, 3, 1).write(TestModels.llamaSpmVocab(), a, (d, t) -> {});
        new SyntheticGguf(small, GgmlType.Q8_0, 3, 3).write(TestModels.llamaSpmVocab(), b, (d, t) -> {});
        new SyntheticGguf(small, GgmlType.Q8_0, 4, 2).write(TestModels.llamaSpmVocab(), c, (d, t) -> {});
        assertThat(Files.readAllBytes(a)).isEqualTo(Files.readAllBytes(b));
        assertThat(Arrays.equals(Files.readAllBytes(a), Files.readAllBytes(c))).isFalse();
    }

    @Test
    void knownShapesMatchTheirPublishedSizes() {
        // Parameter counts as the model cards give them (Llama 3.2 1B: 1.24B, 3.1 8B: 8.03B, ...).
        assertThat(ModelShape.named("llama-3.2-1b").parameters() / 1e9).isBetween(1.23, 1.25);
        assertThat(ModelShape.named("llama-3.1-8b").parameters() / 1e9).isBetween(8.02, 8.04);
        assertThat(ModelShape.named("qwen2.5-0.5b").parameters() / 1e9).isBetween(0.49, 0.50);
        assertThat(ModelShape.named("smollm2-135m").parameters() / 1e6).isBetween(134.0, 135.5);
        // Llama 3.1's published factors: 1 for high frequencies, the full factor for low ones.
        float[] f = ModelShape.named("llama-3.1-8b").ropeFactors();
        assertThat(f).hasSize(64);
        assertThat(f[0]).isEqualTo(1f);
        assertThat(f[63]).isEqualTo(8f);
        assertThatThrownBy(() -> ModelShape.named("gpt-5")).hasMessageContaining("llama-3.2-1b");
    }

    @Test
    void rejectsAVocabularyLargerThanTheShape() {
        ModelShape small = new ModelShape("s", "llama", 64, 1, 2, 1, 128, 1000, 512, 10000f, 1e-5f, true, null, "x");
        assertThatThrownBy(() -> new SyntheticGguf(small, GgmlType.Q8_0, 1, 1).write(TestModels.llamaSpmVocab(),
                dir.resolve("x.gguf"), (d, t) -> {}))
                .hasMessageContaining("32000 tokens");
        try (GgufFile v = GgufFile.open(TestModels.llamaSpmVocab())) {
            assertThat(v.getStringArray("tokenizer.ggml.tokens")).hasSize(32000);
        }
    }
}
