package dev.gantry.worker.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.gantry.worker.cli.GantryCli;
import dev.gantry.worker.model.gguf.GgufFile;
import dev.gantry.worker.quant.GgmlType;
import dev.gantry.worker.testing.SyntheticModels;
import dev.gantry.worker.testing.TestModels;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Set;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link Model#load} on broken files: each failure is a {@link ModelLoadException} whose message
 * names the file and the problem, and the command line prints it as one line without a stack
 * trace. The broken files are copies of stories260K with one thing changed.
 */
class ModelLoadErrorsTest {
    @TempDir
    Path dir;

    @Test
    void missingFile() {
        Path missing = dir.resolve("nope.gguf");
        assertLoadFails(missing, "model file not found: " + missing);
    }

    @Test
    void notGguf() throws IOException {
        Path text = Files.writeString(dir.resolve("notes.gguf"), "these are not weights\n");
        assertLoadFails(text, text + " is not a GGUF file");
    }

    @Test
    void unsupportedArchitecture() {
        Path file = stories(w -> w.put("general.architecture", "gpt2"), Set.of());
        assertLoadFails(file, file + ": unsupported architecture 'gpt2' (supported: llama, qwen2)");
    }

    @Test
    void noArchitecture() {
        Path file = stories(w -> w.remove("general.architecture"), Set.of());
        assertLoadFails(file, file + " has no general.architecture: not a model file (a vocabulary-only GGUF?)");
    }

    @Test
    void vocabularyOnlyFile() {
        // llama.cpp's vocab-only files keep general.architecture and the hyper-parameters, just no tensors.
        Path vocab = TestModels.llamaSpmVocab();
        try (GgufFile g = GgufFile.open(vocab)) {
            assertThat(g.tensors()).isEmpty();
        }
        assertLoadFails(vocab, vocab + " has no tensors: a vocabulary-only GGUF, not a model");
    }

    @Test
    void anUneditedCopyLoads() {
        // The control for the cases below: the copy itself is a good model.
        try (Model m = Model.load(stories(w -> {}, Set.of()))) {
            assertThat(m.config().layers()).isEqualTo(5);
        }
    }

    @Test
    void missingTensor() {
        Path file = stories(w -> {}, Set.of("blk.3.ffn_up.weight"));
        assertLoadFails(file, file + ": missing tensor 'blk.3.ffn_up.weight'");
    }

    @Test
    void unsupportedTensorType() {
        // IQ4_NL blocks hold 32 values, so the 64-wide rows are valid GGUF; the worker cannot compute with them.
        Path file = stories(w -> w.tensor("blk.0.attn_q.weight", GgmlType.IQ4_NL, new long[] {64, 64},
                new byte[(int) GgmlType.IQ4_NL.byteSize(64 * 64)]), Set.of("blk.0.attn_q.weight"));
        assertLoadFails(file, file + ": tensor 'blk.0.attn_q.weight' has type IQ4_NL, which is not supported (supported: F32, F16");
    }

    @Test
    void wrongTensorShape() {
        // stories260K has 4 KV heads of 8: attn_k is [64, 32]. A [64, 64] one does not fit.
        Path file = stories(w -> w.tensor("blk.0.attn_k.weight", GgmlType.F32, new long[] {64, 64}, new float[64 * 64]),
                Set.of("blk.0.attn_k.weight"));
        assertLoadFails(file, file + ": tensor 'blk.0.attn_k.weight' has shape [64, 64] but the model's metadata implies [64, 32]");
    }

    @Test
    void truncatedRealModel() throws IOException {
        byte[] bytes = Files.readAllBytes(TestModels.stories260K());
        Path file = Files.write(dir.resolve("cut.gguf"), Arrays.copyOf(bytes, bytes.length * 2 / 3));
        assertLoadFails(file, file + " is truncated: tensor '");
        Path header = Files.write(dir.resolve("cut-header.gguf"), Arrays.copyOf(bytes, 3000));
        assertLoadFails(header, header + " is truncated: its GGUF header ends at byte 3000");
    }

    @Test
    void theCliPrintsOneErrorLine() throws IOException {
        Path file = Files.writeString(dir.resolve("bad.gguf"), "not a model");
        PrintStream original = System.err;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        int exit;
        try {
            System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
            exit = GantryCli.run("generate", "--model", file.toString());
        } finally {
            System.setErr(original);
        }
        String err = captured.toString(StandardCharsets.UTF_8);
        assertThat(exit).isEqualTo(1);
        assertThat(err.lines().toList()).containsExactly(
                "error: " + file + " is not a GGUF file (it does not start with the magic bytes \"GGUF\")");
    }

    /** A copy of stories260K without the tensors in {@code skip}, then edited (and still loadable otherwise). */
    private Path stories(Consumer<dev.gantry.worker.model.gguf.GgufWriter> edit, Set<String> skip) {
        try (GgufFile source = GgufFile.open(TestModels.stories260K())) {
            var w = SyntheticModels.copy(source, skip);
            edit.accept(w);
            return SyntheticModels.write(w, dir.resolve("stories-edited.gguf"));
        }
    }

    private static void assertLoadFails(Path file, String message) {
        assertThatThrownBy(() -> Model.load(file).close()).isInstanceOf(ModelLoadException.class).hasMessageContaining(message);
    }
}
