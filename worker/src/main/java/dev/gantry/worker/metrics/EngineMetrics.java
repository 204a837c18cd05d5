package dev.gantry.worker.metrics;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.Arrays;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;

/**
 * The engine's metrics under vLLM's names and meanings, so dashboards, KEDA/prometheus-adapter
 * rules and inference-gateway scorers written for vLLM work unchanged. Every meter carries the
 * label {@code model_name}. Micrometer appends {@code _total} to counters, so they are registered
 * without it.
 */
public final class EngineMetrics {
    // vLLM's bucket boundaries, in seconds.
    private static final double[] TTFT_BUCKETS = {0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75,
        1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0, 160.0, 640.0, 2560.0};
    private static final double[] ITL_BUCKETS = {0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0,
        2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0};
    private static final double[] REQUEST_BUCKETS = {0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0,
        40.0, 50.0, 60.0, 120.0, 240.0, 480.0, 960.0, 1920.0, 7680.0};

    private final MeterRegistry registry;
    private final Tags tags;
    private final Counter promptTokens;
    private final Counter generationTokens;
    private final Counter preemptions;
    private final Counter prefixQueries;
    private final Counter prefixHits;
    private final Timer timeToFirstToken;
    private final Timer interTokenLatency;
    private final Timer e2eLatency;
    private final Timer queueTime;
    private final Map<String, Counter> success = new ConcurrentHashMap<>();

    /** The gauges read {@code running}, {@code waiting} and {@code kvUsage} whenever they are scraped. */
    public EngineMetrics(MeterRegistry registry, String modelName, Supplier<Number> running, Supplier<Number> waiting,
            Supplier<Number> kvUsage) {
        this.registry = registry;
        this.tags = Tags.of("model_name", modelName);
        Gauge.builder("vllm:num_requests_running", running).description("Requests running on the engine (holding KV blocks).").tags(tags).register(registry);
        Gauge.builder("vllm:num_requests_waiting", waiting).description("Requests waiting to be scheduled, preempted ones included.").tags(tags).register(registry);
        Gauge.builder("vllm:kv_cache_usage_perc", kvUsage).description("KV-cache usage: 1 means every block is in use.").tags(tags).register(registry);
        promptTokens = counter("vllm:prompt_tokens", "Prompt tokens processed (prefix-cache hits included).");
        generationTokens = counter("vllm:generation_tokens", "Tokens generated.");
        preemptions = counter("vllm:num_preemptions", "Preemptions: sequences whose KV blocks were taken back to be recomputed later.");
        prefixQueries = counter("vllm:prefix_cache_queries", "Prompt tokens looked up in the prefix cache.");
        prefixHits = counter("vllm:prefix_cache_hits", "Prompt tokens found in the prefix cache.");
        timeToFirstToken = timer("vllm:time_to_first_token_seconds", "Time from arrival to the first generated token.", TTFT_BUCKETS);
        interTokenLatency = timer("vllm:inter_token_latency_seconds", "Time between consecutive generated tokens of a request.", ITL_BUCKETS);
        e2eLatency = timer("vllm:e2e_request_latency_seconds", "Time from arrival to the end of a request.", REQUEST_BUCKETS);
        queueTime = timer("vllm:request_queue_time_seconds", "Time a request waited before it was first scheduled.", REQUEST_BUCKETS);
    }

    /**
     * The KV cache's configuration and size, fixed at start: vLLM's {@code vllm:cache_config_info}
     * (value 1, the settings as labels), the bytes it takes, the tokens it holds, and the bytes
     * its dtype saves against an f32 cache of as many tokens.
     */
    public void kvCache(String dtype, int numBlocks, int blockSize, boolean prefixCaching, long bytes, long f32Bytes) {
        Gauge.builder("vllm:cache_config_info", () -> 1).description("The KV cache's configuration, as labels.")
                .tags(tags.and("cache_dtype", dtype, "block_size", Integer.toString(blockSize), "num_gpu_blocks",
                        Integer.toString(numBlocks), "enable_prefix_caching", Boolean.toString(prefixCaching)))
                .register(registry);
        Gauge.builder("gantry:kv_cache_memory_bytes", () -> bytes).description("Memory the KV cache takes.")
                .tags(tags.and("cache_dtype", dtype)).baseUnit("bytes").register(registry);
        Gauge.builder("gantry:kv_cache_capacity_tokens", () -> (long) numBlocks * blockSize)
                .description("Tokens the KV cache holds (blocks x block size).").tags(tags).register(registry);
        Gauge.builder("gantry:kv_cache_saved_bytes", () -> f32Bytes - bytes)
                .description("Memory the KV-cache dtype saves against f32 for as many tokens (0 for f32).")
                .tags(tags.and("cache_dtype", dtype)).baseUnit("bytes").register(registry);
    }

    private Counter counter(String name, String description) {
        return Counter.builder(name).description(description).tags(tags).register(registry);
    }

    private Timer timer(String name, String description, double[] bucketsSeconds) {
        Duration[] slos = Arrays.stream(bucketsSeconds).mapToObj(s -> Duration.ofNanos(Math.round(s * 1e9))).toArray(Duration[]::new);
        return Timer.builder(name).description(description).tags(tags).serviceLevelObjectives(slos)
                .minimumExpectedValue(slos[0]).maximumExpectedValue(slos[slos.length - 1]).register(registry);
    }

    public void promptTokens(int n) {
        promptTokens.increment(n);
    }

    public void generationTokens(int n) {
        generationTokens.increment(n);
    }

    public void preemptions(int n) {
        preemptions.increment(n);
    }

    public void prefixCache(long queriedTokens, long hitTokens) {
        prefixQueries.increment(queriedTokens);
        prefixHits.increment(hitTokens);
    }

    public void timeToFirstToken(long nanos) {
        timeToFirstToken.record(Duration.ofNanos(nanos));
    }

    public void interTokenLatency(long nanos) {
        interTokenLatency.record(Duration.ofNanos(nanos));
    }

    public void queueTime(long nanos) {
        queueTime.record(Duration.ofNanos(nanos));
    }

    /** A request that ended normally ({@code stop}, {@code length}) or otherwise ({@code abort}, {@code error}). */
    public void finished(String finishedReason, long e2eNanos) {
        e2eLatency.record(Duration.ofNanos(e2eNanos));
        success.computeIfAbsent(finishedReason, r -> Counter.builder("vllm:request_success")
                .description("Requests finished, by finish reason.").tags(tags.and("finished_reason", r)).register(registry))
                .increment();
    }
}
