package dev.gantry.operator.desired;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gantry.operator.Fixtures;
import dev.gantry.operator.api.AutoscalingSpec;
import dev.gantry.operator.api.LLMDeployment;
import io.fabric8.kubernetes.api.model.policy.v1.PodDisruptionBudget;
import org.junit.jupiter.api.Test;

class WorkerDisruptionBudgetTest {

    @Test
    void wantedOnlyForMoreThanOneWorker() {
        LLMDeployment llmd = Fixtures.llmd();
        assertThat(WorkerDisruptionBudget.wanted(llmd)).as("default: one worker").isFalse();
        llmd.getSpec().replicas = 1;
        assertThat(WorkerDisruptionBudget.wanted(llmd)).isFalse();
        llmd.getSpec().replicas = 2;
        assertThat(WorkerDisruptionBudget.wanted(llmd)).isTrue();

        llmd.getSpec().replicas = null;
        llmd.getSpec().autoscaling = new AutoscalingSpec();
        llmd.getSpec().autoscaling.maxReplicas = 10;
        assertThat(WorkerDisruptionBudget.wanted(llmd)).as("minReplicas defaults to 1").isFalse();
        llmd.getSpec().autoscaling.minReplicas = 2;
        assertThat(WorkerDisruptionBudget.wanted(llmd)).isTrue();
    }

    @Test
    void letsOneWorkerGoAtATime() {
        PodDisruptionBudget pdb = WorkerDisruptionBudget.of(Fixtures.llmd());
        assertThat(pdb.getSpec().getMaxUnavailable().getIntVal()).isEqualTo(1);
        assertThat(pdb.getSpec().getMinAvailable()).isNull();
        assertThat(pdb.getSpec().getSelector().getMatchLabels())
                .containsEntry("app.kubernetes.io/instance", "chat")
                .containsEntry("app.kubernetes.io/name", "gantry-worker");
    }
}
