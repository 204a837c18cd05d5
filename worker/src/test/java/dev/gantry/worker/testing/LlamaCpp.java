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

    /**
     * llama.cpp's greedy continuation of one prompt. logits: [tokens.length][vocab], computed one
     * token at a time after the prompt, as generation does; oneBatchLogits: the same positions
     * computed with prompt and tokens in one batch (see llamacpp_reference.py).
     */
    public record Continuation(int[] tokens, float[][] logits, float[][] oneBatchLogits) {}

    /**
     * How llama.cpp is compiled: for this CPU ({@code -march=native}, ggml's default), but without
     * AMX. On CPUs that have it (Sapphire Rapids and later) ggml's AMX kernels take over the
     * quantized products of multi-token batches, and they compute them otherwise than its plain
     * CPU path (its own generation parts from the plain path's within 32 tokens of SmolLM2), which
     * is the one these tests hold us to. The flags override what -march=native implies.
     */
    static final String CMAKE_ARGS = "-DCMAKE_C_FLAGS='-mno-amx-tile -mno-amx-int8 -mno-amx-bf16'"
            + " -DCMAKE_CXX_FLAGS='-mno-amx-tile -mno-amx-int8 -mno-amx-bf16'";

    /** The venv's python, creating the venv and building llama-cpp-python on first use. */
    public static synchronized Path python() {
        Path venv = TestModels.cacheDir().resolve("llamacpp-venv");
        Path python = venv.resolve("bin/python");
        Path stamp = venv.resolve("gantry-build.txt"); // what the venv was built with
        String build = PACKAGE + " " + GGUF_PY + " CMAKE_ARGS=" + CMAKE_ARGS;
        if (Files.isExecutable(python) && build.equals(read(stamp))
                && run(List.of(python.toString(), "-c", "import llama_cpp, numpy, gguf"), 60) == 0) {
            return python;
        }
        String system = System.getenv().getOrDefault("PYTHON", "python3");
        check(run(List.of(system, "-m", "venv", "--clear", venv.toString()), 300), "python3 -m venv " + venv);
        check(run(List.of(python.toString(), "-m", "pip", "install", "--quiet", "--no-cache-dir", "numpy", GGUF_PY, PACKAGE),
                Map.of("CMAKE_ARGS", CMAKE_ARGS), 3600),
                "pip install " + PACKAGE + " (builds llama.cpp from source: needs cmake and a C++ compiler)");
        try {
            Files.writeString(stamp, build);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        return python;
    }

    private static String read(Path file) {
        try {
            return Files.readString(file);
        } catch (IOException e) {
            return null;
        }
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
                result.add(new Continuation(tokens, readRows(Path.of(prefix + "." + i + ".f32"), tokens.length, vocab),
                        readRows(Path.of(prefix + "." + i + ".batch.f32"), tokens.length, vocab)));
            }
            return result;
        } catch (IOException e) {
            throw new IllegalStateException("llama.cpp reference failed", e);
        }
    }

    /**
     * Runs llamacpp_logprobs.py: llama-cpp-python's own completion log-probabilities for a
     * request file (see the script); its JSON output.
     */
    public static JsonNode logprobs(Path model, Path request) {
        return runJson("llamacpp_logprobs.py", model, request);
    }

    /** Runs llamacpp_embeddings.py: llama.cpp's mean-pooled, normalised embeddings of the texts in a JSON file. */
    public static JsonNode embeddings(Path model, Path texts) {
        return runJson("llamacpp_embeddings.py", model, texts);
    }

    /** Runs one of the llama-cpp-python scripts with (model, input file); its JSON output. */
    private static JsonNode runJson(String script, Path model, Path input) {
        try {
            Path out = Files.createTempFile("llamacpp", ".json");
            ProcessBuilder b = new ProcessBuilder(python().toString(), script(script).toString(),
                    model.toString(), input.toString()).redirectOutput(out.toFile()).redirectError(ProcessBuilder.Redirect.INHERIT);
            Process p = b.start();
            if (!p.waitFor(600, TimeUnit.SECONDS) || p.exitValue() != 0) {
                p.destroyForcibly();
                throw new IllegalStateException(script + " failed");
            }
            return new ObjectMapper().readTree(out.toFile());
        } catch (IOException e) {
            throw new IllegalStateException(script + " failed", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private static float[][] readRows(Path file, int rows, int cols) throws IOException {
        ByteBuffer bytes = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
        float[][] out = new float[rows][cols];
        for (float[] row : out) {
            bytes.asFloatBuffer().get(row);
            bytes.position(bytes.position() + 4 * cols);
        }
        return out;
    }

    /** One tensor of llama.cpp's graph: {@code rows} rows of {@code cols} values (ggml's ne[0]), row-major. */
    public record Tensor(int rows, int cols, float[] values) {}

    /**
     * The intermediate tensors llama.cpp computes when it runs {@code tokens} through {@code model}
     * in one batch, by graph node name ({@code attn_norm-0}, {@code Qcur-0}, ..., {@code
     * result_output}; see llamacpp_tensors.py). Its last layer computes only the last token's row
     * after attention, as do the final norm and logits.
     */
    public static Map<String, Tensor> tensors(Path model, int[] tokens) {
        try {
            Path dir = Files.createTempDirectory("llamacpp-tensors");
            Path request = dir.resolve("request.json");
            ObjectMapper json = new ObjectMapper();
            json.writeValue(request.toFile(), Map.of("tokens", tokens));
            String prefix = dir.resolve("out").toString();
            check(run(List.of(python().toString(), script("llamacpp_tensors.py").toString(), model.toString(),
                    request.toString(), prefix), 900), "llamacpp_tensors.py");
            Map<String, Tensor> result = new java.util.HashMap<>();
            var fields = json.readTree(Path.of(prefix + ".json").toFile()).get("tensors").properties();
            for (var e : fields) {
                int rows = e.getValue().get("rows").asInt();
                int cols = e.getValue().get("cols").asInt();
                float[] values = new float[rows * cols];
                ByteBuffer.wrap(Files.readAllBytes(Path.of(e.getValue().get("file").asText())))
                        .order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(values);
                result.put(e.getKey(), new Tensor(rows, cols, values));
            }
            return result;
        } catch (IOException e) {
            throw new IllegalStateException("llama.cpp tensor dump failed", e);
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

    /**
     * {@code model} quantized by llama.cpp's own quantizer to the file type {@code ftype}
     * (LLAMA_FTYPE_*: 15 Q4_K_M, 17 Q5_K_M) from its F32 copy, made once and cached as
     * {@code <model>.<suffix>.gguf}.
     */
    public static synchronized Path quantized(Path model, int ftype, String suffix) {
        Path f32 = dequantizedToF32(model);
        String name = model.getFileName().toString().replace(".gguf", "") + "." + suffix + ".gguf";
        Path target = TestModels.cacheDir().resolve("models").resolve(name);
        if (!Files.exists(target)) {
            Path part = target.resolveSibling(name + ".part");
            check(run(List.of(python().toString(), script("quantize_model.py").toString(), f32.toString(), part.toString(),
                    Integer.toString(ftype)), 900), "quantize_model.py");
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
        return run(command, Map.of(), timeoutSeconds);
    }

    private static int run(List<String> command, Map<String, String> env, int timeoutSeconds) {
        try {
            ProcessBuilder b = new ProcessBuilder(command).inheritIO();
            b.environment().putAll(env);
            Process p = b.start();
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
