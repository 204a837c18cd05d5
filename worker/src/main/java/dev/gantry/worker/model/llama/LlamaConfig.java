package dev.gantry.worker.model.llama;

import dev.gantry.worker.backend.RopeTable;
import dev.gantry.worker.model.ModelLoadException;
import dev.gantry.worker.model.gguf.GgufFile;
import dev.gantry.worker.model.gguf.TensorInfo;
import dev.gantry.worker.quant.Dequant;
import java.util.Set;

/**
 * Hyper-parameters of a Llama-family model, read from GGUF metadata under the architecture's
 * prefix ({@code llama.*}, {@code qwen2.*}), with llama.cpp's defaults where a key is absent.
 *
 * @param ropeNeox   whether RoPE rotates pairs (i, i + d/2) (qwen2) rather than (2i, 2i+1) (llama)
 * @param qkvBias    whether the attention projections have biases (qwen2)
 * @param ropeFactors per-pair frequency divisors (Llama 3.1 scaling, tensor {@code rope_freqs.weight}), or null
 */
public record LlamaConfig(
        String architecture,
        int dim,
        int layers,
        int heads,
        int kvHeads,
        int headDim,
        int ffnDim,
        int vocabSize,
        int contextLength,
        float rmsEps,
        float ropeTheta,
        int ropeDim,
        float ropeLinearScale,
        float[] ropeFactors,
        boolean ropeNeox,
        boolean qkvBias) {

    /** Architectures this worker runs; the value of {@code general.architecture}. */
    public static final Set<String> ARCHITECTURES = Set.of("llama", "qwen2");

    public static LlamaConfig from(GgufFile gguf) {
        String arch = gguf.getString("general.architecture", null);
        if (arch == null) {
            throw new ModelLoadException(gguf.path() + " has no general.architecture: not a model file (a vocabulary-only GGUF?)");
        }
        if (!ARCHITECTURES.contains(arch)) {
            throw new ModelLoadException(gguf.path() + ": unsupported architecture '" + arch + "' (supported: "
                    + String.join(", ", ARCHITECTURES.stream().sorted().toList()) + ")");
        }
        int dim = required(gguf, arch + ".embedding_length");
        int heads = required(gguf, arch + ".attention.head_count");
        int kvHeads = gguf.getInt(arch + ".attention.head_count_kv", heads);
        int headDim = gguf.getInt(arch + ".attention.key_length", dim / heads);
        if (heads <= 0 || kvHeads <= 0 || heads % kvHeads != 0) {
            throw new ModelLoadException(gguf.path() + ": " + heads + " attention heads cannot be shared by " + kvHeads + " KV heads");
        }
        if (gguf.getInt(arch + ".attention.value_length", headDim) != headDim) {
            throw new ModelLoadException(gguf.path() + ": key and value head sizes differ, which is not supported");
        }
        String[] tokens = gguf.getStringArray("tokenizer.ggml.tokens");
        int vocab = gguf.getInt(arch + ".vocab_size", tokens != null ? tokens.length : 0);
        TensorInfo embd = gguf.tensor("token_embd.weight");
        if (vocab == 0 && embd != null) {
            vocab = Math.toIntExact(embd.rows());
        }
        int ropeDim = gguf.getInt(arch + ".rope.dimension_count", headDim);

        float linearScale = 1f;
        String scaling = gguf.getString(arch + ".rope.scaling.type", "none");
        float factor = gguf.getFloat(arch + ".rope.scaling.factor", 0f);
        if (scaling.equals("linear") && factor > 0) {
            linearScale = 1f / factor;
        } else if (!scaling.equals("none") && !scaling.equals("linear")) {
            throw new ModelLoadException(gguf.path() + ": unsupported RoPE scaling '" + scaling + "' (supported: none, linear, Llama 3 frequency factors)");
        }
        float[] factors = null;
        TensorInfo freqs = gguf.tensor("rope_freqs.weight");
        if (freqs != null) {
            factors = new float[Math.toIntExact(freqs.elements())];
            Dequant.values(freqs.type(), freqs.data(), 0, factors.length, factors, 0);
        }

        return new LlamaConfig(
                arch,
                dim,
                required(gguf, arch + ".block_count"),
                heads,
                kvHeads,
                headDim,
                required(gguf, arch + ".feed_forward_length"),
                vocab,
                gguf.getInt(arch + ".context_length", 2048),
                gguf.getFloat(arch + ".attention.layer_norm_rms_epsilon", 1e-5f),
                gguf.getFloat(arch + ".rope.freq_base", 10000f),
                ropeDim,
                linearScale,
                factors,
                arch.equals("qwen2"),
                arch.equals("qwen2"));
    }

    private static int required(GgufFile gguf, String key) {
        int v = gguf.getInt(key, -1);
        if (v <= 0) {
            throw new ModelLoadException(gguf.path() + ": missing or invalid metadata key " + key);
        }
        return v;
    }

    public int qDim() {
        return heads * headDim;
    }

    public int kvDim() {
        return kvHeads * headDim;
    }

    /** The rotation table: theta^(-2i/ropeDim) per pair, divided by Llama 3 factors and linearly scaled. */
    public RopeTable ropeTable() {
        float[] inv = new float[ropeDim / 2];
        for (int i = 0; i < inv.length; i++) {
            double f = Math.pow(ropeTheta, -2.0 * i / ropeDim) * ropeLinearScale;
            if (ropeFactors != null && i < ropeFactors.length) {
                f /= ropeFactors[i];
            }
            inv[i] = (float) f;
        }
        return new RopeTable(ropeDim, ropeNeox, inv);
    }

    @Override
    public String toString() {
        return architecture + ": dim " + dim + ", " + layers + " layers, " + heads + " heads (" + kvHeads + " KV, " + headDim
                + " each), ffn " + ffnDim + ", vocab " + vocabSize + ", context " + contextLength + ", rope theta " + ropeTheta;
    }
}
