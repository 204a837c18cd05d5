package dev.gantry.worker.cli;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code gantry serve}'s options. They are turned into configuration properties
 * ({@link #properties()}) for the Quarkus application that {@link ServeMain} starts; an option
 * left out sets nothing, so environment variables and {@code application.properties} still apply.
 * The defaults shown in the help are {@code WorkerConfig}'s.
 */
@Command(
        name = "serve",
        mixinStandardHelpOptions = true,
        versionProvider = GantryCli.Version.class,
        sortOptions = false,
        description = {
            "Serve a GGUF model over an OpenAI-compatible HTTP API: POST /v1/completions, POST /v1/chat/completions,"
                    + " GET /v1/models; health at /health/live and /health/ready, Prometheus metrics at /metrics.",
            ""
        },
        footer = {
            "",
            "Every option can also be set in the environment: --max-num-seqs is GANTRY_MAX_NUM_SEQS, --model is"
                    + " GANTRY_MODEL, --port is QUARKUS_HTTP_PORT, --host is QUARKUS_HTTP_HOST; an option given wins."
                    + " JVM flags (e.g. -Xmx16g for a larger KV cache) go in GANTRY_JAVA_OPTS. HF_TOKEN, HF_ENDPOINT"
                    + " and HF_HUB_OFFLINE apply to hf:// models. SIGTERM drains the requests in flight, then exits."
        })
public final class ServeCommand implements Callable<Integer> {

    @Option(names = {"-m", "--model"}, paramLabel = "PATH|URI", order = 1,
            description = "GGUF file, or hf://owner/repo[@revision]/file.gguf (downloaded once into the cache). Required.")
    String model;

    @Option(names = "--host", paramLabel = "ADDRESS", order = 2, description = "Address to listen on (default: 0.0.0.0).")
    String host;

    @Option(names = "--port", paramLabel = "PORT", order = 3, description = "HTTP port (default: 8000).")
    Integer port;

    @Option(names = "--served-model-name", paramLabel = "NAME", order = 4,
            description = "The model name clients use (default: the file name without .gguf).")
    String servedModelName;

    @Option(names = "--device", paramLabel = "auto|cpu|cuda", order = 5,
            description = "Where to compute: cuda (NVIDIA GPU 0), cpu, or auto: the GPU where a CUDA driver and GPU are present (default: auto).")
    String device;

    @Option(names = "--enforce-eager", order = 5,
            description = "On a GPU, launch every kernel by itself instead of replaying repeated decode steps as CUDA graphs.")
    Boolean enforceEager;

    @Option(names = "--backend", paramLabel = "NAME", order = 5,
            description = "The CPU backend: cpu (Vector API) or reference (scalar, slow) (default: cpu).")
    String backend;

    @Option(names = "--activations", paramLabel = "f32|q8|auto", order = 5,
            description = "Activations of quantized products: f32 (exact), q8 (8-bit, as llama.cpp's CPU backend) or auto (q8 for"
                    + " every quantized type but Q4_1: the native kernels; f32 for Q4_1 and float weights) (default: auto).")
    String activations;

    @Option(names = {"-t", "--threads"}, paramLabel = "N", order = 6, description = "CPU threads (default: all processors).")
    Integer threads;

    @Option(names = "--max-model-len", paramLabel = "TOKENS", order = 7,
            description = "Most tokens (prompt + completion) of one request (default: the model's context length).")
    Integer maxModelLen;

    @Option(names = "--max-num-seqs", paramLabel = "N", order = 8, description = "Most requests generating at once (default: 64).")
    Integer maxNumSeqs;

    @Option(names = "--max-num-batched-tokens", paramLabel = "TOKENS", order = 9,
            description = "Token budget of one engine step (default: 512).")
    Integer maxNumBatchedTokens;

    @Option(names = "--block-size", paramLabel = "TOKENS", order = 10, description = "KV-cache block size (default: 16).")
    Integer blockSize;

    @Option(names = "--kv-cache-memory", paramLabel = "SIZE", order = 11,
            description = "KV-cache memory, e.g. 2G (default: --kv-cache-memory-fraction of the free memory).")
    String kvCacheMemory;

    @Option(names = "--kv-cache-dtype", paramLabel = "auto|f32|f16|q8_0", order = 11,
            description = "How the KV cache stores K and V: f32, f16 (half the memory, twice the tokens) or q8_0"
                    + " (8-bit blocks as llama.cpp's -ctk q8_0: 3.8x the tokens of f32); f16 and q8_0 on the CPU only"
                    + " (default: auto, f32).")
    String kvCacheDtype;

    @Option(names = "--kv-cache-memory-fraction", paramLabel = "F", order = 12,
            description = "Share of the free memory for the KV cache, in (0, 1]: on the CPU host memory outside the Java heap,"
                    + " on a GPU its free memory (default: 0.5).")
    Double kvCacheMemoryFraction;

    @Option(names = "--enable-prefix-caching", negatable = true, order = 13,
            description = "Reuse the KV cache of shared prompt prefixes (default: on).")
    Boolean enablePrefixCaching;

    @Option(names = "--max-waiting-requests", paramLabel = "N", order = 14,
            description = "Requests queued before new ones get 429 (default: 1024).")
    Integer maxWaitingRequests;

    @Option(names = "--request-timeout", paramLabel = "DURATION", order = 15,
            description = "Cancel a request running longer, e.g. 120s (default: no limit).")
    String requestTimeout;

    @Option(names = "--api-key", paramLabel = "KEY", order = 16,
            description = "Require Authorization: Bearer KEY on /v1 (default: no key).")
    String apiKey;

    @Option(names = "--api-key-file", paramLabel = "FILE", order = 17, description = "Read the API key from a file.")
    String apiKeyFile;

    @Option(names = "--drain-timeout", paramLabel = "DURATION", order = 18,
            description = "On SIGTERM, how long requests in flight may finish (default: 30s).")
    String drainTimeout;

    @Option(names = "--max-request-body", paramLabel = "SIZE", order = 19, description = "Largest request body (default: 8M).")
    String maxRequestBody;

    @Option(names = "--response-cache", negatable = true, order = 20,
            description = "Cache responses to greedy and seeded requests (default: on).")
    Boolean responseCache;

    @Option(names = "--response-cache-redis-url", paramLabel = "URL", order = 21,
            description = "Share the response cache through Redis, e.g. redis://cache:6379 (default: none).")
    String responseCacheRedisUrl;

    @Option(names = "--termination-message-path", paramLabel = "FILE", order = 22,
            description = "Where a worker that cannot start writes why, as one line \"Reason: message\""
                    + " (default: /dev/termination-log, Kubernetes' file; skipped when its folder does not exist).")
    String terminationMessagePath;

    /** The options given, as configuration properties ({@code gantry.*}, {@code quarkus.http.*}). */
    public Map<String, String> properties() {
        Map<String, String> p = new LinkedHashMap<>();
        put(p, "gantry.model", model);
        put(p, "quarkus.http.host", host);
        put(p, "quarkus.http.port", port);
        put(p, "gantry.served-model-name", servedModelName);
        put(p, "gantry.device", device);
        put(p, "gantry.enforce-eager", enforceEager);
        put(p, "gantry.backend", backend);
        put(p, "gantry.activations", activations);
        put(p, "gantry.threads", threads);
        put(p, "gantry.max-model-len", maxModelLen);
        put(p, "gantry.max-num-seqs", maxNumSeqs);
        put(p, "gantry.max-num-batched-tokens", maxNumBatchedTokens);
        put(p, "gantry.block-size", blockSize);
        put(p, "gantry.kv-cache-memory", kvCacheMemory);
        put(p, "gantry.kv-cache-dtype", kvCacheDtype);
        put(p, "gantry.kv-cache-memory-fraction", kvCacheMemoryFraction);
        put(p, "gantry.enable-prefix-caching", enablePrefixCaching);
        put(p, "gantry.max-waiting-requests", maxWaitingRequests);
        put(p, "gantry.request-timeout", requestTimeout);
        put(p, "gantry.api-key", apiKey);
        put(p, "gantry.api-key-file", apiKeyFile);
        put(p, "gantry.drain-timeout", drainTimeout);
        put(p, "gantry.max-request-body", maxRequestBody);
        put(p, "gantry.response-cache.enabled", responseCache);
        put(p, "gantry.response-cache.redis-url", responseCacheRedisUrl);
        put(p, "gantry.termination-message-path", terminationMessagePath);
        return p;
    }

    private static void put(Map<String, String> p, String key, Object value) {
        if (value != null) {
            p.put(key, value.toString());
        }
    }

    /**
     * Reached only when {@code serve} is run through {@link GantryCli} on a plain classpath, where
     * the HTTP server cannot start: the launcher runs {@link ServeMain} in the packaged app instead.
     */
    @Override
    public Integer call() {
        System.err.println("error: 'serve' runs the packaged server: use ./gantry serve"
                + " (or java -jar worker/target/quarkus-app/quarkus-run.jar ...)");
        return 2;
    }
}
