package dev.gantry.operator;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gantry.operator.api.LLMDeployment;
import dev.gantry.operator.api.ModelSpec;
import dev.gantry.operator.desired.WorkerAutoscaler;
import dev.gantry.operator.desired.WorkerDeployment;
import dev.gantry.operator.desired.WorkerEnvironment;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.autoscaling.v2.HorizontalPodAutoscaler;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The GPU 8B example and the Redis-cache example (several objects per file) give the workers they promise. */
class MoreExampleManifestsTest {
    private static final Path EXAMPLES = Path.of(System.getProperty("gantry.crds.dir", "../crds")).resolveSibling("manifests/examples");

    private static List<HasMetadata> read(String file) throws IOException {
        Object parsed = Serialization.unmarshal(Files.readString(EXAMPLES.resolve(file)));
        List<HasMetadata> objects = parsed instanceof List<?> list
                ? list.stream().map(HasMetadata.class::cast).toList() : List.of((HasMetadata) parsed);
        return objects;
    }

    private static LLMDeployment llmd(List<HasMetadata> objects) {
        // Read generically (the custom kind is not registered with the deserializer), then as the class.
        LLMDeployment llmd = objects.stream().filter(o -> o.getKind().equals("LLMDeployment"))
                .map(o -> Serialization.unmarshal(Serialization.asYaml(o), LLMDeployment.class))
                .findFirst().orElseThrow();
        llmd.getMetadata().setNamespace("default");
        assertThat(llmd.getSpec().model.uri).matches(ModelSpec.URI_PATTERN);
        assertThat(llmd.getSpec().replicas != null && llmd.getSpec().autoscaling != null).isFalse();
        return llmd;
    }

    @Test
    void llama3On8bGpusScalesOnQueueDepthAlone() throws IOException {
        LLMDeployment llmd = llmd(read("llmdeployment-llama3-8b-gpu.yaml"));
        HorizontalPodAutoscaler hpa = WorkerAutoscaler.of(llmd, Fixtures.config());
        assertThat(hpa.getSpec().getMetrics()).singleElement().satisfies(m -> {
            assertThat(m.getPods().getMetric().getName()).isEqualTo("vllm:num_requests_waiting");
            assertThat(m.getPods().getTarget().getAverageValue().getAmount()).isEqualTo("2");
        });
        assertThat(hpa.getSpec().getMaxReplicas()).isEqualTo(8);
        Deployment workers = WorkerDeployment.of(llmd, Fixtures.config());
        assertThat(workers.getSpec().getReplicas()).isNull();
        assertThat(workers.getSpec().getTemplate().getSpec().getContainers().getFirst().getResources().getLimits())
                .containsKey("nvidia.com/gpu");
    }

    @Test
    void redisCacheUrlComesFromTheSecretInTheSameFile() throws IOException {
        List<HasMetadata> objects = read("llmdeployment-redis-cache.yaml");
        LLMDeployment llmd = llmd(objects);
        Secret secret = objects.stream().filter(Secret.class::isInstance).map(Secret.class::cast).findFirst().orElseThrow();
        var ref = llmd.getSpec().serving.responseCache.redisUrlSecretRef;
        assertThat(ref.name).isEqualTo(secret.getMetadata().getName());
        assertThat(secret.getStringData()).containsKey(ref.key);
        assertThat(secret.getStringData().get(ref.key)).startsWith("redis://");
        EnvVar url = WorkerEnvironment.of(llmd, Fixtures.config()).stream()
                .filter(e -> e.getName().equals("GANTRY_RESPONSE_CACHE_REDIS_URL")).findFirst().orElseThrow();
        assertThat(url.getValueFrom().getSecretKeyRef().getName()).isEqualTo(secret.getMetadata().getName());
        assertThat(llmd.getSpec().replicas).isGreaterThan(1);
        // The Redis the URL names is in the file too.
        assertThat(objects).anyMatch(o -> o.getKind().equals("Service") && secret.getStringData().get(ref.key)
                .contains("//" + o.getMetadata().getName() + ":"));
    }
}
