package dev.gantry.operator.dependent;

import dev.gantry.operator.api.LLMDeployment;
import dev.gantry.operator.desired.WorkerIngress;
import io.fabric8.kubernetes.api.model.networking.v1.Ingress;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.dependent.DependentResource;
import io.javaoperatorsdk.operator.processing.dependent.workflow.Condition;

/** Precondition of the Ingress: the spec has an ingress; when it goes, the workflow deletes the Ingress. */
public class IngressEnabled implements Condition<Ingress, LLMDeployment> {
    @Override
    public boolean isMet(DependentResource<Ingress, LLMDeployment> dependent, LLMDeployment llmd,
            Context<LLMDeployment> context) {
        return WorkerIngress.wanted(llmd);
    }
}
