package dev.gantry.operator.dependent;

import dev.gantry.operator.api.LLMDeployment;
import dev.gantry.operator.desired.WorkerDisruptionBudget;
import io.fabric8.kubernetes.api.model.policy.v1.PodDisruptionBudget;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.dependent.DependentResource;
import io.javaoperatorsdk.operator.processing.dependent.workflow.Condition;

/** Precondition of the PDB: more than one worker (fixed, or as the autoscaling minimum). */
public class MultipleWorkers implements Condition<PodDisruptionBudget, LLMDeployment> {
    @Override
    public boolean isMet(DependentResource<PodDisruptionBudget, LLMDeployment> dependent, LLMDeployment llmd,
            Context<LLMDeployment> context) {
        return WorkerDisruptionBudget.wanted(llmd);
    }
}
