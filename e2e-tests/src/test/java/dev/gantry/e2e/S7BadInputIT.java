package dev.gantry.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Scenario 7: bad input to the cluster. A model that is not on the hub and a CPU request no node
 * can give each end, within a minute, in Degraded with a reason that names the problem; an invalid
 * LLMDeployment is refused by the apiserver with the CRD's own message.
 */
@Order(7)
@ExtendWith(E2eExtension.class)
class S7BadInputIT {
    static Cluster cluster;

    static ObjectNode llmd(String name) {
        ObjectNode llmd = S2ApplySmolLm2IT.smolLm2();
        llmd.withObject("metadata").put("name", name);
        ObjectNode spec = (ObjectNode) llmd.get("spec");
        spec.remove("ingress");
        spec.remove("serving");
        return llmd;
    }

    @AfterAll
    static void cleanUp() {
        cluster.kubectlResult(null, "delete", "llmd", "missing-model", "too-big", "-n", Llmd.NAMESPACE, "--ignore-not-found");
    }

    @Test
    @Order(1)
    void aModelThatIsNotThereIsDegradedNamingTheModel() {
        GantryRelease.ensureInstalled(cluster);
        ObjectNode missing = llmd("missing-model");
        String uri = "hf://HuggingFaceTB/SmolLM2-135M-Instruct-GGUF/no-such-file.gguf";
        missing.withObject("/spec/model").put("uri", uri);
        Instant applied = Instant.now();
        assertThat(Manifests.apply(cluster, Llmd.NAMESPACE, List.of(missing)).exit()).isZero();

        JsonNode degraded = Llmd.of(cluster, "missing-model").await("Degraded: ModelNotFound", Duration.ofSeconds(90),
                s -> "ModelNotFound".equals(Llmd.condition(s, "Degraded").path("reason").asText()));
        Duration took = Duration.between(applied, Instant.now());
        Figures.record("missing_model_to_degraded_seconds", took.toMillis() / 1000.0);
        JsonNode c = Llmd.condition(degraded, "Degraded");
        assertThat(c.path("status").asText()).isEqualTo("True");
        assertThat(c.path("message").asText()).contains(uri);
        assertThat(Llmd.isTrue(degraded, "Ready")).isFalse();
        assertThat(took).as("time to say why").isLessThan(Duration.ofSeconds(60));
    }

    @Test
    @Order(2)
    void resourcesNoNodeCanGiveAreDegradedUnschedulable() {
        ObjectNode tooBig = llmd("too-big");
        tooBig.withObject("/spec/resources/requests").put("cpu", "64");
        Instant applied = Instant.now();
        assertThat(Manifests.apply(cluster, Llmd.NAMESPACE, List.of(tooBig)).exit()).isZero();

        JsonNode degraded = Llmd.of(cluster, "too-big").await("Degraded: Unschedulable", Duration.ofSeconds(90),
                s -> "Unschedulable".equals(Llmd.condition(s, "Degraded").path("reason").asText()));
        assertThat(Duration.between(applied, Instant.now())).isLessThan(Duration.ofSeconds(60));
        assertThat(Llmd.condition(degraded, "Degraded").path("message").asText()).containsIgnoringCase("cpu");
    }

    @Test
    @Order(3)
    void anInvalidLlmDeploymentIsRefusedWithTheCrdsMessage() {
        ObjectNode both = llmd("invalid");
        ObjectNode spec = (ObjectNode) both.get("spec");
        spec.put("replicas", 2);
        spec.putObject("autoscaling").put("minReplicas", 1).put("maxReplicas", 3);
        Shell.Result r = Manifests.apply(cluster, Llmd.NAMESPACE, List.of(both));
        assertThat(r.exit()).isNotZero();
        assertThat(r.err()).contains("set either replicas or autoscaling, not both");

        ObjectNode negative = llmd("invalid");
        ((ObjectNode) negative.get("spec")).put("replicas", -1);
        Shell.Result r2 = Manifests.apply(cluster, Llmd.NAMESPACE, List.of(negative));
        assertThat(r2.exit()).isNotZero();
        assertThat(r2.err()).contains("spec.replicas").contains("greater than or equal to 0");
        assertThat(cluster.kubectlResult(null, "get", "llmd", "invalid", "-n", Llmd.NAMESPACE).ok()).isFalse();
    }
}
