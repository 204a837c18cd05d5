package dev.gantry.operator.desired;

import dev.gantry.operator.api.LLMDeployment;
import dev.gantry.operator.api.LLMDeploymentSpec;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.policy.v1.PodDisruptionBudget;
import io.fabric8.kubernetes.api.model.policy.v1.PodDisruptionBudgetBuilder;

/**
 * The PodDisruptionBudget that lets node drains evict one worker at a time. Only for more than one
 * worker: with one, maxUnavailable 1 protects nothing, and maxUnavailable 0 would block every drain.
 */
public final class WorkerDisruptionBudget {

    private WorkerDisruptionBudget() {
    }

    /** Whether a PDB belongs to this LLMDeployment (the dependent's precondition). */
    public static boolean wanted(LLMDeployment llmd) {
        LLMDeploymentSpec spec = llmd.getSpec();
        if (spec.autoscaling != null) {
            return spec.autoscaling.minReplicas != null && spec.autoscaling.minReplicas > 1;
        }
        return spec.replicas != null && spec.replicas > 1;
    }

    public static PodDisruptionBudget of(LLMDeployment llmd) {
        return new PodDisruptionBudgetBuilder()
                .withMetadata(WorkerLabels.metadata(llmd))
                .withNewSpec()
                .withMaxUnavailable(new IntOrString(1))
                .withSelector(WorkerLabels.labelSelector(llmd))
                .endSpec()
                .build();
    }
}
