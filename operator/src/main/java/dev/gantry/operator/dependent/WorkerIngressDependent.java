package dev.gantry.operator.dependent;

import dev.gantry.operator.api.LLMDeployment;
import dev.gantry.operator.desired.WorkerIngress;
import io.fabric8.kubernetes.api.model.networking.v1.Ingress;
import io.javaoperatorsdk.operator.api.config.informer.Informer;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.processing.dependent.kubernetes.KubernetesDependent;

/** The workers' Ingress; only while {@link IngressEnabled} holds, deleted otherwise. */
@KubernetesDependent(informer = @Informer(labelSelector = Selectors.MANAGED))
public class WorkerIngressDependent extends ConditionalDependent<Ingress> {

    public WorkerIngressDependent() {
        super(Ingress.class);
    }

    @Override
    protected Ingress desired(LLMDeployment llmd, Context<LLMDeployment> context) {
        return WorkerIngress.of(llmd);
    }
}
