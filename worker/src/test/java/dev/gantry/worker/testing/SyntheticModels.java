package dev.gantry.worker.testing;

import dev.gantry.worker.model.gguf.GgufFile;
import dev.gantry.worker.model.gguf.GgufWriter;
import dev.gantry.worker.model.gguf.TensorInfo;
import dev.gantry.worker.quant.GgmlType;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.function.Function;

/**
 * Small GGUF models written with {@link GgufWriter}: copies of real files with parts changed, and
 * tiny random-weight models of architectures and weight types no real test model has. The random
 * ones carry stories260K's 512-token SentencePiece vocabulary so llama.cpp and the worker load
 * them as complete models.
 */
public final class SyntheticModels {
    public static final int DIM = 64;
    public static final int HEADS = 4;
    public static final int KV_HEADS = 2;
    public static final int HEAD_DIM = DIM / HEADS;
    public static final int FFN = 128;

    private SyntheticModels() {}

    /**
     * A tiny random-weight model. Weight scales keep activations near unit size through the
     * layers and logits a few units apart, so greedy choices are not near-ties.
     *
     * @param arch           {@code llama} or {@code qwen2} (qwen2 gets nonzero QKV biases)
     * @param ropeFactors    Llama 3 frequency factors written as {@code rope_freqs.weight}, or null
     * @param separateOutput whether {@code output.weight} exists (else tied to the embedding)
     * @param typeOf         the type of each weight matrix by tensor name (norms, biases stay F32)
     */
    public record Spec(String arch, int layers, float ropeTheta, float[] ropeFactors, boolean separateOutput,
            Function<String, GgmlType> typeOf, long seed) {}

    /** Writes {@code spec}'s model to {@code file} and returns it. */
    public static Path write(Path file, Spec spec) {
        Random random = new Random(spec.seed());
        String a = spec.arch();
        GgufWriter w = new GgufWriter()
                .put("general.architecture", a)
                .put("general.name", "synthetic " + a)
                .put(a + ".context_length", 256L)
                .put(a + ".embedding_length", (long) DIM)
                .put(a + ".block_count", (long) spec.layers())
                .put(a + ".feed_forward_length", (long) FFN)
                .put(a + ".attention.head_count", (long) HEADS)
                .put(a + ".attention.head_count_kv", (long) KV_HEADS)
                .put(a + ".rope.dimension_count", (long) HEAD_DIM)
                .put(a + ".rope.freq_base", spec.ropeTheta())
                .put(a + ".attention.layer_norm_rms_epsilon", a.equals("qwen2") ? 1e-6f : 1e-5f);
        int vocab;
        try (GgufFile stories = GgufFile.open(TestModels.stories260K())) {
            for (Map.Entry<String, Object> e : stories.metadata().entrySet()) {
                if (e.getKey().startsWith("tokenizer.")) {
                    w.put(e.getKey(), e.getValue());
                }
            }
            vocab = stories.getStringArray("tokenizer.ggml.tokens").length;
        }
        matrix(w, spec, random, "token_embd.weight", vocab, DIM, 1f);
        if (spec.separateOutput()) {
            matrix(w, spec, random, "output.weight", vocab, DIM, 3f / (float) Math.sqrt(DIM));
        }
        vector(w, random, "output_norm.weight", DIM, 1f, 0.2f);
        if (spec.ropeFactors() != null) {
            w.tensor("rope_freqs.weight", GgmlType.F32, new long[] {spec.ropeFactors().length}, spec.ropeFactors());
        }
        float in = 1f / (float) Math.sqrt(DIM);
        for (int l = 0; l < spec.layers(); l++) {
            String p = "blk." + l + ".";
            vector(w, random, p + "attn_norm.weight", DIM, 1f, 0.2f);
            matrix(w, spec, random, p + "attn_q.weight", HEADS * HEAD_DIM, DIM, 2 * in);
            matrix(w, spec, random, p + "attn_k.weight", KV_HEADS * HEAD_DIM, DIM, 2 * in);
            matrix(w, spec, random, p + "attn_v.weight", KV_HEADS * HEAD_DIM, DIM, in);
            if (a.equals("qwen2")) {
                vector(w, random, p + "attn_q.bias", HEADS * HEAD_DIM, 0f, 0.5f);
                vector(w, random, p + "attn_k.bias", KV_HEADS * HEAD_DIM, 0f, 0.5f);
                vector(w, random, p + "attn_v.bias", KV_HEADS * HEAD_DIM, 0f, 0.5f);
            }
            matrix(w, spec, random, p + "attn_output.weight", DIM, HEADS * HEAD_DIM, in);
            vector(w, random, p + "ffn_norm.weight", DIM, 1f, 0.2f);
            matrix(w, spec, random, p + "ffn_gate.weight", FFN, DIM, in);
            matrix(w, spec, random, p + "ffn_up.weight", FFN, DIM, in);
            matrix(w, spec, random, p + "ffn_down.weight", DIM, FFN, 1f / (float) Math.sqrt(FFN));
        }
        return write(w, file);
    }

    /**
     * A writer holding {@code source}'s metadata and every tensor but those named in {@code skip}.
     * Keep {@code source} open until the writer has written: tensor bytes are read from it then.
     */
    public static GgufWriter copy(GgufFile source, Set<String> skip) {
        GgufWriter w = new GgufWriter().putAll(source.metadata());
        for (TensorInfo t : source.tensors().values()) {
            if (!skip.contains(t.name())) {
                w.tensor(t);
            }
        }
        return w;
    }

    /** Writes {@code w} to {@code file}, unchecked. */
    public static Path write(GgufWriter w, Path file) {
        try {
            w.write(file);
            return file;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** {@code n} normal values with this mean and standard deviation. */
    public static float[] gaussian(Random random, int n, float mean, float scale) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = mean + scale * (float) random.nextGaussian();
        }
        return v;
    }

    private static void matrix(GgufWriter w, Spec spec, Random random, String name, int rows, int cols, float scale) {
        w.tensor(name, spec.typeOf().apply(name), new long[] {cols, rows}, gaussian(random, rows * cols, 0f, scale));
    }

    private static void vector(GgufWriter w, Random random, String name, int n, float mean, float scale) {
        w.tensor(name, GgmlType.F32, new long[] {n}, gaussian(random, n, mean, scale));
    }
}
