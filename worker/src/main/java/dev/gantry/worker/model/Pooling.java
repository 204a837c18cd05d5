package dev.gantry.worker.model;

import dev.gantry.worker.model.gguf.GgufFile;

/**
 * How a sequence's last hidden states (after the final norm) become one embedding: llama.cpp's
 * {@code <arch>.pooling_type} of an embedding model's GGUF, or the mean for a decoder model that
 * declares none (as vLLM and llama.cpp's server pool a generative model). The vector is then
 * normalised to length 1.
 */
public enum Pooling {
    /** The mean over every prompt position. */
    MEAN,
    /** The first position's state (BERT's [CLS]). */
    CLS,
    /** The last position's state (causal embedding models: e5-mistral, gte-Qwen). */
    LAST;

    /** The pooling an embedding model's GGUF declares, or null when it declares none (a generative model). */
    public static Pooling declaredBy(GgufFile gguf) {
        String arch = gguf.getString("general.architecture", "llama");
        int type = gguf.getInt(arch + ".pooling_type", 0);
        return switch (type) {
            case 0 -> null;
            case 1 -> MEAN;
            case 2 -> CLS;
            case 3 -> LAST;
            default -> throw new ModelLoadException(gguf.path() + ": " + arch + ".pooling_type " + type
                    + " is not supported (supported: 1 mean, 2 cls, 3 last)");
        };
    }
}
