package dev.gantry.operator.desired;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gantry.operator.Fixtures;
import dev.gantry.operator.api.AutoscalingSpec;
import dev.gantry.operator.api.EngineSpec;
import dev.gantry.operator.api.LLMDeployment;
import dev.gantry.operator.api.ModelCacheSpec;
import dev.gantry.operator.api.ResponseCacheSpec;
import dev.gantry.operator.api.SecretKeyRef;
import dev.gantry.operator.api.ServingSpec;
import dev.gantry.operator.api.WorkerResources;
import dev.gantry.operator.config.OperatorConfig;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.EnvVarBuilder;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

class WorkerDeploymentTest {
    private final OperatorConfig config = Fixtures.config();

    private static Container worker(Deployment d) {
        return d.getSpec().getTemplate().getSpec().getContainers().getFirst();
    }

    private static Map<String, EnvVar> env(Deployment d) {
        return worker(d).getEnv().stream().collect(Collectors.toMap(EnvVar::getName, e -> e));
    }

    private static String value(Deployment d, String name) {
        EnvVar var = env(d).get(name);
        return var == null ? null : var.getValue();
    }

    @Test
    void environmentCarriesEverySpecField() {
        LLMDeployment llmd = Fixtures.llmd();
        llmd.getSpec().model.name = "smollm2";
        llmd.getSpec().model.maxModelLen = 4096;
        EngineSpec engine = new EngineSpec();
        engine.maxNumSeqs = 32;
        engine.maxNumBatchedTokens = 1024;
        engine.kvCacheBlockSize = 32;
        engine.gpuMemoryUtilization = 0.9;
        engine.prefixCaching = false;
        engine.activations = EngineSpec.Activations.q8;
        engine.kvCacheDtype = EngineSpec.KvCacheDtype.q8_0;
        llmd.getSpec().engine = engine;
        ServingSpec serving = new ServingSpec();
        serving.port = 9000;
        serving.apiKeySecretRef = new SecretKeyRef("chat-key", "token");
        serving.responseCache = new ResponseCacheSpec();
        serving.responseCache.enabled = true;
        serving.responseCache.ttl = "1h";
        serving.responseCache.redisUrlSecretRef = new SecretKeyRef("redis", "url");
        llmd.getSpec().serving = serving;

        Deployment d = WorkerDeployment.of(llmd, config);

        assertThat(value(d, "GANTRY_MODEL")).isEqualTo(llmd.getSpec().model.uri);
        assertThat(value(d, "GANTRY_CACHE")).isEqualTo("/var/cache/gantry");
        assertThat(value(d, "GANTRY_SERVED_MODEL_NAME")).isEqualTo("smollm2");
        assertThat(value(d, "GANTRY_MAX_MODEL_LEN")).isEqualTo("4096");
        assertThat(value(d, "GANTRY_MAX_NUM_SEQS")).isEqualTo("32");
        assertThat(value(d, "GANTRY_MAX_NUM_BATCHED_TOKENS")).isEqualTo("1024");
        assertThat(value(d, "GANTRY_BLOCK_SIZE")).isEqualTo("32");
        assertThat(value(d, "GANTRY_KV_CACHE_MEMORY_FRACTION")).isEqualTo("0.9");
        assertThat(value(d, "GANTRY_ENABLE_PREFIX_CACHING")).isEqualTo("false");
        assertThat(value(d, "GANTRY_ACTIVATIONS")).isEqualTo("q8");
        assertThat(value(d, "GANTRY_KV_CACHE_DTYPE")).isEqualTo("q8_0");
        assertThat(value(d, "GANTRY_DEVICE")).isEqualTo("cpu");
        assertThat(value(d, "GANTRY_RESPONSE_CACHE_ENABLED")).isEqualTo("true");
        assertThat(value(d, "GANTRY_RESPONSE_CACHE_TTL")).isEqualTo("1h");
        assertThat(value(d, "GANTRY_DRAIN_TIMEOUT")).isEqualTo("30s");
        assertThat(value(d, "QUARKUS_HTTP_PORT")).isEqualTo("9000");
        var apiKey = env(d).get("GANTRY_API_KEY").getValueFrom().getSecretKeyRef();
        assertThat(apiKey.getName()).isEqualTo("chat-key");
        assertThat(apiKey.getKey()).isEqualTo("token");
        var redis = env(d).get("GANTRY_RESPONSE_CACHE_REDIS_URL").getValueFrom().getSecretKeyRef();
        assertThat(redis.getName()).isEqualTo("redis");
        assertThat(redis.getKey()).isEqualTo("url");
        assertThat(worker(d).getPorts().getFirst().getContainerPort()).isEqualTo(9000);
        assertThat(d.getSpec().getTemplate().getMetadata().getAnnotations()).containsEntry("prometheus.io/port", "9000");
    }

    @Test
    void unsetFieldsLeaveTheWorkersDefaults() {
        Map<String, EnvVar> env = env(WorkerDeployment.of(Fixtures.llmd(), config));
        // GANTRY_DEVICE always: the pod's GPUs, not what the node happens to have, decide.
        assertThat(env.keySet()).containsExactlyInAnyOrder("GANTRY_MODEL", "GANTRY_CACHE", "GANTRY_DRAIN_TIMEOUT",
                "QUARKUS_HTTP_PORT", "GANTRY_DEVICE");
        assertThat(env.get("QUARKUS_HTTP_PORT").getValue()).isEqualTo("8000");
    }

    @Test
    void userEnvironmentWinsAndArgsAreAppended() {
        LLMDeployment llmd = Fixtures.llmd();
        llmd.getSpec().engine = new EngineSpec();
        llmd.getSpec().env = List.of(new EnvVar("GANTRY_DRAIN_TIMEOUT", "2m", null),
                new EnvVarBuilder().withName("HF_TOKEN").withNewValueFrom().withNewSecretKeyRef("token", "hub", false)
                        .endValueFrom().build(),
                new EnvVar("JAVA_TOOL_OPTIONS", "-Xss2m", null));
        llmd.getSpec().engine.args = List.of("--threads", "4");
        Deployment d = WorkerDeployment.of(llmd, config);
        assertThat(value(d, "GANTRY_DRAIN_TIMEOUT")).isEqualTo("2m");
        assertThat(env(d).get("HF_TOKEN").getValueFrom().getSecretKeyRef().getName()).isEqualTo("hub");
        assertThat(worker(d).getEnv().stream().filter(e -> e.getName().equals("GANTRY_DRAIN_TIMEOUT"))).hasSize(1);
        // The operator's own first, then the user's in their order.
        assertThat(worker(d).getEnv()).extracting(EnvVar::getName).endsWith("HF_TOKEN", "JAVA_TOOL_OPTIONS");
        assertThat(worker(d).getArgs()).containsExactly("--threads", "4");
        assertThat(hash(llmd)).as("the environment is configuration: it rolls the workers")
                .isNotEqualTo(hash(Fixtures.llmd()));
    }

    @Test
    void theOperatorsHubEndpointReachesWorkersThatDownload() {
        OperatorConfig mirror = Fixtures.config(Map.of("gantry.operator.hf-endpoint", "http://hub.models.svc:8080"));
        assertThat(value(WorkerDeployment.of(Fixtures.llmd(), mirror), "HF_ENDPOINT")).isEqualTo("http://hub.models.svc:8080");
        assertThat(value(WorkerDeployment.of(Fixtures.llmd(), config), "HF_ENDPOINT")).as("none configured").isNull();
        // Models from a claim or the image download nothing: their workers do not get it (nor roll when it changes).
        assertThat(env(WorkerDeployment.of(Fixtures.llmd("pvc://weights/m.gguf"), mirror))).doesNotContainKey("HF_ENDPOINT");
        assertThat(env(WorkerDeployment.of(Fixtures.llmd("/models/m.gguf"), mirror))).doesNotContainKey("HF_ENDPOINT");

        LLMDeployment own = Fixtures.llmd();
        own.getSpec().env = List.of(new EnvVar("HF_ENDPOINT", "https://mirror.example.com", null));
        Deployment d = WorkerDeployment.of(own, mirror);
        assertThat(value(d, "HF_ENDPOINT")).as("spec.env wins").isEqualTo("https://mirror.example.com");
        assertThat(worker(d).getEnv().stream().filter(e -> e.getName().equals("HF_ENDPOINT"))).hasSize(1);
    }

    @Test
    void theApiKeyHashFollowsTheSecretsValue() {
        LLMDeployment llmd = Fixtures.llmd();
        llmd.getSpec().serving = new ServingSpec();
        llmd.getSpec().serving.apiKeySecretRef = new SecretKeyRef("chat-key", "token");
        String first = apiKeyHash(llmd, secret("token", "c2VjcmV0LTE="));
        assertThat(first).hasSize(16).matches("[0-9a-f]+");
        assertThat(apiKeyHash(llmd, secret("token", "c2VjcmV0LTE="))).as("stable").isEqualTo(first);
        assertThat(apiKeyHash(llmd, secret("token", "c2VjcmV0LTI="))).as("a new key rolls the workers").isNotEqualTo(first);
        Secret withOtherKeys = secret("token", "c2VjcmV0LTE=");
        withOtherKeys.getData().put("unrelated", "eA==");
        assertThat(apiKeyHash(llmd, withOtherKeys)).as("other keys do not count").isEqualTo(first);

        assertThat(apiKeyHash(llmd, secret("other", "eA=="))).as("key missing: no annotation").isNull();
        assertThat(annotations(WorkerDeployment.of(llmd, config, Optional.empty()))).doesNotContainKey(ApiKeyHash.ANNOTATION);
        LLMDeployment keyless = Fixtures.llmd();
        assertThat(apiKeyHash(keyless, secret("token", "c2VjcmV0LTE="))).as("no API key: no annotation").isNull();
        // The value is not in the config hash: the env var only names the Secret.
        assertThat(hash(llmd)).isEqualTo(WorkerDeployment.of(llmd, config, Optional.of(secret("token", "eA=="))).getSpec()
                .getTemplate().getMetadata().getAnnotations().get(ConfigHash.ANNOTATION));
    }

    private static Secret secret(String key, String base64) {
        return new SecretBuilder().withNewMetadata().withName("chat-key").withNamespace("llm").endMetadata()
                .withData(new java.util.HashMap<>(Map.of(key, base64))).build();
    }

    private String apiKeyHash(LLMDeployment llmd, Secret secret) {
        return annotations(WorkerDeployment.of(llmd, config, Optional.of(secret))).get(ApiKeyHash.ANNOTATION);
    }

    private static Map<String, String> annotations(Deployment d) {
        return d.getSpec().getTemplate().getMetadata().getAnnotations();
    }

    @Test
    void withoutChunkedPrefillAStepHoldsAWholePrompt() {
        LLMDeployment llmd = Fixtures.llmd();
        llmd.getSpec().model.maxModelLen = 8192;
        llmd.getSpec().engine = new EngineSpec();
        llmd.getSpec().engine.chunkedPrefill = false;
        llmd.getSpec().engine.maxNumBatchedTokens = 2048;
        assertThat(value(WorkerDeployment.of(llmd, config), "GANTRY_MAX_NUM_BATCHED_TOKENS")).isEqualTo("8192");
        llmd.getSpec().engine.chunkedPrefill = true;
        assertThat(value(WorkerDeployment.of(llmd, config), "GANTRY_MAX_NUM_BATCHED_TOKENS")).isEqualTo("2048");
    }

    @Test
    void probesHitTheWorkersHealthEndpoints() {
        Container c = worker(WorkerDeployment.of(Fixtures.llmd(), config));
        assertThat(c.getStartupProbe().getHttpGet().getPath()).isEqualTo("/health/ready");
        assertThat(c.getReadinessProbe().getHttpGet().getPath()).isEqualTo("/health/ready");
        assertThat(c.getLivenessProbe().getHttpGet().getPath()).isEqualTo("/health/live");
        assertThat(c.getLivenessProbe().getHttpGet().getPort().getStrVal()).isEqualTo("http");
        // Generous: 10s × 180 = 30 minutes for download and load before liveness starts.
        assertThat(c.getStartupProbe().getPeriodSeconds() * c.getStartupProbe().getFailureThreshold()).isEqualTo(1800);
    }

    @Test
    void aWorkerThatCannotStartLeavesItsReasonInTheTerminationMessage() {
        Container c = worker(WorkerDeployment.of(Fixtures.llmd(), config));
        assertThat(c.getTerminationMessagePolicy()).isEqualTo("FallbackToLogsOnError");
        // The kubelet's default, /dev/termination-log: where the worker writes "<Reason>: <message>".
        assertThat(c.getTerminationMessagePath()).isNull();
    }

    @Test
    void probeTimingsComeFromTheOperatorConfig() {
        OperatorConfig custom = Fixtures.config(Map.of("gantry.operator.probes.startup.failure-threshold", "360"));
        assertThat(worker(WorkerDeployment.of(Fixtures.llmd(), custom)).getStartupProbe().getFailureThreshold()).isEqualTo(360);
    }

    @Test
    void shutdownSleepsThenDrainsWithinTheGracePeriod() {
        Deployment d = WorkerDeployment.of(Fixtures.llmd(), config);
        assertThat(worker(d).getLifecycle().getPreStop().getSleep().getSeconds()).isEqualTo(5L);
        assertThat(worker(d).getLifecycle().getPreStop().getExec()).isNull();
        // preStop 5s + drain 30s + margin 10s.
        assertThat(d.getSpec().getTemplate().getSpec().getTerminationGracePeriodSeconds()).isEqualTo(45L);
    }

    @Test
    void workersRunHardened() {
        Deployment d = WorkerDeployment.of(Fixtures.llmd(), config);
        var sc = worker(d).getSecurityContext();
        assertThat(sc.getRunAsNonRoot()).isTrue();
        assertThat(sc.getReadOnlyRootFilesystem()).isTrue();
        assertThat(sc.getAllowPrivilegeEscalation()).isFalse();
        assertThat(sc.getCapabilities().getDrop()).containsExactly("ALL");
        assertThat(sc.getSeccompProfile().getType()).isEqualTo("RuntimeDefault");
        PodSpec pod = d.getSpec().getTemplate().getSpec();
        assertThat(pod.getSecurityContext().getRunAsUser()).isEqualTo(185L);
        assertThat(pod.getSecurityContext().getSeccompProfile().getType()).isEqualTo("RuntimeDefault");
        assertThat(pod.getAutomountServiceAccountToken()).isFalse();
        assertThat(worker(d).getVolumeMounts()).anySatisfy(m -> {
            assertThat(m.getMountPath()).isEqualTo("/tmp");
            assertThat(pod.getVolumes()).anySatisfy(v -> {
                assertThat(v.getName()).isEqualTo(m.getName());
                assertThat(v.getEmptyDir()).isNotNull();
            });
        });
    }

    @Test
    void claimModelsMountTheClaimReadOnly() {
        Deployment d = WorkerDeployment.of(Fixtures.llmd("pvc://weights/llama/model.gguf"), config);
        assertThat(value(d, "GANTRY_MODEL")).isEqualTo("/models/llama/model.gguf");
        assertThat(value(d, "GANTRY_CACHE")).isEqualTo("/models");
        var volume = d.getSpec().getTemplate().getSpec().getVolumes().stream()
                .filter(v -> v.getPersistentVolumeClaim() != null).findFirst().orElseThrow();
        assertThat(volume.getPersistentVolumeClaim().getClaimName()).isEqualTo("weights");
        assertThat(volume.getPersistentVolumeClaim().getReadOnly()).isTrue();
        assertThat(worker(d).getVolumeMounts()).anySatisfy(m -> {
            assertThat(m.getName()).isEqualTo(volume.getName());
            assertThat(m.getMountPath()).isEqualTo("/models");
            assertThat(m.getReadOnly()).isTrue();
        });
    }

    @Test
    void aSharedModelCacheIsTheClaimMountedWritableWhereDownloadsLand() {
        LLMDeployment llmd = Fixtures.llmd();
        llmd.getSpec().model.cache = new ModelCacheSpec();
        llmd.getSpec().model.cache.claimName = "model-cache";
        Deployment d = WorkerDeployment.of(llmd, config);
        assertThat(value(d, "GANTRY_CACHE")).isEqualTo("/var/cache/gantry");
        var volume = d.getSpec().getTemplate().getSpec().getVolumes().stream()
                .filter(v -> v.getPersistentVolumeClaim() != null).findFirst().orElseThrow();
        assertThat(volume.getPersistentVolumeClaim().getClaimName()).isEqualTo("model-cache");
        assertThat(volume.getPersistentVolumeClaim().getReadOnly()).isFalse();
        assertThat(d.getSpec().getTemplate().getSpec().getVolumes()).noneMatch(v -> v.getName().equals(volume.getName())
                && v.getEmptyDir() != null);
        assertThat(worker(d).getVolumeMounts()).anySatisfy(m -> {
            assertThat(m.getName()).isEqualTo(volume.getName());
            assertThat(m.getMountPath()).isEqualTo("/var/cache/gantry");
            assertThat(m.getReadOnly()).isNotEqualTo(Boolean.TRUE);
        });
        // Turning the cache on or off changes the pods: a rollout.
        assertThat(d.getSpec().getTemplate().getMetadata().getAnnotations().get(ConfigHash.ANNOTATION))
                .isNotEqualTo(WorkerDeployment.of(Fixtures.llmd(), config).getSpec().getTemplate().getMetadata()
                        .getAnnotations().get(ConfigHash.ANNOTATION));
    }

    @Test
    void gpusAreRequestedAndLimitedAsTheExtendedResource() {
        LLMDeployment llmd = Fixtures.llmd();
        llmd.getSpec().resources = new WorkerResources();
        llmd.getSpec().resources.gpus = 2;
        llmd.getSpec().resources.requests = new WorkerResources.CpuMemory("4", "16Gi");
        llmd.getSpec().resources.limits = new WorkerResources.CpuMemory(null, "24Gi");
        Deployment d = WorkerDeployment.of(llmd, config);
        var resources = worker(d).getResources();
        assertThat(resources.getRequests()).containsEntry("nvidia.com/gpu", new Quantity("2"))
                .containsEntry("cpu", new Quantity("4")).containsEntry("memory", new Quantity("16Gi"));
        assertThat(resources.getLimits()).containsEntry("nvidia.com/gpu", new Quantity("2"))
                .containsEntry("memory", new Quantity("24Gi")).doesNotContainKey("cpu");
        // No surge for GPU workers: a spare GPU may not exist.
        assertThat(d.getSpec().getStrategy().getRollingUpdate().getMaxSurge().getIntVal()).isZero();
        assertThat(value(d, "GANTRY_DEVICE")).isEqualTo("cuda");

        llmd.getSpec().resources.gpuResourceName = "amd.com/gpu";
        assertThat(worker(WorkerDeployment.of(llmd, config)).getResources().getLimits()).containsKey("amd.com/gpu")
                .doesNotContainKey("nvidia.com/gpu");
    }

    @Test
    void replicasComeFromTheSpecAndDefaultToOne() {
        LLMDeployment llmd = Fixtures.llmd();
        assertThat(WorkerDeployment.of(llmd, config).getSpec().getReplicas()).isEqualTo(1);
        llmd.getSpec().replicas = 3;
        assertThat(WorkerDeployment.of(llmd, config).getSpec().getReplicas()).isEqualTo(3);
    }

    @Test
    void underAutoscalingTheReplicasFieldIsAbsent() {
        LLMDeployment llmd = Fixtures.llmd();
        llmd.getSpec().autoscaling = new AutoscalingSpec();
        llmd.getSpec().autoscaling.maxReplicas = 4;
        Deployment d = WorkerDeployment.of(llmd, config);
        assertThat(d.getSpec().getReplicas()).isNull();
        // Absent from what is applied, not just null: server-side apply must not claim the field.
        @SuppressWarnings("unchecked")
        Map<String, Object> spec = (Map<String, Object>) Serialization.unmarshal(Serialization.asJson(d), Map.class).get("spec");
        assertThat(spec).doesNotContainKey("replicas");
    }

    @Test
    void labelsSelectorAndScrapeAnnotations() {
        Deployment d = WorkerDeployment.of(Fixtures.llmd(), config);
        Map<String, String> expected = Map.of("app.kubernetes.io/name", "gantry-worker",
                "app.kubernetes.io/instance", "chat", "app.kubernetes.io/managed-by", "gantry-operator");
        assertThat(d.getMetadata().getLabels()).isEqualTo(expected);
        assertThat(d.getSpec().getTemplate().getMetadata().getLabels()).isEqualTo(expected);
        assertThat(d.getSpec().getSelector().getMatchLabels()).doesNotContainKey("app.kubernetes.io/managed-by");
        assertThat(d.getSpec().getTemplate().getMetadata().getAnnotations())
                .containsEntry("prometheus.io/scrape", "true")
                .containsEntry("prometheus.io/port", "8000")
                .containsEntry("prometheus.io/path", "/metrics")
                .containsKey(ConfigHash.ANNOTATION);
        assertThat(d.getMetadata().getNamespace()).isEqualTo("llm");
        assertThat(worker(d).getImage()).isEqualTo(config.workerImage());
    }

    @Test
    void configHashFollowsTheModelNotTheScale() {
        LLMDeployment llmd = Fixtures.llmd();
        String before = hash(llmd);
        assertThat(hash(llmd)).as("stable").isEqualTo(before);

        llmd.getSpec().replicas = 5;
        assertThat(hash(llmd)).as("replicas do not roll workers").isEqualTo(before);
        llmd.getSpec().replicas = null;
        llmd.getSpec().autoscaling = new AutoscalingSpec();
        llmd.getSpec().autoscaling.maxReplicas = 3;
        assertThat(hash(llmd)).as("autoscaling does not roll workers").isEqualTo(before);

        llmd.getSpec().model.uri = "hf://bartowski/SmolLM2-360M-Instruct-GGUF/SmolLM2-360M-Instruct-Q8_0.gguf";
        assertThat(hash(llmd)).as("a new model rolls workers").isNotEqualTo(before);
    }

    private String hash(LLMDeployment llmd) {
        return WorkerDeployment.of(llmd, config).getSpec().getTemplate().getMetadata().getAnnotations().get(ConfigHash.ANNOTATION);
    }
}
