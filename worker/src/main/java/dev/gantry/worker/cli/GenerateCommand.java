package dev.gantry.worker.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.gantry.worker.backend.ActivationPrecision;
import dev.gantry.worker.backend.Backend;
import dev.gantry.worker.backend.Backends;
import dev.gantry.worker.backend.KvCacheDtype;
import dev.gantry.worker.engine.Generator;
import dev.gantry.worker.model.Model;
import dev.gantry.worker.model.sample.SamplingParams;
import dev.gantry.worker.model.source.ModelLocator;
import dev.gantry.worker.model.tokenizer.ChatMessage;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code gantry generate}: one prompt in, text out, on this machine, without a server. */
@Command(
        name = "generate",
        mixinStandardHelpOptions = true,
        sortOptions = false,
        description = {
            "Generate text from a prompt with a GGUF model, streaming it to standard output.",
            "Sampling defaults follow llama.cpp's CLI; --temperature 0 is greedy."
        })
final class GenerateCommand implements Callable<Integer> {

    @Option(names = {"-m", "--model"}, required = true, paramLabel = "PATH|URI",
            description = "GGUF file, or hf://owner/repo/file.gguf (downloaded once into the cache).")
    String model;

    @Option(names = {"-p", "--prompt"}, defaultValue = "", description = "Prompt text; empty means BOS only (default: empty).")
    String prompt;

    @Option(names = "--chat", description = "Send the prompt as a user message through the model's chat template.")
    boolean chat;

    @Option(names = "--system", paramLabel = "TEXT", description = "System message (implies --chat).")
    String system;

    @Option(names = {"-n", "--max-tokens"}, defaultValue = "128", description = "Most tokens to generate (default: ${DEFAULT-VALUE}).")
    int maxTokens;

    @Option(names = "--temperature", defaultValue = "0.8", description = "0 = greedy (default: ${DEFAULT-VALUE}).")
    float temperature;

    @Option(names = "--top-k", defaultValue = "40", description = "0 = off (default: ${DEFAULT-VALUE}).")
    int topK;

    @Option(names = "--top-p", defaultValue = "0.95", description = "Nucleus mass, 1 = off (default: ${DEFAULT-VALUE}).")
    float topP;

    @Option(names = "--min-p", defaultValue = "0.05", description = "0 = off (default: ${DEFAULT-VALUE}).")
    float minP;

    @Option(names = "--repeat-penalty", defaultValue = "1.0", description = "1 = off (default: ${DEFAULT-VALUE}).")
    float repetitionPenalty;

    @Option(names = "--presence-penalty", defaultValue = "0", description = "-2..2 (default: ${DEFAULT-VALUE}).")
    float presencePenalty;

    @Option(names = "--frequency-penalty", defaultValue = "0", description = "-2..2 (default: ${DEFAULT-VALUE}).")
    float frequencyPenalty;

    @Option(names = "--seed", description = "Random seed; the same seed gives the same text.")
    Long seed;

    @Option(names = "--stop", paramLabel = "TEXT", description = "Stop before this text (repeatable).")
    List<String> stop = new ArrayList<>();

    @Option(names = "--ignore-eos", description = "Keep generating past the end-of-sequence token.")
    boolean ignoreEos;

    @Option(names = "--json", description = "Print one JSON object (token ids, text, usage, timings) instead of streaming text.")
    boolean json;

    @Option(names = "--enforce-eager",
            description = "On a GPU, launch every kernel by itself instead of replaying repeated decode steps as CUDA graphs.")
    boolean enforceEager;

    @Option(names = "--device", defaultValue = "auto",
            description = "cuda (NVIDIA GPU 0), cpu, or auto: the GPU where a CUDA driver and GPU are present (default: ${DEFAULT-VALUE}).")
    String device;

    @Option(names = "--backend", defaultValue = "cpu", description = "The CPU backend: cpu or reference (scalar, slow; default: ${DEFAULT-VALUE}).")
    String backend;

    @Option(names = "--activations", defaultValue = "auto", converter = ActivationsConverter.class,
            description = "Activations of quantized matrix products: f32 (exact), q8 (8-bit, as llama.cpp's CPU backend) or"
                    + " auto (q8 for every quantized type but Q4_1: the native kernels; f32 for Q4_1 and float weights; default: ${DEFAULT-VALUE}).")
    ActivationPrecision activations;

    @Option(names = {"-t", "--threads"}, defaultValue = "0", description = "CPU threads, 0 = all cores (default: ${DEFAULT-VALUE}).")
    int threads;

    @Option(names = {"-c", "--ctx-size"}, defaultValue = "4096",
            description = "Context length, capped at the model's (default: ${DEFAULT-VALUE}).")
    int ctxSize;

    @Option(names = {"-b", "--batch-size"}, defaultValue = "512", description = "Prompt tokens per forward pass (default: ${DEFAULT-VALUE}).")
    int batchSize;

    @Option(names = "--block-size", defaultValue = "16", description = "KV-cache block size in tokens (default: ${DEFAULT-VALUE}).")
    int blockSize;

    @Option(names = "--kv-cache-dtype", defaultValue = "auto", converter = KvCacheDtypeConverter.class,
            description = "How the KV cache stores K and V: f32, f16 or q8_0 (llama.cpp's -ctk/-ctv); auto = f32 (default: ${DEFAULT-VALUE}).")
    KvCacheDtype kvCacheDtype;

    @Override
    public Integer call() throws Exception {
        PrintStream err = System.err;
        Path path = ModelLocator.fromEnvironment().resolve(model);
        SamplingParams params = SamplingParams.defaults()
                .withTemperature(temperature)
                .withTopK(topK)
                .withTopP(topP)
                .withMinP(minP)
                .withRepetitionPenalty(repetitionPenalty)
                .withPresencePenalty(presencePenalty)
                .withFrequencyPenalty(frequencyPenalty)
                .withSeed(seed)
                .withMaxTokens(maxTokens)
                .withStop(stop)
                .withIgnoreEos(ignoreEos);
        params.validate();
        if (blockSize <= 0 || batchSize <= 0 || ctxSize <= 0) {
            throw new IllegalArgumentException("--ctx-size, --batch-size and --block-size must be positive");
        }

        long loadStart = System.nanoTime();
        try (Model m = Model.load(path); Backend be = Backends.open(device, !enforceEager, backend, threads, activations, err::println)) {
            be.prepare(m.weights().all());
            int context = Math.min(ctxSize, m.config().contextLength());
            err.printf("gantry: %s (%s), %s backend, context %d, loaded in %d ms%n", path.getFileName(), m.config(), be.name(),
                    context, (System.nanoTime() - loadStart) / 1_000_000);
            checkKvCacheDtype(kvCacheDtype, be, m.config().headDim());
            int[] promptIds = tokenize(m);
            try (Generator g = new Generator(m, be, context, blockSize, Math.min(batchSize, context), kvCacheDtype)) {
                Generator.Result r = g.generate(promptIds, params, text -> {
                    if (!json) {
                        System.out.print(text);
                        System.out.flush();
                    }
                });
                double prefillMs = r.prefillNanos() / 1e6;
                double decodeMs = r.decodeNanos() / 1e6;
                if (json) {
                    System.out.println(toJson(m, r, prefillMs, decodeMs));
                } else {
                    System.out.println();
                    // The first token comes with the prompt's passes; decoding is the tokens after it.
                    err.printf("gantry: prompt %d tokens in %.0f ms (%.1f tok/s), generated %d tokens, the first with the"
                            + " prompt and %d more in %.0f ms (%.1f tok/s), finish: %s%n", r.promptTokens().length, prefillMs,
                            r.promptTokens().length / (prefillMs / 1000), r.tokens().length, decoded(r), decodeMs,
                            decoded(r) / Math.max(decodeMs / 1000, 1e-9), r.finishReason());
                }
            }
        }
        return 0;
    }

    private int[] tokenize(Model m) {
        var tok = m.tokenizer();
        if (chat || system != null) {
            List<ChatMessage> messages = new ArrayList<>();
            if (system != null) {
                messages.add(new ChatMessage("system", system));
            }
            messages.add(new ChatMessage("user", prompt));
            String rendered = m.chatTemplate().render(messages, true);
            return tok.encode(rendered, tok.addBosByDefault() && !rendered.startsWith(tok.piece(tok.bosId())), true);
        }
        if (prompt.isEmpty()) {
            return new int[] {tok.bosId()};
        }
        return tok.encode(prompt, tok.addBosByDefault(), true);
    }

    private String toJson(Model m, Generator.Result r, double prefillMs, double decodeMs) throws Exception {
        Map<String, Object> o = new LinkedHashMap<>();
        o.put("model", m.name());
        o.put("prompt", prompt);
        o.put("prompt_token_ids", r.promptTokens());
        o.put("token_ids", r.tokens());
        o.put("text", r.text());
        o.put("finish_reason", r.finishReason());
        o.put("usage", Map.of(
                "prompt_tokens", r.promptTokens().length,
                "completion_tokens", r.tokens().length,
                "total_tokens", r.promptTokens().length + r.tokens().length));
        Map<String, Object> timings = new LinkedHashMap<>();
        timings.put("prefill_ms", Math.round(prefillMs * 100) / 100.0);
        timings.put("decode_ms", Math.round(decodeMs * 100) / 100.0);
        timings.put("decode_tokens_per_second", decoded(r) == 0 ? 0 : Math.round(decoded(r) / (decodeMs / 1000) * 100) / 100.0);
        o.put("timings", timings);
        return new ObjectMapper().disable(SerializationFeature.FAIL_ON_EMPTY_BEANS).writeValueAsString(o);
    }

    /** Tokens generated after the first, which comes with the prompt's forward passes. */
    private static int decoded(Generator.Result r) {
        return Math.max(0, r.tokens().length - 1);
    }

    /** Accepts f32/q8/auto in any case. */
    /** Refuses a KV-cache dtype the backend or the model's heads cannot take, saying why. */
    static void checkKvCacheDtype(KvCacheDtype dtype, Backend be, int headDim) {
        if (!be.kvCacheDtypes().contains(dtype)) {
            throw new IllegalArgumentException("--kv-cache-dtype " + dtype.label() + ": the " + be.name()
                    + " backend stores the KV cache as " + be.kvCacheDtypes().stream().map(KvCacheDtype::label).toList() + " only");
        }
        String why = dtype.unsupportedReason(headDim);
        if (why != null) {
            throw new IllegalArgumentException("--kv-cache-dtype " + dtype.label() + ": " + why);
        }
    }

    static final class KvCacheDtypeConverter implements picocli.CommandLine.ITypeConverter<KvCacheDtype> {
        @Override
        public KvCacheDtype convert(String value) {
            try {
                return KvCacheDtype.parse(value);
            } catch (IllegalArgumentException e) {
                throw new picocli.CommandLine.TypeConversionException(e.getMessage() + " (auto, f32, f16 or q8_0)");
            }
        }
    }

    static final class ActivationsConverter implements picocli.CommandLine.ITypeConverter<ActivationPrecision> {
        @Override
        public ActivationPrecision convert(String value) {
            try {
                return ActivationPrecision.parse(value);
            } catch (IllegalArgumentException e) {
                throw new picocli.CommandLine.TypeConversionException(e.getMessage());
            }
        }
    }
}
