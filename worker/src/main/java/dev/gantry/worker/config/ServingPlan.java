package dev.gantry.worker.config;

import dev.gantry.worker.backend.KvCacheDtype;
import dev.gantry.worker.engine.EngineConfig;
import dev.gantry.worker.model.llama.LlamaConfig;
import java.util.Locale;

/**
 * How a loaded model will be served: the settings combined with what the model and the memory allow.
 * Building one checks that the KV cache can hold at least one request of the full context, so
 * a worker that could never serve a long request fails at start rather than on the first one.
 *
 * @param settings        the checked settings it came from
 * @param servedModelName the name clients use in {@code model}
 * @param engine          the engine's limits, KV-cache blocks included
 * @param kvCacheBytes    memory the KV cache takes
 * @param kvCacheCapped   whether the fraction-of-heap default was lowered to what the engine can ever use
 */
public record ServingPlan(WorkerSettings settings, String servedModelName, EngineConfig engine, long kvCacheBytes,
        boolean kvCacheCapped) {

    /**
     * @param modelName     the model file's name, the default served name
     * @param freeHeapBytes Java heap still free with the model loaded
     * @throws InvalidConfigException naming the setting to change
     */
    public static ServingPlan of(WorkerSettings s, String modelName, LlamaConfig model, long freeHeapBytes) {
        return of(s, modelName, model, freeHeapBytes, false);
    }

    /**
     * @param modelName the model file's name, the default served name
     * @param freeBytes memory the KV cache can come from, with the model loaded: host memory
     *                  outside the Java heap ({@link HostMemory}), or with {@code onDevice} the GPU's free memory
     * @throws InvalidConfigException naming the setting to change
     */
    public static ServingPlan of(WorkerSettings s, String modelName, LlamaConfig model, long freeBytes,
            boolean onDevice) {
        long freeHeapBytes = freeBytes;
        String pool = onDevice ? "GPU memory" : "host memory outside the Java heap";
        String more = onDevice ? "a GPU with more memory"
                : "the memory limit, or lower the heap (-Xmx in GANTRY_JAVA_OPTS), or store less per token ("
                        + InvalidConfigException.describeKey("kv-cache-dtype") + " f16 or q8_0)";
        KvCacheDtype dtype = s.kvCacheDtype();
        String unsupported = dtype.unsupportedReason(model.headDim());
        if (unsupported != null) {
            throw InvalidConfigException.of("kv-cache-dtype", unsupported + ": use f16 or f32");
        }
        int modelContext = model.contextLength();
        int maxModelLen;
        if (s.maxModelLen().isPresent()) {
            maxModelLen = s.maxModelLen().get();
            if (modelContext > 0 && maxModelLen > modelContext) {
                throw InvalidConfigException.of("max-model-len", "is " + maxModelLen
                        + " but the model's context length is " + modelContext + ": use at most " + modelContext);
            }
        } else if (modelContext >= 2) {
            maxModelLen = modelContext;
        } else {
            throw InvalidConfigException.of("max-model-len", "must be set: the model does not give its context length");
        }

        int blockSize = s.blockSize();
        long bytesPerBlock = EngineConfig.bytesPerBlock(model, blockSize, dtype);
        int blocksPerRequest = ceilDiv(maxModelLen, blockSize);
        long kvBytes;
        boolean capped = false;
        if (s.kvCacheMemoryBytes().isPresent()) {
            kvBytes = s.kvCacheMemoryBytes().get();
            if (kvBytes > freeHeapBytes) {
                throw InvalidConfigException.of("kv-cache-memory", "is " + mib(kvBytes) + " but only " + mib(freeHeapBytes)
                        + " of " + pool + " is free: lower it, or use " + more);
            }
        } else {
            kvBytes = (long) (freeHeapBytes * s.kvCacheMemoryFraction());
            // Blocks beyond what max-num-seqs full-length requests can hold would sit unused on the
            // heap; the CPU backend shares that heap with everything else.
            long usable = (long) s.maxNumSeqs() * blocksPerRequest * bytesPerBlock;
            if (kvBytes > usable) {
                kvBytes = usable;
                capped = true;
            }
        }
        int blocks = EngineConfig.blocksFor(kvBytes, model, blockSize, dtype);
        if (blocks < blocksPerRequest) {
            throw new InvalidConfigException(String.format(Locale.ROOT,
                    "the KV cache (%s: %d blocks of %d tokens) cannot hold one request of max-model-len %d tokens,"
                            + " which needs %d blocks (%s): raise %s (or %s, or %s),"
                            + " or lower %s",
                    mib(kvBytes), blocks, blockSize, maxModelLen, blocksPerRequest, mib(blocksPerRequest * bytesPerBlock),
                    InvalidConfigException.describeKey("kv-cache-memory"),
                    InvalidConfigException.describeKey("kv-cache-memory-fraction"), more,
                    InvalidConfigException.describeKey("max-model-len")));
        }
        EngineConfig engine;
        try {
            engine = new EngineConfig(s.maxNumSeqs(), s.maxNumBatchedTokens(), blockSize, blocks, maxModelLen,
                    s.maxWaitingRequests(), s.prefixCaching(), dtype);
        } catch (IllegalArgumentException e) {
            throw new InvalidConfigException(e.getMessage());
        }
        return new ServingPlan(s, s.servedModelName().orElse(modelName), engine, blocks * bytesPerBlock, capped);
    }

    /** One paragraph for the start log: what is served, how, and within which limits. */
    public String describe() {
        EngineConfig e = engine;
        return String.format(Locale.ROOT,
                "serving model '%s' from %s; device %s, CPU backend %s, %d threads; max-model-len %d;"
                        + " KV cache %s (%s per token, %s of f32's) %d blocks x %d tokens = %d tokens in %s%s;"
                        + " max-num-seqs %d, max-num-batched-tokens %d, max-waiting-requests %d;"
                        + " prefix caching %s; request timeout %s; max request body %s; API key %s",
                servedModelName, settings.modelUri(), settings.device(), settings.backend(), settings.threads(), e.maxModelLen(),
                e.kvCacheDtype().label(), bytesPerToken(), String.format(Locale.ROOT, "%.2fx", sizeAgainstF32()),
                e.numBlocks(), e.blockSize(), (long) e.numBlocks() * e.blockSize(), mib(kvCacheBytes),
                settings.kvCacheMemoryBytes().isPresent() ? " (kv-cache-memory)"
                        : kvCacheCapped ? " (capped at what max-num-seqs requests of max-model-len can use)"
                        : " (" + settings.kvCacheMemoryFraction() + " of the free memory)",
                e.maxNumSeqs(), e.maxNumBatchedTokens(), e.maxWaiting(), e.prefixCaching() ? "on" : "off",
                settings.requestTimeout().map(Object::toString).orElse("none"), mib(settings.maxRequestBodyBytes()),
                settings.apiKey().isPresent() ? "required" : "not required");
    }

    /** Bytes one token takes in the KV cache (K and V, every layer). */
    private String bytesPerToken() {
        long perToken = kvCacheBytes / Math.max(1, (long) engine.numBlocks() * engine.blockSize());
        return perToken >= 1024 ? String.format(Locale.ROOT, "%.1f KiB", perToken / 1024.0) : perToken + " B";
    }

    /** Bytes per value of this plan's dtype against f32's: 1, 0.5 or 0.27 (f32 would hold this share of the tokens). */
    private double sizeAgainstF32() {
        return engine.kvCacheDtype().rowBytes(KvCacheDtype.Q8_BLOCK) / (double) KvCacheDtype.F32.rowBytes(KvCacheDtype.Q8_BLOCK);
    }

    private static int ceilDiv(int a, int b) {
        return (a + b - 1) / b;
    }

    static String mib(long bytes) {
        return String.format(Locale.ROOT, "%.1f MiB", bytes / (1024.0 * 1024.0));
    }
}
