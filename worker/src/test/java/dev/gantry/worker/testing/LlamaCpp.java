package dev.gantry.worker.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * llama.cpp as a reference, through its Python binding {@code llama-cpp-python}, built from the
 * PyPI source distribution into a virtual environment cached outside the repository (the first
 * build takes a few minutes on two cores). Tests hand it token ids and get back its greedy
 * continuation and the logits behind every choice.
 */
public final class LlamaCpp {
    public static final String PACKAGE = "llama-cpp-python==0.3.16";
    /** ggml's own GGUF reader and writer, for the F32 copy. */
    public static final String GGUF_PY = "gguf==0.17.1";

    private LlamaCpp() {}

    /** llama.cpp's greedy continuation of one prompt. logits: [tokens.length][vocab]. */
    public record Continuation(int[] tokens, float[][] logits) {}

    /** The venv's python, creating the venv and building llama-cpp-python on first use. */
    public static synchronized Path python() {
        Path venv = TestModels.cacheDir().resolve("llamacpp-venv");
        Path python = venv.resolve("bin/python");
        if (Files.isExecutable(python) && run(List.of(python.toString(), "-c", "import llama_cpp, numpy, gguf"), 60) == 0) {
            return python;
        }
        String system = System.getenv().getOrDefault("PYTHON", "python3");
        check(run(List.of(system, "-m", "venv", venv.toString()), 300), "python3 -m venv " + venv);
        check(run(List.of(python.toString(), "-m", "pip", "install", "--quiet", "numpy", GGUF_PY, PACKAGE), 3600),
                "pip install " + PACKAGE + " (builds llama.cpp from source: needs cmake and a C++ compiler)");
        return python;
    }

    /** Greedy-decodes {@code maxTokens} tokens after each prompt with llama.cpp. */
    public static List<Continuation> greedy(Path model, List<int[]> prompts, int maxTokens) {
        try {
            Path dir = Files.createTempDirectory("llamacpp-ref");
            Path request = dir.resolve("request.json");
            ObjectMapper json = new ObjectMapper();
            json.writeValue(request.toFile(), Map.of("prompts", prompts, "max_tokens", maxTokens));
            Path script = script("llamacpp_reference.py");
            String prefix = dir.resolve("out").toString();
            check(run(List.of(python().toString(), script.toString(), model.toString(), request.toString(), prefix), 900),
                    "llamacpp_reference.py");
            JsonNode out = json.readTree(Path.of(prefix + ".json").toFile());
            int vocab = out.get("n_vocab").asInt();
            List<Continuation> result = new ArrayList<>();
            for (int i = 0; i < prompts.size(); i++) {
                JsonNode toks = out.get("results").get(i).get("tokens");
                int[] tokens = new int[toks.size()];
                for (int t = 0; t < tokens.length; t++) {
                    tokens[t] = toks.get(t).asInt();
                }
                ByteBuffer bytes = ByteBuffer.wrap(Files.readAllBytes(Path.of(prefix + "." + i + ".f32"))).order(ByteOrder.LITTLE_ENDIAN);
                float[][] logits = new float[tokens.length][vocab];
                for (float[] row : logits) {
                    bytes.asFloatBuffer().get(row);
                    bytes.position(bytes.position() + 4 * vocab);
                }
                result.add(new Continuation(tokens, logits));
            }
            return result;
        } catch (IOException e) {
            throw new IllegalStateException("llama.cpp reference failed", e);
        }
    }

    /** A copy of {@code model} with every tensor dequantized to F32, made once and cached. */
    public static synchronized Path dequantizedToF32(Path model) {
        String name = model.getFileName().toString().replace(".gguf", "") + ".F32.gguf";
        Path target = TestModels.cacheDir().resolve("models").resolve(name);
        if (!Files.exists(target)) {
            Path part = target.resolveSibling(name + ".part");
            check(run(List.of(python().toString(), script("dequantize_to_f32.py").toString(), model.toString(), part.toString()), 900),
                    "dequantize_to_f32.py");
            try {
                Files.move(part, target);
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        }
        return target;
    }

    private static Path script(String name) {
        Path script = Path.of(System.getProperty("gantry.repo.root", ".."), "worker/src/test/python", name);
        return Files.exists(script) ? script : Path.of("src/test/python", name);
    }

    private static void check(int exit, String what) {
        if (exit != 0) {
            throw new IllegalStateException(what + " failed with exit code " + exit);
        }
    }

    private static int run(List<String> command, int timeoutSeconds) {
        try {
            Process p = new ProcessBuilder(command).inheritIO().start();
            if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return -1;
            }
            return p.exitValue();
        } catch (IOException e) {
            return -2;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return -3;
        }
    }
}
