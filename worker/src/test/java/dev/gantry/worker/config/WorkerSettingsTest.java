package dev.gantry.worker.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.smallrye.config.EnvConfigSource;
import io.smallrye.config.PropertiesConfigSource;
import io.smallrye.config.SmallRyeConfig;
import io.smallrye.config.SmallRyeConfigBuilder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The gantry.* configuration through SmallRye Config's real mapping: defaults, environment names, checks. */
class WorkerSettingsTest {

    static WorkerConfig config(Map<String, String> properties, Map<String, String> env) {
        SmallRyeConfig config = new SmallRyeConfigBuilder()
                .addDiscoveredConverters()
                .withMapping(WorkerConfig.class)
                .withSources(new PropertiesConfigSource(properties, "test", 400))
                .withSources(new EnvConfigSource(env, 300))
                .build();
        return config.getConfigMapping(WorkerConfig.class);
    }

    static WorkerConfig config(Map<String, String> properties) {
        return config(properties, Map.of());
    }

    static Map<String, String> with(String... keyValues) {
        Map<String, String> m = new HashMap<>();
        m.put("gantry.model", "model.gguf");
        for (int i = 0; i < keyValues.length; i += 2) {
            m.put(keyValues[i], keyValues[i + 1]);
        }
        return m;
    }

    @Test
    void defaults() {
        WorkerConfig c = config(with());
        WorkerSettings s = WorkerSettings.resolve(c);
        assertThat(s.modelUri()).isEqualTo("model.gguf");
        assertThat(s.servedModelName()).isEmpty();
        assertThat(s.backend()).isEqualTo("cpu");
        assertThat(s.cudaGraphs()).isTrue();
        assertThat(WorkerSettings.resolve(config(with("gantry.enforce-eager", "true"))).cudaGraphs()).isFalse();
        assertThat(s.threads()).isEqualTo(Runtime.getRuntime().availableProcessors());
        assertThat(s.maxModelLen()).isEmpty();
        assertThat(s.maxNumSeqs()).isEqualTo(64);
        assertThat(s.maxNumBatchedTokens()).isEqualTo(512);
        assertThat(s.blockSize()).isEqualTo(16);
        assertThat(s.kvCacheMemoryBytes()).isEmpty();
        assertThat(s.kvCacheMemoryFraction()).isEqualTo(0.5);
        assertThat(s.kvCacheDtype()).isEqualTo(dev.gantry.worker.backend.KvCacheDtype.F32);
        assertThat(WorkerSettings.resolve(config(with("gantry.kv-cache-dtype", "q8_0"))).kvCacheDtype())
                .isEqualTo(dev.gantry.worker.backend.KvCacheDtype.Q8_0);
        assertThat(s.prefixCaching()).isTrue();
        assertThat(s.maxWaitingRequests()).isEqualTo(1024);
        assertThat(s.requestTimeout()).isEmpty();
        assertThat(s.apiKey()).isEmpty();
        assertThat(s.drainTimeout()).isEqualTo(Duration.ofSeconds(30));
        assertThat(s.maxRequestBodyBytes()).isEqualTo(8L << 20);
        WorkerConfig.ResponseCache rc = c.responseCache();
        assertThat(rc.enabled()).isTrue();
        assertThat(rc.maxBytes().asLongValue()).isEqualTo(64L << 20);
        assertThat(rc.maxEntries()).isEqualTo(10_000);
        assertThat(rc.maxEntryBytes().asLongValue()).isEqualTo(1L << 20);
        assertThat(rc.ttl()).isEqualTo(Duration.ofMinutes(10));
        assertThat(rc.redisUrl()).isEmpty();
        assertThat(rc.timeout()).isEqualTo(Duration.ofMillis(200));
    }

    @Test
    void environmentVariablesMapToKeys() {
        WorkerConfig c = config(Map.of(), Map.of(
                "GANTRY_MODEL", "hf://owner/repo/m.gguf",
                "GANTRY_MAX_NUM_SEQS", "7",
                "GANTRY_KV_CACHE_MEMORY", "2G",
                "GANTRY_ENABLE_PREFIX_CACHING", "false",
                "GANTRY_RESPONSE_CACHE_REDIS_URL", "redis://cache:6379",
                "GANTRY_REQUEST_TIMEOUT", "90s"));
        WorkerSettings s = WorkerSettings.resolve(c);
        assertThat(s.modelUri()).isEqualTo("hf://owner/repo/m.gguf");
        assertThat(s.maxNumSeqs()).isEqualTo(7);
        assertThat(s.kvCacheMemoryBytes()).contains(2L << 30);
        assertThat(s.prefixCaching()).isFalse();
        assertThat(s.requestTimeout()).contains(Duration.ofSeconds(90));
        assertThat(c.responseCache().redisUrl()).contains("redis://cache:6379");
    }

    @Test
    void missingModelNamesHowToSetIt() {
        assertThatThrownBy(() -> WorkerSettings.resolve(config(Map.of())))
                .isInstanceOf(InvalidConfigException.class)
                .hasMessageStartingWith("gantry.model (--model, GANTRY_MODEL) is required");
    }

    @Test
    void badValuesNameTheirKey() {
        assertBad(with("gantry.backend", "cuda"), "gantry.backend (--backend, GANTRY_BACKEND) must be one of [cpu, reference], got 'cuda'");
        assertBad(with("gantry.max-num-seqs", "0"), "gantry.max-num-seqs (--max-num-seqs, GANTRY_MAX_NUM_SEQS) must be at least 1, got 0");
        assertBad(with("gantry.threads", "-2"), "gantry.threads (--threads, GANTRY_THREADS) must be at least 1");
        assertBad(with("gantry.block-size", "4096"), "gantry.block-size (--block-size, GANTRY_BLOCK_SIZE) must be at most 1024");
        assertBad(with("gantry.kv-cache-memory-fraction", "1.5"), "gantry.kv-cache-memory-fraction");
        assertBad(with("gantry.max-model-len", "1"), "gantry.max-model-len");
        assertBad(with("gantry.request-timeout", "0s"), "gantry.request-timeout");
        assertBad(with("gantry.max-request-body", "10"), "gantry.max-request-body");
        assertBad(with("gantry.response-cache.redis-url", "cache:6379"),
                "gantry.response-cache.redis-url (--response-cache-redis-url, GANTRY_RESPONSE_CACHE_REDIS_URL)");
        assertBad(with("gantry.response-cache.ttl", "0s"), "gantry.response-cache.ttl (GANTRY_RESPONSE_CACHE_TTL)");
        assertBad(with("gantry.api-key", "  "), "gantry.api-key");
        assertBad(with("gantry.kv-cache-dtype", "fp8"),
                "gantry.kv-cache-dtype (--kv-cache-dtype, GANTRY_KV_CACHE_DTYPE) must be auto, f32, f16 or q8_0, got 'fp8'");
        assertBad(with("gantry.kv-cache-dtype", "f16", "gantry.device", "cuda"),
                "f16 is a CPU backend setting: the CUDA backend stores the KV cache as f32");
    }

    @Test
    void apiKeyComesTrimmedFromItsFile(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("key");
        Files.writeString(file, "  s3cret\n");
        assertThat(WorkerSettings.resolve(config(with("gantry.api-key-file", file.toString()))).apiKey()).contains("s3cret");

        Files.writeString(file, "\n");
        assertBad(with("gantry.api-key-file", file.toString()), "gantry.api-key-file (--api-key-file, GANTRY_API_KEY_FILE) names an empty file");
        assertBad(with("gantry.api-key-file", dir.resolve("missing").toString()), "cannot be read");
        assertBad(with("gantry.api-key-file", file.toString(), "gantry.api-key", "k"), "set only one of gantry.api-key");
    }

    private static void assertBad(Map<String, String> properties, String messagePart) {
        assertThatThrownBy(() -> WorkerSettings.resolve(config(properties)))
                .isInstanceOf(InvalidConfigException.class)
                .hasMessageContaining(messagePart);
    }
}
