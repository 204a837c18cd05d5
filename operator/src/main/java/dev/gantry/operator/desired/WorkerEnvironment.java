package dev.gantry.operator.desired;

import dev.gantry.operator.api.EngineSpec;
import dev.gantry.operator.api.LLMDeployment;
import dev.gantry.operator.api.LLMDeploymentSpec;
import dev.gantry.operator.api.ResponseCacheSpec;
import dev.gantry.operator.api.SecretKeyRef;
import dev.gantry.operator.api.ServingSpec;
import dev.gantry.operator.config.OperatorConfig;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.EnvVarBuilder;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The worker container's environment: the worker reads all its settings from GANTRY_* variables
 * (gantry.max-num-seqs is GANTRY_MAX_NUM_SEQS), so this is the whole mapping from spec to worker.
 * A spec field left unset sets no variable, keeping the worker's own default.
 */
public final class WorkerEnvironment {

    private WorkerEnvironment() {
    }

    public static List<EnvVar> of(LLMDeployment llmd, OperatorConfig config) {
        LLMDeploymentSpec spec = llmd.getSpec();
        ModelSource source = ModelSource.of(spec.model.uri);
        // Ordered, and keyed by name so that spec.env can replace what the operator sets.
        Map<String, EnvVar> env = new LinkedHashMap<>();
        put(env, "GANTRY_MODEL", source.model());
        put(env, "GANTRY_CACHE", source.cacheDir());
        put(env, "GANTRY_SERVED_MODEL_NAME", spec.model.name);
        put(env, "GANTRY_MAX_MODEL_LEN", spec.model.maxModelLen);

        EngineSpec engine = spec.engine == null ? new EngineSpec() : spec.engine;
        put(env, "GANTRY_MAX_NUM_SEQS", engine.maxNumSeqs);
        put(env, "GANTRY_MAX_NUM_BATCHED_TOKENS", stepTokenBudget(engine, spec.model.maxModelLen));
        put(env, "GANTRY_BLOCK_SIZE", engine.kvCacheBlockSize);
        put(env, "GANTRY_KV_CACHE_MEMORY_FRACTION", engine.gpuMemoryUtilization);
        put(env, "GANTRY_ENABLE_PREFIX_CACHING", engine.prefixCaching);
        put(env, "GANTRY_ACTIVATIONS", engine.activations == null ? null : engine.activations.name());
        put(env, "GANTRY_KV_CACHE_DTYPE", engine.kvCacheDtype == null ? null : engine.kvCacheDtype.name());
        // A pod given GPUs computes on them (and fails at start, saying why, if it cannot); one
        // without computes on the CPU even on a node that has GPUs it was not given.
        put(env, "GANTRY_DEVICE", WorkerContainer.gpusOf(spec.resources) > 0 ? "cuda" : "cpu");

        ServingSpec serving = spec.serving == null ? new ServingSpec() : spec.serving;
        putSecret(env, "GANTRY_API_KEY", serving.apiKeySecretRef);
        ResponseCacheSpec cache = serving.responseCache;
        if (cache != null) {
            put(env, "GANTRY_RESPONSE_CACHE_ENABLED", cache.enabled);
            put(env, "GANTRY_RESPONSE_CACHE_TTL", cache.ttl);
            putSecret(env, "GANTRY_RESPONSE_CACHE_REDIS_URL", cache.redisUrlSecretRef);
        }
        put(env, "GANTRY_DRAIN_TIMEOUT", seconds(config.drainTimeout()));
        put(env, "QUARKUS_HTTP_PORT", ServingSpec.portOf(spec.serving));
        // Only workers that download: a change of the operator's hub would roll the others for nothing.
        if (!source.fromClaim() && source.model().startsWith("hf://")) {
            put(env, "HF_ENDPOINT", config.hfEndpoint().filter(e -> !e.isBlank()).orElse(null));
        }

        // Last, so that they win; the CRD refuses LLMDeploymentSpec.RESERVED_ENV here.
        if (spec.env != null) {
            spec.env.forEach(e -> env.put(e.getName(), e));
        }
        return new ArrayList<>(env.values());
    }

    /**
     * GANTRY_MAX_NUM_BATCHED_TOKENS. The worker always chunks long prompts; chunkedPrefill=false
     * asks, as in vLLM, for a budget that holds a whole prompt, so it is raised to maxModelLen.
     */
    static Integer stepTokenBudget(EngineSpec engine, Integer maxModelLen) {
        if (Boolean.FALSE.equals(engine.chunkedPrefill) && maxModelLen != null) {
            return engine.maxNumBatchedTokens == null ? maxModelLen : Math.max(engine.maxNumBatchedTokens, maxModelLen);
        }
        return engine.maxNumBatchedTokens;
    }

    /** A duration as the worker's config reads it; whole seconds are all a drain timeout needs. */
    static String seconds(Duration d) {
        return Math.max(0, d.toSeconds()) + "s";
    }

    private static void put(Map<String, EnvVar> env, String name, Object value) {
        if (value != null) {
            env.put(name, new EnvVar(name, String.valueOf(value), null));
        }
    }

    private static void putSecret(Map<String, EnvVar> env, String name, SecretKeyRef ref) {
        if (ref != null) {
            env.put(name, new EnvVarBuilder().withName(name)
                    .withNewValueFrom().withNewSecretKeyRef(ref.key, ref.name, false).endValueFrom()
                    .build());
        }
    }
}
