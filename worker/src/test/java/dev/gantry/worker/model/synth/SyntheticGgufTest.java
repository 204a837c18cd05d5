package dev.gantry.worker.model.synth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.gantry.worker.backend.Backend;
import dev.gantry.worker.backend.cpu.VectorBackend;
import dev.gantry.worker.model.Model;
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
    void qwenShapeWithBiasesFallsBackToQ4_0WhereRowsAreNotWholeBlocks() throws Exception {
        Path file = dir.resolve("qwen.gguf");
        SyntheticGguf.Summary s = new SyntheticGguf(TINY_QWEN, GgmlType.Q4_K, 7, 1).write(TestModels.llamaSpmVocab(), file,
                (d, t) -> {});
        // dim 160 is not a multiple of 256: every matrix with dim-long rows; ffn_down's 512 fits
        assertThat(s.fallbacks()).isEqualTo(1 + 2 * 6);
        try (Model m = Model.load(file)) {
            assertThat(m.config().qkvBias()).isTrue();
            assertThat(m.weights().output()).isSameAs(m.weights().tokenEmbedding());
            assertThat(m.weights().layers()[0].wq().type()).isEqualTo(GgmlType.Q4_0);
            assertThat(m.weights().layers()[0].down().type()).isEqualTo(GgmlType.Q4_K);
            assertThat(m.weights().layers()[0].bq()).isNotNull();
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
