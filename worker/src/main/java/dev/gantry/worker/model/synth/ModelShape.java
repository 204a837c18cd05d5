package dev.gantry.worker.model.synth;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The hyper-parameters of a real model, enough to write a file of its exact size and layout:
 * what a speed benchmark needs, since speed depends on shapes, not on weight values.
 *
 * @param name         the name users give ({@code llama-3.2-1b})
 * @param arch         GGUF architecture ({@code llama}, {@code qwen2})
 * @param tiedOutput   whether the output layer reuses {@code token_embd} (no {@code output.weight})
 * @param llama3Rope   Llama 3.1-style RoPE frequency scaling (factor, low/high frequency factors,
 *                     original context), written as {@code rope_freqs.weight} as llama.cpp's
 *                     converter does; null for none
 * @param vocabFamily  the llama.cpp test vocabulary ({@code models/ggml-vocab-*.gguf}) of the
 *                     model's tokenizer family, for tools that pick a vocabulary per shape
 */
public record ModelShape(
        String name,
        String arch,
        int dim,
        int layers,
        int heads,
        int kvHeads,
        int ffn,
        int vocab,
        int contextLength,
        float ropeTheta,
        float rmsEps,
        boolean tiedOutput,
        Llama3Rope llama3Rope,
        String vocabFamily) {

    /** Llama 3.1's RoPE scaling parameters (from the model's config.json {@code rope_scaling}). */
    public record Llama3Rope(float factor, float lowFreqFactor, float highFreqFactor, int originalContext) {}

    /** The shapes of the published models (their config.json), by name. */
    public static final Map<String, ModelShape> KNOWN = index(List.of(
            new ModelShape("smollm2-135m", "llama", 576, 30, 9, 3, 1536, 49152, 8192, 100000f, 1e-5f, true, null,
                    "smollm2"),
            new ModelShape("llama-3.2-1b", "llama", 2048, 16, 32, 8, 8192, 128256, 131072, 500000f, 1e-5f, true,
                    new Llama3Rope(32f, 1f, 4f, 8192), "llama-bpe"),
            new ModelShape("llama-3.1-8b", "llama", 4096, 32, 32, 8, 14336, 128256, 131072, 500000f, 1e-5f, false,
                    new Llama3Rope(8f, 1f, 4f, 8192), "llama-bpe"),
            new ModelShape("qwen2.5-0.5b", "qwen2", 896, 24, 14, 2, 4864, 151936, 32768, 1000000f, 1e-6f, true, null,
                    "qwen2")));

    public int headDim() {
        return dim / heads;
    }

    /** Whether the attention projections have biases (Qwen2 does). */
    public boolean qkvBias() {
        return arch.equals("qwen2");
    }

    /** The shape named {@code name}, or an error listing the known ones. */
    public static ModelShape named(String name) {
        ModelShape s = KNOWN.get(name);
        if (s == null) {
            throw new IllegalArgumentException("unknown shape '" + name + "' (known: " + String.join(", ", KNOWN.keySet()) + ")");
        }
        return s;
    }

    /**
     * Llama 3.1's per-frequency RoPE divisors: long wavelengths (beyond originalContext /
     * lowFreqFactor) are stretched by {@code factor}, short ones (below originalContext /
     * highFreqFactor) kept, and those between blended smoothly, as Meta's reference code defines.
     */
    public float[] ropeFactors() {
        if (llama3Rope == null) {
            return null;
        }
        Llama3Rope r = llama3Rope;
        int pairs = headDim() / 2;
        float[] out = new float[pairs];
        double lowWavelen = r.originalContext() / r.lowFreqFactor();
        double highWavelen = r.originalContext() / r.highFreqFactor();
        for (int i = 0; i < pairs; i++) {
            double freq = Math.pow(ropeTheta, -2.0 * i / headDim());
            double wavelen = 2 * Math.PI / freq;
            if (wavelen < highWavelen) {
                out[i] = 1f;
            } else if (wavelen > lowWavelen) {
                out[i] = r.factor();
            } else {
                double smooth = (r.originalContext() / wavelen - r.lowFreqFactor()) / (r.highFreqFactor() - r.lowFreqFactor());
                out[i] = (float) (1 / ((1 - smooth) / r.factor() + smooth));
            }
        }
        return out;
    }

    /** Parameters in the model (every tensor's elements). */
    public long parameters() {
        long perLayer = 2L * dim + (long) dim * (heads + 2 * kvHeads) * headDim() + (long) heads * headDim() * dim
                + 3L * dim * ffn + (qkvBias() ? (long) (heads + 2 * kvHeads) * headDim() : 0);
        return (long) vocab * dim * (tiedOutput ? 1 : 2) + dim + layers * perLayer;
    }

    private static Map<String, ModelShape> index(List<ModelShape> shapes) {
        Map<String, ModelShape> m = new LinkedHashMap<>();
        shapes.forEach(s -> m.put(s.name(), s));
        return java.util.Collections.unmodifiableMap(m);
    }
}
