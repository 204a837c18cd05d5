package dev.gantry.operator.status;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gantry.operator.Fixtures;
import dev.gantry.operator.api.AutoscalingSpec;
import dev.gantry.operator.api.LLMDeployment;
import dev.gantry.operator.api.LLMDeploymentStatus;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.ContainerStatusBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.DeploymentBuilder;
import java.time.Instant;
import java.util.List;
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
                List.of(pod("chat-a"), pod("chat-b")), T0);
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
                Optional.of(deployment(1, 4, 3, 1, 1, 1, 1)), List.of(), T0);
        assertThat(condition(status, "Ready").getStatus()).isEqualTo("False");
        assertThat(condition(status, "Progressing").getStatus()).isEqualTo("True");
    }

    @Test
    void progressingWhileRollingOut() {
        LLMDeployment llmd = Fixtures.llmd();
        llmd.getSpec().replicas = 3;
        // One new pod, old ones still around.
        LLMDeploymentStatus status = StatusAggregator.aggregate(llmd, Optional.of(deployment(3, 2, 2, 4, 1, 3, 3)),
                List.of(), T0);
        assertThat(condition(status, "Ready").getStatus()).isEqualTo("False");
        assertThat(condition(status, "Progressing").getStatus()).isEqualTo("True");
        assertThat(condition(status, "Progressing").getReason()).isEqualTo("RollingOut");
        assertThat(condition(status, "Progressing").getMessage()).isEqualTo("1 of 3 workers updated, 3 available");
    }

    @Test
    void progressingBeforeTheDeploymentExists() {
        LLMDeploymentStatus status = StatusAggregator.aggregate(Fixtures.llmd(), Optional.empty(), List.of(), T0);
        assertThat(condition(status, "Ready").getStatus()).isEqualTo("False");
        assertThat(condition(status, "Progressing").getStatus()).isEqualTo("True");
        assertThat(status.replicas).isZero();
    }

    @Test
    void degradedWhenAWorkerCrashLoops() {
        LLMDeploymentStatus status = StatusAggregator.aggregate(Fixtures.llmd(),
                Optional.of(deployment(1, 1, 1, 1, 1, 0, 0)),
                List.of(pod("chat-b"), waiting("chat-a", "CrashLoopBackOff", "back-off 40s restarting failed container")), T0);
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
                List.of(waiting("chat-a", "ImagePullBackOff", "Back-off pulling image \"gantry:nope\"")), T0);
        assertThat(condition(status, "Degraded").getReason()).isEqualTo("ImagePullBackOff");
        assertThat(condition(status, "Degraded").getMessage()).contains("gantry:nope");
    }

    @Test
    void degradedWhenAWorkerCannotBeScheduled() {
        LLMDeploymentStatus status = StatusAggregator.aggregate(Fixtures.llmd(),
                Optional.of(deployment(1, 1, 1, 1, 1, 0, 0)), List.of(unschedulable("chat-a")), T0);
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
                Optional.of(deployment(1, 1, 1, 1, 1, 1, 1)), List.of(leaving), T0);
        assertThat(condition(status, "Degraded").getStatus()).isEqualTo("False");
    }

    @Test
    void sameObservationSameStatusAndTransitionTimesOnlyMoveOnFlips() {
        LLMDeployment llmd = Fixtures.llmd();
        LLMDeploymentStatus first = StatusAggregator.aggregate(llmd, Optional.of(deployment(1, 1, 1, 1, 1, 0, 0)), List.of(), T0);
        llmd.setStatus(first);
        LLMDeploymentStatus again = StatusAggregator.aggregate(llmd, Optional.of(deployment(1, 1, 1, 1, 1, 0, 0)), List.of(), T1);
        assertThat(again).as("nothing changed: no status write").isEqualTo(first);

        llmd.setStatus(again);
        LLMDeploymentStatus ready = StatusAggregator.aggregate(llmd, Optional.of(deployment(1, 1, 1, 1, 1, 1, 1)), List.of(), T1);
        assertThat(condition(ready, "Ready").getLastTransitionTime()).isEqualTo("2026-01-01T10:05:00Z");
        assertThat(condition(ready, "Degraded").getLastTransitionTime()).as("still False").isEqualTo("2026-01-01T10:00:00Z");
    }

    @Test
    void underAutoscalingTheHpasCountIsTheTarget() {
        LLMDeployment llmd = Fixtures.llmd();
        llmd.getSpec().autoscaling = new AutoscalingSpec();
        llmd.getSpec().autoscaling.maxReplicas = 5;
        // The HPA set 3; two are available: not ready yet.
        LLMDeploymentStatus scaling = StatusAggregator.aggregate(llmd, Optional.of(deployment(3, 2, 2, 3, 3, 2, 2)), List.of(), T0);
        assertThat(condition(scaling, "Ready").getStatus()).isEqualTo("False");
        LLMDeploymentStatus scaled = StatusAggregator.aggregate(llmd, Optional.of(deployment(3, 2, 2, 3, 3, 3, 3)), List.of(), T0);
        assertThat(condition(scaled, "Ready").getStatus()).isEqualTo("True");
    }

    @Test
    void aFailedReconcileIsDegradedAndKeepsTheRest() {
        LLMDeployment llmd = Fixtures.llmd();
        llmd.setStatus(StatusAggregator.aggregate(llmd, Optional.of(deployment(1, 1, 1, 1, 1, 1, 1)), List.of(), T0));
        LLMDeploymentStatus failed = StatusAggregator.failed(llmd, new IllegalStateException("forbidden: quota"), T1);
        assertThat(condition(failed, "Degraded").getReason()).isEqualTo("ReconcileFailed");
        assertThat(condition(failed, "Degraded").getMessage()).isEqualTo("forbidden: quota");
        assertThat(condition(failed, "Ready").getStatus()).isEqualTo("True");
        assertThat(failed.readyReplicas).isEqualTo(1);
    }
}
