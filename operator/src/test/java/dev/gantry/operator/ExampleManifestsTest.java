package dev.gantry.operator;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gantry.operator.api.LLMDeployment;
import dev.gantry.operator.api.ModelSpec;
import dev.gantry.operator.desired.WorkerAutoscaler;
import dev.gantry.operator.desired.WorkerDeployment;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** The examples under manifests/examples/ read as LLMDeployments and give the workers they promise. */
class ExampleManifestsTest {
    private static final Path EXAMPLES = Path.of(System.getProperty("gantry.crds.dir", "../crds")).resolveSibling("manifests/examples");

    private static LLMDeployment read(String file) throws IOException {
        LLMDeployment llmd = Serialization.unmarshal(Files.readString(EXAMPLES.resolve(file)), LLMDeployment.class);
        llmd.getMetadata().setNamespace("default");
        assertThat(llmd.getSpec().model.uri).matches(ModelSpec.URI_PATTERN);
        assertThat(llmd.getSpec().replicas != null && llmd.getSpec().autoscaling != null)
                .as("the CRD's CEL rule: not both replicas and autoscaling").isFalse();
        return llmd;
    }

    @Test
    void smollm2RunsOneCpuWorker() throws IOException {
        LLMDeployment llmd = read("llmdeployment-smollm2.yaml");
        Deployment workers = WorkerDeployment.of(llmd, Fixtures.config());
        assertThat(workers.getSpec().getReplicas()).isEqualTo(1);
        assertThat(workers.getSpec().getTemplate().getSpec().getContainers().getFirst().getResources().getLimits())
                .doesNotContainKey("nvidia.com/gpu");
        assertThat(WorkerAutoscaler.wanted(llmd)).isFalse();
    }

    @Test
    void autoscaledExampleLeavesReplicasToTheHpa() throws IOException {
        LLMDeployment llmd = read("llmdeployment-autoscaled.yaml");
        assertThat(llmd.getSpec().autoscaling.minReplicas).isLessThanOrEqualTo(llmd.getSpec().autoscaling.maxReplicas);
        Deployment workers = WorkerDeployment.of(llmd, Fixtures.config());
        assertThat(workers.getSpec().getReplicas()).isNull();
        assertThat(workers.getSpec().getTemplate().getSpec().getContainers().getFirst().getResources().getLimits())
                .containsKey("nvidia.com/gpu");
        assertThat(WorkerAutoscaler.of(llmd, Fixtures.config()).getSpec().getMetrics()).hasSize(2);
    }
}
