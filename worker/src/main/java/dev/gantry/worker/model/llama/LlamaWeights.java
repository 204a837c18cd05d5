package dev.gantry.worker.model.llama;

import dev.gantry.worker.backend.Weight;
import dev.gantry.worker.model.ModelLoadException;
import dev.gantry.worker.model.gguf.GgufFile;
import dev.gantry.worker.model.gguf.TensorInfo;
import dev.gantry.worker.quant.GgmlType;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Collectors;

/**
 * The tensors of a Llama-family model, looked up by their GGUF names and checked against the
 * config's shapes, so that a wrong or incomplete file fails at load with the tensor's name
 * rather than deep inside a kernel. All weights stay in the memory-mapped file.
 */
public record LlamaWeights(
        Weight tokenEmbedding, // [vocab][dim]
        Weight outputNorm,     // [dim]
        Weight output,         // [vocab][dim]; the token embedding when tied
        Layer[] layers) {

    /** One transformer block. Biases are null where the architecture has none. */
    public record Layer(
            Weight attnNorm,  // [dim]
            Weight wq,        // [heads*headDim][dim]
            Weight wk,        // [kvHeads*headDim][dim]
            Weight wv,        // [kvHeads*headDim][dim]
            Weight bq,        // [heads*headDim] or null
            Weight bk,        // [kvHeads*headDim] or null
            Weight bv,        // [kvHeads*headDim] or null
            Weight wo,        // [dim][heads*headDim]
            Weight ffnNorm,   // [dim]
            Weight gate,      // [ffn][dim]
            Weight up,        // [ffn][dim]
            Weight down) {}   // [dim][ffn]

    public static LlamaWeights from(GgufFile gguf, LlamaConfig c) {
        Loader l = new Loader(gguf);
        Weight embd = l.get(Weight.TOKEN_EMBEDDING, c.vocabSize(), c.dim());
        Weight out = gguf.tensor("output.weight") != null ? l.get("output.weight", c.vocabSize(), c.dim()) : embd;
        Layer[] layers = new Layer[c.layers()];
        for (int i = 0; i < layers.length; i++) {
            String p = "blk." + i + ".";
            if (gguf.tensor(p + "ffn_gate.weight") == null && gguf.tensor(p + "ffn_gate_exps.weight") != null) {
                throw new ModelLoadException(gguf.path() + ": mixture-of-experts models are not supported");
            }
            layers[i] = new Layer(
                    l.get(p + "attn_norm.weight", 1, c.dim()),
                    l.get(p + "attn_q.weight", c.qDim(), c.dim()),
                    l.get(p + "attn_k.weight", c.kvDim(), c.dim()),
                    l.get(p + "attn_v.weight", c.kvDim(), c.dim()),
                    c.qkvBias() ? l.get(p + "attn_q.bias", 1, c.qDim()) : null,
                    c.qkvBias() ? l.get(p + "attn_k.bias", 1, c.kvDim()) : null,
                    c.qkvBias() ? l.get(p + "attn_v.bias", 1, c.kvDim()) : null,
                    l.get(p + "attn_output.weight", c.dim(), c.qDim()),
                    l.get(p + "ffn_norm.weight", 1, c.dim()),
                    l.get(p + "ffn_gate.weight", c.ffnDim(), c.dim()),
                    l.get(p + "ffn_up.weight", c.ffnDim(), c.dim()),
                    l.get(p + "ffn_down.weight", c.dim(), c.ffnDim()));
        }
        return new LlamaWeights(embd, l.get("output_norm.weight", 1, c.dim()), out, layers);
    }

    /** Every distinct weight, for {@link dev.gantry.worker.backend.Backend#prepare}. */
    public List<Weight> all() {
        List<Weight> all = new ArrayList<>(List.of(tokenEmbedding, outputNorm));
        if (output != tokenEmbedding) {
            all.add(output);
        }
        for (Layer l : layers) {
            for (Weight w : new Weight[] {l.attnNorm, l.wq, l.wk, l.wv, l.bq, l.bk, l.bv, l.wo, l.ffnNorm, l.gate, l.up, l.down}) {
                if (w != null) {
                    all.add(w);
                }
            }
        }
        return all;
    }

    private record Loader(GgufFile gguf) {
        Weight get(String name, int rows, int cols) {
            TensorInfo t = gguf.tensor(name);
            if (t == null) {
                throw new ModelLoadException(gguf.path() + ": missing tensor '" + name + "'");
            }
            if (!t.type().isSupported()) {
                throw new ModelLoadException(gguf.path() + ": tensor '" + name + "' has type " + t.type()
                        + ", which is not supported (supported: " + Arrays.stream(GgmlType.values())
                                .filter(GgmlType::isSupported).map(Enum::name).collect(Collectors.joining(", ")) + ")");
            }
            if (t.rows() != rows || t.cols() != cols) {
                throw new ModelLoadException(gguf.path() + ": tensor '" + name + "' has shape " + Arrays.toString(t.shape())
                        + " but the model's metadata implies [" + cols + (rows > 1 ? ", " + rows : "") + "]");
            }
            return new Weight(t.name(), t.type(), Math.toIntExact(t.rows()), Math.toIntExact(t.cols()), t.data());
        }
    }
}
