package dev.gantry.operator.dependent;

import dev.gantry.operator.api.LLMDeployment;
import dev.gantry.operator.desired.WorkerDisruptionBudget;
import io.fabric8.kubernetes.api.model.policy.v1.PodDisruptionBudget;
import io.javaoperatorsdk.operator.api.config.informer.Informer;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.processing.dependent.kubernetes.KubernetesDependent;

/** The workers' PodDisruptionBudget; only while {@link MultipleWorkers} holds, deleted otherwise. */
@KubernetesDependent(informer = @Informer(labelSelector = Selectors.MANAGED))
public class WorkerDisruptionBudgetDependent extends ConditionalDependent<PodDisruptionBudget> {

    public WorkerDisruptionBudgetDependent() {
        super(PodDisruptionBudget.class);
    }

    @Override
    protected PodDisruptionBudget desired(LLMDeployment llmd, Context<LLMDeployment> context) {
        return WorkerDisruptionBudget.of(llmd);
    }
}
