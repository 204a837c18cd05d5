package dev.gantry.operator.dependent;

import dev.gantry.operator.api.LLMDeployment;
import dev.gantry.operator.desired.WorkerAutoscaler;
import io.fabric8.kubernetes.api.model.autoscaling.v2.HorizontalPodAutoscaler;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.dependent.DependentResource;
import io.javaoperatorsdk.operator.processing.dependent.workflow.Condition;

/** Precondition of the HPA: the spec asks for autoscaling. */
public class AutoscalingEnabled implements Condition<HorizontalPodAutoscaler, LLMDeployment> {
    @Override
    public boolean isMet(DependentResource<HorizontalPodAutoscaler, LLMDeployment> dependent, LLMDeployment llmd,
            Context<LLMDeployment> context) {
        return WorkerAutoscaler.wanted(llmd);
    }
}
