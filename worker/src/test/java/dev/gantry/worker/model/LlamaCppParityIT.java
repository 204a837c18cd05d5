package dev.gantry.worker.model;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gantry.worker.backend.Backend;
import dev.gantry.worker.backend.KvStorage;
import dev.gantry.worker.backend.cpu.VectorBackend;
import dev.gantry.worker.engine.kv.SimpleBlockAllocator;
import dev.gantry.worker.model.llama.ForwardBatch;
import dev.gantry.worker.model.llama.LlamaForward;
import dev.gantry.worker.model.sample.SamplingParams;
import dev.gantry.worker.model.tokenizer.ChatMessage;
import dev.gantry.worker.testing.LlamaCpp;
import dev.gantry.worker.testing.TestModels;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The worker's forward pass against llama.cpp on SmolLM2-135M-Instruct, for three chat prompts
 * and 32 greedy tokens each, teacher-forced along llama.cpp's tokens so every position is compared.
 *
 * <p>Two files. The F32 copy (every tensor dequantized from the Q4_1 file) takes quantization out
 * of both sides: the math must agree to float rounding and every token must be llama.cpp's. The
 * Q4_1 file itself: llama.cpp's CPU kernels quantize activations to 8 bits before each quantized
 * matrix product (Q8_1 blocks for Q4_1 weights, Q8_0 for the Q8_0 output matrix) while this
 * worker multiplies F32 activations, so the two part at near-ties; the test reports each parting
 * and the largest logit difference, and bounds them.
 */
public class LlamaCppParityIT {
    public static final List<String> PROMPTS = List.of(
            "What is the capital of France?",
            "Write a short poem about the sea.",
            "Explain in two sentences why the sky is blue.");
    static final int TOKENS = 32;

    record Comparison(int partings, float largestGap, float largestLogitDiff) {}

    @Test
    void f32WeightsMatchLlamaCppToRounding() {
        Comparison c = compare(LlamaCpp.dequantizedToF32(TestModels.smolLm2()));
        assertThat(c.partings()).as("tokens where our greedy choice differs from llama.cpp's").isZero();
        assertThat(c.largestLogitDiff()).isLessThan(1e-3f);
    }

    @Test
    void q41FileAgreesWithLlamaCppUpToActivationQuantization() {
        Comparison c = compare(TestModels.smolLm2());
        // Measured on this machine: 6 partings over 96 tokens, gaps up to 0.33, logits within 2.0 (of values near 25).
        assertThat(c.largestGap()).as("llama.cpp's token vs our top logit where they part").isLessThan(0.5f);
        assertThat(c.partings()).isLessThanOrEqualTo(12);
        assertThat(c.largestLogitDiff()).isLessThan(3f);
    }

    static Comparison compare(java.nio.file.Path file) {
        try (Model model = Model.load(file); Backend backend = new VectorBackend(2)) {
            List<int[]> prompts = new ArrayList<>();
            for (String p : PROMPTS) {
                String text = model.chatTemplate().render(List.of(new ChatMessage("user", p)), true);
                prompts.add(model.tokenizer().encode(text, false, true));
            }
            List<LlamaCpp.Continuation> reference = LlamaCpp.greedy(model.gguf().path(), prompts, TOKENS);
            float largestDiff = 0;
            float largestGap = 0;
            int partings = 0;
            for (int i = 0; i < prompts.size(); i++) {
                int[] expected = reference.get(i).tokens();
                float[][] ours = teacherForced(model, backend, prompts.get(i), expected);
                float promptDiff = 0;
                for (int t = 0; t < TOKENS; t++) {
                    int top = argmax(ours[t]);
                    if (top != expected[t]) {
                        partings++;
                        float gap = ours[t][top] - ours[t][expected[t]];
                        largestGap = Math.max(largestGap, gap);
                        System.out.printf("%s prompt %d token %d: ours %d, llama.cpp %d, gap %.4f%n", file.getFileName(), i, t, top,
                                expected[t], gap);
                    }
                    for (int v = 0; v < ours[t].length; v++) {
                        promptDiff = Math.max(promptDiff, Math.abs(ours[t][v] - reference.get(i).logits()[t][v]));
                    }
                }
                largestDiff = Math.max(largestDiff, promptDiff);
                System.out.printf("%s prompt %d \"%s\": largest logit difference %.5f; llama.cpp: %s%n", file.getFileName(), i,
                        PROMPTS.get(i), promptDiff, model.tokenizer().decode(expected).replace("\n", "\\n"));
                if (partings == 0) {
                    // With no parting, free-running greedy generation must give exactly llama.cpp's tokens.
                    try (Generator g = new Generator(model, backend, 512, 16, 64)) {
                        Generator.Result r = g.generate(prompts.get(i),
                                SamplingParams.defaults().withTemperature(0).withMaxTokens(TOKENS).withIgnoreEos(true), s -> {});
                        assertThat(r.tokens()).containsExactly(expected);
                    }
                }
            }
            System.out.printf("%s vs llama.cpp, %d prompts x %d tokens: %d partings, largest gap %.4f, largest logit difference %.5f%n",
                    file.getFileName(), PROMPTS.size(), TOKENS, partings, largestGap, largestDiff);
            return new Comparison(partings, largestGap, largestDiff);
        }
    }

    /** Our logits before each of llama.cpp's tokens: [tokens.length][vocab]. */
    public static float[][] teacherForced(Model model, Backend backend, int[] prompt, int[] tokens) {
        int ctx = prompt.length + tokens.length;
        int blockSize = 16;
        int blocks = (ctx + blockSize - 1) / blockSize;
        LlamaForward forward = new LlamaForward(model.config(), model.weights(), backend, prompt.length, 1);
        SimpleBlockAllocator alloc = new SimpleBlockAllocator(blocks, blockSize);
        SimpleBlockAllocator.Table table = alloc.newTable();
        try (KvStorage kv = backend.allocateKv(model.config().layers(), blocks, blockSize, model.config().kvDim())) {
            float[][] out = new float[tokens.length][];
            table.ensureCapacity(ctx);
            int[][] bt = {table.blocks()};
            out[0] = forward.forward(ForwardBatch.of(new int[][] {prompt}, new int[] {0}, bt, blockSize, new boolean[] {true}), kv);
            for (int t = 1; t < tokens.length; t++) {
                out[t] = forward.forward(ForwardBatch.of(new int[][] {{tokens[t - 1]}}, new int[] {prompt.length + t - 1}, bt,
                        blockSize, new boolean[] {true}), kv);
            }
            return out;
        }
    }

    public static int argmax(float[] v) {
        int best = 0;
        for (int i = 1; i < v.length; i++) {
            if (v[i] > v[best]) {
                best = i;
            }
        }
        return best;
    }
}
