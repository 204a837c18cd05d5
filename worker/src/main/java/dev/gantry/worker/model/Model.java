package dev.gantry.worker.model;

import dev.gantry.worker.model.gguf.GgufFile;
import dev.gantry.worker.model.llama.LlamaConfig;
import dev.gantry.worker.model.llama.LlamaWeights;
import dev.gantry.worker.model.tokenizer.ChatTemplate;
import dev.gantry.worker.model.tokenizer.Tokenizer;
import java.nio.file.Path;

/**
 * A model ready to run: its memory-mapped GGUF file, hyper-parameters, weights (views into the
 * file), tokenizer and chat template. Loading checks everything a forward pass will touch, so a
 * bad file fails here with a {@link ModelLoadException} that names the problem.
 */
public final class Model implements AutoCloseable {
    private final GgufFile gguf;
    private final String name;
    private final LlamaConfig config;
    private final LlamaWeights weights;
    private final Tokenizer tokenizer;
    private final ChatTemplate chatTemplate;
    /** The pooling the GGUF declares (an embedding model), or null. */
    private final Pooling declaredPooling;

    private Model(GgufFile gguf) {
        this.gguf = gguf;
        if (gguf.tensors().isEmpty()) {
            throw new ModelLoadException(gguf.path() + " has no tensors: a vocabulary-only GGUF, not a model");
        }
        this.config = LlamaConfig.from(gguf);
        this.weights = LlamaWeights.from(gguf, config);
        this.tokenizer = Tokenizer.fromGguf(gguf);
        this.chatTemplate = ChatTemplate.fromGguf(gguf, tokenizer);
        this.declaredPooling = Pooling.declaredBy(gguf);
        if (tokenizer.vocabSize() > config.vocabSize()) {
            throw new ModelLoadException(gguf.path() + ": the tokenizer has " + tokenizer.vocabSize()
                    + " tokens but the output layer only " + config.vocabSize());
        }
        String fileName = gguf.path().getFileName().toString();
        this.name = fileName.endsWith(".gguf") ? fileName.substring(0, fileName.length() - 5) : fileName;
    }

    /** Opens and checks a GGUF model file. */
    public static Model load(Path path) {
        GgufFile gguf = GgufFile.open(path);
        try {
            return new Model(gguf);
        } catch (RuntimeException e) {
            gguf.close();
            throw e;
        }
    }

    /** The file name without {@code .gguf}: the default name served to clients. */
    public String name() {
        return name;
    }

    public GgufFile gguf() {
        return gguf;
    }

    public LlamaConfig config() {
        return config;
    }

    public LlamaWeights weights() {
        return weights;
    }

    public Tokenizer tokenizer() {
        return tokenizer;
    }

    public ChatTemplate chatTemplate() {
        return chatTemplate;
    }

    /** How /v1/embeddings pools this model: what its GGUF declares, else the mean. */
    public Pooling pooling() {
        return declaredPooling != null ? declaredPooling : Pooling.MEAN;
    }

    /** Whether the GGUF says this is an embedding model (it declares a pooling type). */
    public boolean isEmbeddingModel() {
        return declaredPooling != null;
    }

    @Override
    public void close() {
        gguf.close();
    }
}
