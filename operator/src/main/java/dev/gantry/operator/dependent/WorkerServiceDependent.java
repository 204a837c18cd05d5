package dev.gantry.operator.dependent;

import dev.gantry.operator.api.LLMDeployment;
import dev.gantry.operator.desired.WorkerService;
import io.fabric8.kubernetes.api.model.Service;
import io.javaoperatorsdk.operator.api.config.informer.Informer;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.processing.dependent.kubernetes.CRUDKubernetesDependentResource;
import io.javaoperatorsdk.operator.processing.dependent.kubernetes.KubernetesDependent;

/** The ClusterIP Service of the workers. */
@KubernetesDependent(informer = @Informer(labelSelector = Selectors.MANAGED))
public class WorkerServiceDependent extends CRUDKubernetesDependentResource<Service, LLMDeployment> {

    public WorkerServiceDependent() {
        super(Service.class);
    }

    @Override
    protected Service desired(LLMDeployment llmd, Context<LLMDeployment> context) {
        return WorkerService.of(llmd);
    }
}
