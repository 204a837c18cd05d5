package dev.gantry.worker.config;

import io.quarkus.runtime.configuration.MemorySize;
import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * Everything {@code gantry serve} can be told, under the {@code gantry.} prefix. Each key can also
 * be set as an environment variable ({@code gantry.max-num-seqs} is {@code GANTRY_MAX_NUM_SEQS}) or
 * as a {@code ./gantry serve} option of the same name ({@code --max-num-seqs}).
 *
 * <p>Values are checked together at start by {@link WorkerSettings#resolve}, which names the key
 * of the first bad one; this interface only declares them and their defaults.
 */
@ConfigMapping(prefix = "gantry")
public interface WorkerConfig {

    /** The GGUF model to serve: a file path, {@code file:///...} or {@code hf://owner/repo[@revision]/file.gguf}. Required. */
    Optional<String> model();

    /** The name clients put in {@code model}; default: the model file's name without {@code .gguf}. */
    Optional<String> servedModelName();

    /**
     * Where to compute: {@code cuda} (an NVIDIA GPU, device 0), {@code cpu}, or {@code auto}: CUDA
     * where a driver and a GPU are present, else the CPU.
     */
    @WithDefault("auto")
    String device();

    /**
     * Launch every CUDA kernel by itself instead of replaying repeated decode steps as CUDA graphs
     * (vLLM's option of the same name); for comparing the two, or should a driver refuse graphs.
     */
    @WithDefault("false")
    boolean enforceEager();

    /** The CPU backend, when computing on the CPU: {@code cpu} (Vector API, many threads) or {@code reference} (scalar, one thread, for checking). */
    @WithDefault("cpu")
    String backend();

    /**
     * Activations of products with quantized weights: {@code f32} multiplies them exactly, {@code q8}
     * rounds them to 8 bits per block first, as llama.cpp's CPU backend does, {@code auto} does so
     * for the types the native kernels multiply (see {@link dev.gantry.worker.backend.ActivationPrecision}).
     */
    @WithDefault("auto")
    String activations();

    /** CPU threads of the {@code cpu} backend; default: one per available processor. */
    OptionalInt threads();

    /** The most tokens (prompt + completion) of one request; default: the model's context length. */
    OptionalInt maxModelLen();

    /** The most requests generating at once (each holding KV-cache blocks). */
    @WithDefault("64")
    int maxNumSeqs();

    /** The token budget of one engine step, shared by prompt chunks and decode tokens. */
    @WithDefault("512")
    int maxNumBatchedTokens();

    /** KV-cache block size in tokens. */
    @WithDefault("16")
    int blockSize();

    /**
     * KV-cache memory (e.g. {@code 2G}); default: {@link #kvCacheMemoryFraction()} of the memory
     * still free once the model is loaded: on the CPU, host memory outside the Java heap (the
     * cache lives off the heap, {@link HostMemory}); on a GPU, its free memory.
     */
    Optional<MemorySize> kvCacheMemory();

    /**
     * How the KV cache stores K and V: {@code f32}, {@code f16} (half the memory) or {@code q8_0}
     * (ggml's 8-bit blocks, 34 bytes per 32 values), or {@code auto} (f32). CPU only for f16/q8_0.
     */
    @WithDefault("auto")
    String kvCacheDtype();

    /** The share of the free memory the KV cache takes when {@link #kvCacheMemory()} is not set, in (0, 1]. */
    @WithDefault("0.5")
    double kvCacheMemoryFraction();

    /** Reuse the K/V of prompt prefixes that earlier requests computed. */
    @WithDefault("true")
    boolean enablePrefixCaching();

    /** Requests queued beyond those running before new ones are refused with 429. */
    @WithDefault("1024")
    int maxWaitingRequests();

    /** Cancel a request that runs longer than this (queue time included); default: no limit. */
    Optional<Duration> requestTimeout();

    /** When set, {@code /v1/*} requests must carry {@code Authorization: Bearer <key>}. */
    Optional<String> apiKey();

    /** A file holding the API key (surrounding whitespace trimmed): the way to pass a Kubernetes secret. */
    Optional<Path> apiKeyFile();

    /** On SIGTERM, how long requests in flight may run on before they are aborted. */
    @WithDefault("30s")
    Duration drainTimeout();

    /** The largest request body accepted; larger ones get 413. */
    @WithDefault("8M")
    MemorySize maxRequestBody();

    /**
     * Where a worker that cannot start writes why before it exits 1: one line
     * {@code <Reason>: <message>} (see {@code api.StartFailure}), which Kubernetes shows as the
     * container's termination message. Kubernetes' default file; nothing is written when its
     * folder does not exist, nor a new file under {@code /dev}.
     */
    @WithDefault("/dev/termination-log")
    Path terminationMessagePath();

    /** Caching of whole non-streaming responses to repeatable (greedy or seeded) requests. */
    ResponseCache responseCache();

    /** {@code gantry.response-cache.*}: the response cache's bounds and its optional shared tier. */
    interface ResponseCache {

        /** Whether responses are cached at all. */
        @WithDefault("true")
        boolean enabled();

        /** The most memory the in-process tier uses. */
        @WithDefault("64M")
        MemorySize maxBytes();

        /** The most responses the in-process tier keeps. */
        @WithDefault("10000")
        int maxEntries();

        /** Responses larger than this are not cached. */
        @WithDefault("1M")
        MemorySize maxEntryBytes();

        /** How long a cached response stays valid. */
        @WithDefault("10m")
        Duration ttl();

        /** A Redis server shared by the workers of one deployment ({@code redis://host:6379}); default: none. */
        Optional<String> redisUrl();

        /** The longest a Redis lookup may take before the request goes to the engine instead. */
        @WithDefault("200ms")
        Duration timeout();
    }
}
