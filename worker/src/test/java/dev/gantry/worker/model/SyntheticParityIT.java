package dev.gantry.worker.model;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gantry.worker.backend.Backend;
import dev.gantry.worker.backend.cpu.VectorBackend;
import dev.gantry.worker.quant.GgmlType;
import dev.gantry.worker.testing.LlamaCpp;
import dev.gantry.worker.testing.SyntheticModels;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The forward pass against llama.cpp on tiny random-weight models that {@link
 * dev.gantry.worker.model.gguf.GgufWriter} writes, for what no real test model covers: qwen2
 * (QKV biases, NEOX RoPE, a large rope base), Llama 3.1 frequency factors ({@code
 * rope_freqs.weight}) with a separate output matrix, and F16/BF16 weights. llama.cpp loading
 * these files at all shows the writer produces real GGUF.
 *
 * <p>Each model is teacher-forced along llama.cpp's 8 greedy tokens after a 10-token prompt.
 * Random-weight logits are a few units in size, so the bound is relative: the largest absolute
 * logit difference over the largest absolute logit.
 */
class SyntheticParityIT {
    static final int[] PROMPT = {1, 403, 407, 261, 378, 432, 383, 286, 261, 376};
    static final int TOKENS = 8;

    @TempDir
    Path dir;

    @Test
    void qwen2WithBiasesAndNeoxRope() {
        Path file = SyntheticModels.write(dir.resolve("qwen2.gguf"),
                new SyntheticModels.Spec("qwen2", 3, 1_000_000f, null, true, name -> GgmlType.F32, 11));
        try (Model m = Model.load(file)) {
            assertThat(m.config().ropeNeox()).isTrue();
            assertThat(m.config().qkvBias()).isTrue();
        }
        // F32 on both sides: only summation order differs, so every greedy token must agree.
        Result r = compare(file);
        assertThat(r.partings()).isZero();
        assertThat(r.relativeDiff()).isLessThan(1e-4);
    }

    @Test
    void llamaWithLlama31RopeFactorsAndSeparateOutput() {
        float[] factors = new float[SyntheticModels.HEAD_DIM / 2];
        for (int i = 0; i < factors.length; i++) {
            factors[i] = 1.5f + 0.75f * i; // Llama 3.1 slows the low frequencies most: factors grow with i
        }
        Path file = SyntheticModels.write(dir.resolve("llama31.gguf"),
                new SyntheticModels.Spec("llama", 2, 500_000f, factors, true, name -> GgmlType.F32, 12));
        try (Model m = Model.load(file)) {
            assertThat(m.config().ropeFactors()).containsExactly(factors);
            assertThat(m.weights().output()).isNotSameAs(m.weights().tokenEmbedding());
        }
        Result r = compare(file);
        assertThat(r.partings()).isZero();
        assertThat(r.relativeDiff()).isLessThan(1e-4);
    }

    @Test
    void llamaWithF16AndBf16Weights() {
        Set<String> bf16 = Set.of("attn_k.weight", "attn_output.weight", "ffn_down.weight", "output.weight");
        Set<String> f16 = Set.of("attn_q.weight", "attn_v.weight", "ffn_up.weight", "token_embd.weight");
        Path file = SyntheticModels.write(dir.resolve("half.gguf"), new SyntheticModels.Spec("llama", 3, 10_000f, null, true,
                name -> bf16.stream().anyMatch(name::endsWith) ? GgmlType.BF16
                        : f16.stream().anyMatch(name::endsWith) ? GgmlType.F16 : GgmlType.F32, 13));
        // llama.cpp's CPU kernels round the activations to the weight's 16-bit type before each
        // product (BF16 keeps 8 mantissa bits); the worker multiplies float32 activations. So
        // near-ties may part (seed 13 parts once, at a gap of 0.006 between logits near 10); they must be near-ties.
        Result r = compare(file);
        assertThat(r.relativeDiff()).isLessThan(2e-2);
        assertThat(r.partings()).isLessThanOrEqualTo(2);
        assertThat(r.largestGap()).as("our top logit above llama.cpp's token's, where they part").isLessThan(0.1f);
    }

    /**
     * @param relativeDiff largest |our logit - llama.cpp's| over the largest |llama.cpp logit|
     * @param partings     positions where our top token is not llama.cpp's greedy token
     * @param largestGap   our top logit minus ours for llama.cpp's token, largest over partings
     */
    record Result(double relativeDiff, int partings, float largestGap) {}

    static Result compare(Path file) {
        LlamaCpp.Continuation ref = LlamaCpp.greedy(file, List.of(PROMPT), TOKENS).getFirst();
        try (Model model = Model.load(file); Backend backend = new VectorBackend(2)) {
            float[][] ours = LlamaCppParityIT.teacherForced(model, backend, PROMPT, ref.tokens());
            double maxDiff = 0;
            double maxLogit = 0;
            int[] greedy = new int[TOKENS];
            int partings = 0;
            float gap = 0;
            for (int t = 0; t < TOKENS; t++) {
                greedy[t] = LlamaCppParityIT.argmax(ours[t]);
                if (greedy[t] != ref.tokens()[t]) {
                    partings++;
                    gap = Math.max(gap, ours[t][greedy[t]] - ours[t][ref.tokens()[t]]);
                }
                for (int v = 0; v < ours[t].length; v++) {
                    maxDiff = Math.max(maxDiff, Math.abs(ours[t][v] - ref.logits()[t][v]));
                    maxLogit = Math.max(maxLogit, Math.abs(ref.logits()[t][v]));
                }
            }
            double relative = maxDiff / maxLogit;
            System.out.printf("%s: llama.cpp tokens %s, ours %s (%d partings, largest gap %.4f); largest logit %.4f,"
                    + " largest difference %.3g (relative %.3g)%n", file.getFileName(), Arrays.toString(ref.tokens()),
                    Arrays.toString(greedy), partings, gap, maxLogit, maxDiff, relative);
            return new Result(relative, partings, gap);
        }
    }
}
