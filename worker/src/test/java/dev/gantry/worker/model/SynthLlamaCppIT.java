package dev.gantry.worker.model;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gantry.worker.model.synth.ModelShape;
import dev.gantry.worker.model.synth.SyntheticGguf;
import dev.gantry.worker.quant.GgmlType;
import dev.gantry.worker.testing.TestModels;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Files written by {@code gantry synth} mean the same model to llama.cpp as to this worker, so a
 * benchmark of the two on one file compares like with like: llama.cpp loads them (tokenizer
 * padding, RoPE factors, tensor names and block layouts included) and, teacher-forced along its
 * greedy tokens, its logits match ours ({@link SyntheticParityIT#compare}).
 */
class SynthLlamaCppIT {
    /** Llama 3.1-like: separate output, RoPE factors, vocabulary padded from 32000 to 32064. */
    static final ModelShape LLAMA = new ModelShape("it-llama", "llama", 256, 2, 4, 2, 512, 32064, 4096, 500000f, 1e-5f,
            false, new ModelShape.Llama3Rope(8f, 1f, 4f, 1024), "llama-spm");
    /** Qwen2-like: QKV biases, NEOX RoPE, tied output. */
    static final ModelShape QWEN = new ModelShape("it-qwen", "qwen2", 256, 2, 4, 1, 512, 32000, 4096, 1e6f, 1e-6f, true,
            null, "llama-spm");

    @TempDir
    Path dir;

    @Test
    void f32FilesGiveLlamaCppsLogits() throws Exception {
        // F32 on both sides: only summation order differs.
        for (ModelShape s : new ModelShape[] {LLAMA, QWEN}) {
            SyntheticParityIT.Result r = SyntheticParityIT.compare(write(s, GgmlType.F32));
            assertThat(r.relativeDiff()).as(s.name()).isLessThan(1e-4);
            assertThat(r.partings()).as(s.name()).isZero();
        }
    }

    @Test
    void quantizedFilesRunInLlamaCppCloseToOurs() throws Exception {
        // llama.cpp rounds activations to 8 bits before quantized products (Q8_0 or Q8_1 blocks, Q8_K
        // for the K-quants); this backend multiplies them in float, so logits differ by that
        // rounding, ~1%. Every type Quantize writes: llama.cpp reads its blocks as we do.
        for (GgmlType t : new GgmlType[] {GgmlType.F16, GgmlType.Q8_0, GgmlType.Q4_0, GgmlType.Q4_1, GgmlType.Q5_0,
                GgmlType.Q5_1, GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K}) {
            SyntheticParityIT.Result r = SyntheticParityIT.compare(write(LLAMA, t));
            assertThat(r.relativeDiff()).as(t.name()).isLessThan(0.05);
        }
    }

    private Path write(ModelShape s, GgmlType t) throws Exception {
        Path file = dir.resolve(s.name() + "-" + t.name().toLowerCase() + ".gguf");
        new SyntheticGguf(s, t, 21, 2).write(TestModels.llamaSpmVocab(), file, (d, n) -> {});
        return file;
    }
}
