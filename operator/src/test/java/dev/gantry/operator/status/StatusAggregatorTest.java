package dev.gantry.operator.status;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gantry.operator.Fixtures;
import dev.gantry.operator.api.AutoscalingSpec;
import dev.gantry.operator.api.IngressSpec;
import dev.gantry.operator.api.LLMDeployment;
import dev.gantry.operator.api.LLMDeploymentStatus;
import dev.gantry.operator.api.SecretKeyRef;
import dev.gantry.operator.api.ServingSpec;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.ContainerStatusBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.DeploymentBuilder;
import io.javaoperatorsdk.operator.AggregatedOperatorException;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class StatusAggregatorTest {
    private static final Instant T0 = Instant.parse("2026-01-01T10:00:00.250Z");
    private static final Instant T1 = Instant.parse("2026-01-01T10:05:00Z");

    /** A worker Deployment as the Deployment controller reports it. */
    private static Deployment deployment(int specReplicas, long generation, long observedGeneration,
            int replicas, int updated, int ready, int available) {
        return new DeploymentBuilder()
                .withNewMetadata().withName("chat").withNamespace("llm").withGeneration(generation).endMetadata()
                .withNewSpec().withReplicas(specReplicas).endSpec()
                .withNewStatus().withObservedGeneration(observedGeneration).withReplicas(replicas)
                .withUpdatedReplicas(updated).withReadyReplicas(ready).withAvailableReplicas(available).endStatus()
                .build();
    }

    private static Pod pod(String name) {
        return new PodBuilder().withNewMetadata().withName(name).withNamespace("llm").endMetadata().withNewStatus().endStatus().build();
    }

    private static Pod waiting(String name, String reason, String message) {
        Pod pod = pod(name);
        pod.getStatus().setContainerStatuses(List.of(new ContainerStatusBuilder().withName("worker")
                .withNewState().withNewWaiting().withReason(reason).withMessage(message).endWaiting().endState()
                .withNewLastState().withNewTerminated().withExitCode(137).withReason("OOMKilled").endTerminated().endLastState()
                .build()));
        return pod;
    }

    private static Pod unschedulable(String name) {
        return new PodBuilder(pod(name)).editStatus().addNewCondition().withType("PodScheduled").withStatus("False")
                .withReason("Unschedulable").withMessage("0/3 nodes are available: 3 Insufficient nvidia.com/gpu.")
                .endCondition().endStatus().build();
    }

    private static Condition condition(LLMDeploymentStatus status, String type) {
        return status.conditions.stream().filter(c -> c.getType().equals(type)).findFirst().orElseThrow();
    }

    @Test
    void readyWhenEveryDesiredWorkerIsUpdatedAndAvailable() {
        LLMDeployment llmd = Fixtures.llmd();
        llmd.getSpec().replicas = 2;
        LLMDeploymentStatus status = StatusAggregator.aggregate(llmd, Optional.of(deployment(2, 3, 3, 2, 2, 2, 2)),
                List.of(pod("chat-a"), pod("chat-b")), Optional.empty(), T0);
        assertThat(condition(status, "Ready").getStatus()).isEqualTo("True");
        assertThat(condition(status, "Progressing").getStatus()).isEqualTo("False");
        assertThat(condition(status, "Degraded").getStatus()).isEqualTo("False");
        assertThat(status.replicas).isEqualTo(2);
        assertThat(status.readyReplicas).isEqualTo(2);
        assertThat(status.url).isEqualTo("http://chat.llm.svc:8000");
        assertThat(status.observedGeneration).isEqualTo(1L);
        assertThat(status.selector).isEqualTo("app.kubernetes.io/instance=chat,app.kubernetes.io/name=gantry-worker");
        assertThat(status.conditions).allSatisfy(c -> {
            assertThat(c.getObservedGeneration()).isEqualTo(1L);
            assertThat(c.getLastTransitionTime()).isEqualTo("2026-01-01T10:00:00Z");
        });
    }

    @Test
    void progressingWhileTheDeploymentControllerHasNotCaughtUp() {
        LLMDeploymentStatus status = StatusAggregator.aggregate(Fixtures.llmd(),
                Optional.of(deployment(1, 4, 3, 1, 1, 1, 1)), List.of(), Optional.empty(), T0);
        assertThat(condition(status, "Ready").getStatus()).isEqualTo("False");
        assertThat(condition(status, "Progressing").getStatus()).isEqualTo("True");
    }

    @Test
    void progressingWhileRollingOut() {
        LLMDeployment llmd = Fixtures.llmd();
        llmd.getSpec().replicas = 3;
        // One new pod, old ones still around.
        LLMDeploymentStatus status = StatusAggregator.aggregate(llmd, Optional.of(deployment(3, 2, 2, 4, 1, 3, 3)),
                List.of(), Optional.empty(), T0);
        assertThat(condition(status, "Ready").getStatus()).isEqualTo("False");
        assertThat(condition(status, "Progressing").getStatus()).isEqualTo("True");
        assertThat(condition(status, "Progressing").getReason()).isEqualTo("RollingOut");
        assertThat(condition(status, "Progressing").getMessage()).isEqualTo("1 of 3 workers updated, 3 available");
    }

    @Test
    void progressingBeforeTheDeploymentExists() {
        LLMDeploymentStatus status = StatusAggregator.aggregate(Fixtures.llmd(), Optional.empty(), List.of(), Optional.empty(), T0);
        assertThat(condition(status, "Ready").getStatus()).isEqualTo("False");
        assertThat(condition(status, "Progressing").getStatus()).isEqualTo("True");
        assertThat(status.replicas).isZero();
    }

    @Test
    void degradedWhenAWorkerCrashLoops() {
        LLMDeploymentStatus status = StatusAggregator.aggregate(Fixtures.llmd(),
                Optional.of(deployment(1, 1, 1, 1, 1, 0, 0)),
                List.of(pod("chat-b"), waiting("chat-a", "CrashLoopBackOff", "back-off 40s restarting failed container")), Optional.empty(), T0);
        Condition degraded = condition(status, "Degraded");
        assertThat(degraded.getStatus()).isEqualTo("True");
        assertThat(degraded.getReason()).isEqualTo("CrashLoopBackOff");
        // The back-off length changes every restart; the last exit does not.
        assertThat(degraded.getMessage()).contains("chat-a", "worker", "last exit code 137 (OOMKilled)")
                .doesNotContain("back-off 40s");
        assertThat(condition(status, "Ready").getStatus()).isEqualTo("False");
    }

    @Test
    void degradedWhenTheImageCannotBePulled() {
        LLMDeploymentStatus status = StatusAggregator.aggregate(Fixtures.llmd(),
                Optional.of(deployment(1, 1, 1, 1, 1, 0, 0)),
                List.of(waiting("chat-a", "ImagePullBackOff", "Back-off pulling image \"gantry:nope\"")), Optional.empty(), T0);
        assertThat(condition(status, "Degraded").getReason()).isEqualTo("ImagePullBackOff");
        assertThat(condition(status, "Degraded").getMessage()).contains("gantry:nope");
    }

    @Test
    void degradedWhenAWorkerCannotBeScheduled() {
        LLMDeploymentStatus status = StatusAggregator.aggregate(Fixtures.llmd(),
                Optional.of(deployment(1, 1, 1, 1, 1, 0, 0)), List.of(unschedulable("chat-a")), Optional.empty(), T0);
        Condition degraded = condition(status, "Degraded");
        assertThat(degraded.getStatus()).isEqualTo("True");
        assertThat(degraded.getReason()).isEqualTo("Unschedulable");
        assertThat(degraded.getMessage()).contains("Insufficient nvidia.com/gpu");
    }

    @Test
    void podsOnTheirWayOutAreIgnored() {
        Pod leaving = waiting("chat-old", "CrashLoopBackOff", null);
        leaving.getMetadata().setDeletionTimestamp("2026-01-01T09:59:00Z");
        LLMDeploymentStatus status = StatusAggregator.aggregate(Fixtures.llmd(),
                Optional.of(deployment(1, 1, 1, 1, 1, 1, 1)), List.of(leaving), Optional.empty(), T0);
        assertThat(condition(status, "Degraded").getStatus()).isEqualTo("False");
    }

    @Test
    void sameObservationSameStatusAndTransitionTimesOnlyMoveOnFlips() {
        LLMDeployment llmd = Fixtures.llmd();
        LLMDeploymentStatus first = StatusAggregator.aggregate(llmd, Optional.of(deployment(1, 1, 1, 1, 1, 0, 0)), List.of(), Optional.empty(), T0);
        llmd.setStatus(first);
        LLMDeploymentStatus again = StatusAggregator.aggregate(llmd, Optional.of(deployment(1, 1, 1, 1, 1, 0, 0)), List.of(), Optional.empty(), T1);
        assertThat(again).as("nothing changed: no status write").isEqualTo(first);

        llmd.setStatus(again);
        LLMDeploymentStatus ready = StatusAggregator.aggregate(llmd, Optional.of(deployment(1, 1, 1, 1, 1, 1, 1)), List.of(), Optional.empty(), T1);
        assertThat(condition(ready, "Ready").getLastTransitionTime()).isEqualTo("2026-01-01T10:05:00Z");
        assertThat(condition(ready, "Degraded").getLastTransitionTime()).as("still False").isEqualTo("2026-01-01T10:00:00Z");
    }

    @Test
    void underAutoscalingTheHpasCountIsTheTarget() {
        LLMDeployment llmd = Fixtures.llmd();
        llmd.getSpec().autoscaling = new AutoscalingSpec();
        llmd.getSpec().autoscaling.maxReplicas = 5;
        // The HPA set 3; two are available: not ready yet.
        LLMDeploymentStatus scaling = StatusAggregator.aggregate(llmd, Optional.of(deployment(3, 2, 2, 3, 3, 2, 2)), List.of(), Optional.empty(), T0);
        assertThat(condition(scaling, "Ready").getStatus()).isEqualTo("False");
        LLMDeploymentStatus scaled = StatusAggregator.aggregate(llmd, Optional.of(deployment(3, 2, 2, 3, 3, 3, 3)), List.of(), Optional.empty(), T0);
        assertThat(condition(scaled, "Ready").getStatus()).isEqualTo("True");
        assertThat(condition(scaled, "Autoscaling").getStatus()).as("no HPA observed yet").isEqualTo("Unknown");
        assertThat(StatusAggregator.aggregate(Fixtures.llmd(), Optional.of(deployment(1, 1, 1, 1, 1, 1, 1)), List.of(),
                Optional.empty(), T0).conditions).extracting(Condition::getType).containsExactly("Ready", "Progressing", "Degraded");
    }

    @Test
    void theUrlGoesThroughTheIngressWhenItNamesAHost() {
        LLMDeployment llmd = Fixtures.llmd();
        llmd.getSpec().ingress = new IngressSpec();
        assertThat(StatusAggregator.aggregate(llmd, Optional.empty(), List.of(), Optional.empty(), T0).url)
                .as("any host: the Service URL").isEqualTo("http://chat.llm.svc:8000");
        llmd.getSpec().ingress.host = "chat.example.com";
        assertThat(StatusAggregator.aggregate(llmd, Optional.empty(), List.of(), Optional.empty(), T0).url)
                .isEqualTo("http://chat.example.com/");
        llmd.getSpec().ingress.tls = new IngressSpec.Tls("chat-tls");
        llmd.getSpec().ingress.path = "/v";
        assertThat(StatusAggregator.aggregate(llmd, Optional.empty(), List.of(), Optional.empty(), T0).url)
                .isEqualTo("https://chat.example.com/v");
        assertThat(StatusAggregator.failed(llmd, new IllegalStateException("x"), T0).url).isEqualTo("https://chat.example.com/v");
    }

    @Test
    void aMissingApiKeySecretOrKeyIsDegradedSayingWhichOne() {
        LLMDeployment llmd = Fixtures.llmd();
        llmd.getSpec().serving = new ServingSpec();
        llmd.getSpec().serving.apiKeySecretRef = new SecretKeyRef("chat-key", "token");
        // The pods show what the kubelet says about it; the status names what to create.
        Pod stuck = waiting("chat-a", "CreateContainerConfigError", "secret \"chat-key\" not found");
        Condition missing = condition(StatusAggregator.aggregate(llmd, Optional.of(deployment(1, 1, 1, 1, 1, 0, 0)),
                List.of(stuck), Optional.empty(), T0), "Degraded");
        assertThat(missing.getStatus()).isEqualTo("True");
        assertThat(missing.getReason()).isEqualTo("ApiKeySecretNotFound");
        assertThat(missing.getMessage()).isEqualTo("Secret chat-key (spec.serving.apiKeySecretRef) not found in namespace llm:"
                + " the workers cannot start without their API key");

        Secret other = new SecretBuilder().withNewMetadata().withName("chat-key").withNamespace("llm").endMetadata()
                .addToData("api-key", "eA==").addToData("extra", "eQ==").build();
        Condition noKey = condition(StatusAggregator.aggregate(llmd, Optional.of(deployment(1, 1, 1, 1, 1, 0, 0)),
                List.of(), Optional.of(other), T0), "Degraded");
        assertThat(noKey.getReason()).isEqualTo("ApiKeyNotInSecret");
        assertThat(noKey.getMessage()).isEqualTo("Secret chat-key in namespace llm has no key token"
                + " (spec.serving.apiKeySecretRef.key); it has api-key, extra");

        Secret good = new SecretBuilder(other).addToData("token", "eg==").build();
        assertThat(condition(StatusAggregator.aggregate(llmd, Optional.of(deployment(1, 1, 1, 1, 1, 1, 1)),
                List.of(), Optional.of(good), T0), "Degraded").getStatus()).isEqualTo("False");
    }

    @Test
    void aWorkerThatSaidWhyItExitedIsDegradedWithItsReason() {
        Pod pod = pod("chat-a");
        pod.getStatus().setContainerStatuses(List.of(new ContainerStatusBuilder().withName("worker").withReady(false)
                .withRestartCount(1)
                .withNewState().withNewWaiting().withReason("CrashLoopBackOff").withMessage("back-off 10s").endWaiting().endState()
                .withNewLastState().withNewTerminated().withExitCode(1).withReason("Error")
                .withMessage("ModelInvalid: model /models/m.gguf: /models/m.gguf is not a GGUF file").endTerminated().endLastState()
                .build()));
        Condition degraded = condition(StatusAggregator.aggregate(Fixtures.llmd(), Optional.of(deployment(1, 1, 1, 1, 1, 0, 0)),
                List.of(pod), Optional.empty(), T0), "Degraded");
        assertThat(degraded.getReason()).isEqualTo("ModelInvalid");
        assertThat(degraded.getMessage()).isEqualTo("pod chat-a (of 1): the worker exited with code 1:"
                + " ModelInvalid: model /models/m.gguf: /models/m.gguf is not a GGUF file");
    }

    @Test
    void aFailedReconcileIsDegradedAndKeepsTheRest() {
        LLMDeployment llmd = Fixtures.llmd();
        llmd.setStatus(StatusAggregator.aggregate(llmd, Optional.of(deployment(1, 1, 1, 1, 1, 1, 1)), List.of(), Optional.empty(), T0));
        LLMDeploymentStatus failed = StatusAggregator.failed(llmd, new IllegalStateException("forbidden: quota"), T1);
        assertThat(condition(failed, "Degraded").getReason()).isEqualTo("ReconcileFailed");
        assertThat(condition(failed, "Degraded").getMessage()).isEqualTo("forbidden: quota");
        assertThat(condition(failed, "Ready").getStatus()).isEqualTo("True");
        assertThat(failed.readyReplicas).isEqualTo(1);

        // A failed workflow: each dependent's error, not JOSDK's message with its stack traces.
        var workflow = new AggregatedOperatorException("Exception(s) during workflow execution.", Map.of(
                "ingress", new IllegalStateException("forbidden: ingresses"), "deployment", new RuntimeException("quota")));
        assertThat(condition(StatusAggregator.failed(llmd, workflow, T1), "Degraded").getMessage())
                .isEqualTo("deployment: quota; ingress: forbidden: ingresses");
    }
}
