package dev.gantry.worker.config;

import dev.gantry.worker.backend.ActivationPrecision;
import dev.gantry.worker.backend.Backends;
import dev.gantry.worker.backend.KvCacheDtype;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;

/**
 * {@link WorkerConfig} checked and resolved as far as it can be without the model: defaults that
 * depend on the machine filled in, the API key read from its file. What depends on the model (its
 * context length, the KV-cache size) is {@link ServingPlan}'s.
 *
 * @param modelUri             the model path or URI, as given
 * @param servedModelName      the name given, or empty for the model file's name
 * @param device               a name from {@link Backends#DEVICES}
 * @param cudaGraphs           replay repeated decode steps as CUDA graphs (not {@code --enforce-eager})
 * @param backend              a name from {@link Backends#NAMES}, the CPU backend
 * @param threads              CPU threads, at least 1
 * @param maxModelLen          the context length asked for, or empty for the model's
 * @param kvCacheMemoryBytes   KV-cache bytes asked for, or empty to use {@code kvCacheMemoryFraction}
 * @param kvCacheDtype         how the KV cache stores values
 * @param apiKey               the key clients must present, or empty for none
 * @param requestTimeout       how long a request may run, or empty for no limit
 * @param maxRequestBodyBytes  the largest request body accepted
 */
public record WorkerSettings(
        String modelUri,
        Optional<String> servedModelName,
        String device,
        boolean cudaGraphs,
        String backend,
        ActivationPrecision activations,
        int threads,
        Optional<Integer> maxModelLen,
        int maxNumSeqs,
        int maxNumBatchedTokens,
        int blockSize,
        Optional<Long> kvCacheMemoryBytes,
        KvCacheDtype kvCacheDtype,
        double kvCacheMemoryFraction,
        boolean prefixCaching,
        int maxWaitingRequests,
        Optional<Duration> requestTimeout,
        Optional<String> apiKey,
        Duration drainTimeout,
        long maxRequestBodyBytes) {

    /** The engine's own bound (EngineConfig); checked here too so that the message names the setting. */
    static final int MAX_BLOCK_SIZE = 1024;

    /**
     * Checks every setting and fills in the machine-dependent defaults.
     *
     * @throws InvalidConfigException naming the first bad key
     */
    public static WorkerSettings resolve(WorkerConfig c) {
        String model = c.model().map(String::strip).filter(s -> !s.isEmpty()).orElseThrow(() ->
                InvalidConfigException.of("model", "is required: name a GGUF file or an hf://owner/repo/file.gguf URI"));
        Optional<String> served = c.servedModelName().map(String::strip);
        if (served.isPresent() && served.get().isEmpty()) {
            throw InvalidConfigException.of("served-model-name", "must not be blank");
        }
        if (!Backends.DEVICES.contains(c.device())) {
            throw InvalidConfigException.of("device", "must be one of " + Backends.DEVICES + ", got '" + c.device() + "'");
        }
        if (!Backends.NAMES.contains(c.backend())) {
            throw InvalidConfigException.of("backend", "must be one of " + Backends.NAMES + ", got '" + c.backend() + "'");
        }
        ActivationPrecision activations;
        try {
            activations = ActivationPrecision.parse(c.activations());
        } catch (IllegalArgumentException e) {
            throw InvalidConfigException.of("activations", "must be f32, q8 or auto, got '" + c.activations() + "'");
        }
        if (activations == ActivationPrecision.Q8 && c.device().equals("cuda")) {
            throw InvalidConfigException.of("activations", "q8 is a CPU backend setting: the CUDA backend computes with f32 activations");
        }
        int threads = c.threads().orElse(Runtime.getRuntime().availableProcessors());
        atLeast("threads", threads, 1);
        if (c.maxModelLen().isPresent()) {
            atLeast("max-model-len", c.maxModelLen().getAsInt(), 2);
        }
        atLeast("max-num-seqs", c.maxNumSeqs(), 1);
        atLeast("max-num-batched-tokens", c.maxNumBatchedTokens(), 1);
        atLeast("block-size", c.blockSize(), 1);
        if (c.blockSize() > MAX_BLOCK_SIZE) {
            throw InvalidConfigException.of("block-size", "must be at most " + MAX_BLOCK_SIZE + ", got " + c.blockSize());
        }
        Optional<Long> kvBytes = c.kvCacheMemory().map(m -> m.asLongValue());
        if (kvBytes.isPresent() && kvBytes.get() <= 0) {
            throw InvalidConfigException.of("kv-cache-memory", "must be positive, got " + kvBytes.get() + " bytes");
        }
        KvCacheDtype kvDtype;
        try {
            kvDtype = KvCacheDtype.parse(c.kvCacheDtype());
        } catch (IllegalArgumentException e) {
            throw InvalidConfigException.of("kv-cache-dtype", "must be auto, f32, f16 or q8_0, got '" + c.kvCacheDtype() + "'");
        }
        if (kvDtype != KvCacheDtype.F32 && c.device().equals("cuda")) {
            throw InvalidConfigException.of("kv-cache-dtype", kvDtype.label()
                    + " is a CPU backend setting: the CUDA backend stores the KV cache as f32");
        }
        double fraction = c.kvCacheMemoryFraction();
        if (!(fraction > 0 && fraction <= 1)) {
            throw InvalidConfigException.of("kv-cache-memory-fraction", "must be in (0, 1], got " + fraction);
        }
        atLeast("max-waiting-requests", c.maxWaitingRequests(), 1);
        if (c.requestTimeout().isPresent() && !c.requestTimeout().get().isPositive()) {
            throw InvalidConfigException.of("request-timeout", "must be positive, got " + c.requestTimeout().get());
        }
        if (c.drainTimeout().isNegative()) {
            throw InvalidConfigException.of("drain-timeout", "must not be negative, got " + c.drainTimeout());
        }
        long maxBody = c.maxRequestBody().asLongValue();
        if (maxBody < 1024) {
            throw InvalidConfigException.of("max-request-body", "must be at least 1K, got " + maxBody + " bytes");
        }
        checkResponseCache(c.responseCache());
        return new WorkerSettings(model, served, c.device(), !c.enforceEager(), c.backend(), activations, threads,
                c.maxModelLen().isPresent() ? Optional.of(c.maxModelLen().getAsInt()) : Optional.empty(),
                c.maxNumSeqs(), c.maxNumBatchedTokens(), c.blockSize(), kvBytes, kvDtype, fraction, c.enablePrefixCaching(),
                c.maxWaitingRequests(), c.requestTimeout(), apiKey(c), c.drainTimeout(), maxBody);
    }

    private static Optional<String> apiKey(WorkerConfig c) {
        if (c.apiKey().isPresent() && c.apiKeyFile().isPresent()) {
            throw new InvalidConfigException("set only one of " + InvalidConfigException.describeKey("api-key")
                    + " and " + InvalidConfigException.describeKey("api-key-file"));
        }
        if (c.apiKey().isPresent()) {
            String key = c.apiKey().get().strip();
            if (key.isEmpty()) {
                throw InvalidConfigException.of("api-key", "must not be blank");
            }
            return Optional.of(key);
        }
        if (c.apiKeyFile().isEmpty()) {
            return Optional.empty();
        }
        Path file = c.apiKeyFile().get();
        String key;
        try {
            key = Files.readString(file).strip();
        } catch (IOException e) {
            throw InvalidConfigException.of("api-key-file", "cannot be read: " + file + " (" + e.getMessage() + ")");
        }
        if (key.isEmpty()) {
            throw InvalidConfigException.of("api-key-file", "names an empty file: " + file);
        }
        return Optional.of(key);
    }

    private static void checkResponseCache(WorkerConfig.ResponseCache rc) {
        atLeast("response-cache.max-bytes", rc.maxBytes().asLongValue(), 1);
        atLeast("response-cache.max-entries", rc.maxEntries(), 1);
        if (rc.maxEntryBytes().asLongValue() < 1) {
            throw InvalidConfigException.of("response-cache.max-entry-bytes", "must be positive");
        }
        if (!rc.ttl().isPositive()) {
            throw InvalidConfigException.of("response-cache.ttl", "must be positive, got " + rc.ttl());
        }
        if (!rc.timeout().isPositive()) {
            throw InvalidConfigException.of("response-cache.timeout", "must be positive, got " + rc.timeout());
        }
        if (rc.redisUrl().isPresent() && !rc.redisUrl().get().matches("(?i)rediss?://.+")) {
            throw InvalidConfigException.of("response-cache.redis-url",
                    "must look like redis://host:6379 or rediss://host:6380, got '" + rc.redisUrl().get() + "'");
        }
    }

    private static void atLeast(String key, long value, long min) {
        if (value < min) {
            throw InvalidConfigException.of(key, "must be at least " + min + ", got " + value);
        }
    }
}
