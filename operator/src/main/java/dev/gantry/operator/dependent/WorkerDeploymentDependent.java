package dev.gantry.operator.dependent;

import dev.gantry.operator.api.LLMDeployment;
import dev.gantry.operator.config.OperatorConfig;
import dev.gantry.operator.desired.WorkerDeployment;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.javaoperatorsdk.operator.api.config.informer.Informer;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.processing.dependent.kubernetes.CRUDKubernetesDependentResource;
import io.javaoperatorsdk.operator.processing.dependent.kubernetes.KubernetesDependent;
import jakarta.inject.Inject;

/**
 * The workers' Deployment, applied server-side; see {@link WorkerDeployment} for what it holds. The
 * API key's Secret comes from the reconciler's {@link ApiKeySecrets} event source.
 */
@KubernetesDependent(informer = @Informer(labelSelector = Selectors.MANAGED))
public class WorkerDeploymentDependent extends CRUDKubernetesDependentResource<Deployment, LLMDeployment> {
    /** Injected under Quarkus; given to the other constructor by {@code StandaloneOperator}. */
    @Inject
    OperatorConfig config;

    /**
     * For CDI, and for quarkus-operator-sdk's build step, which instantiates dependents to find
     * the group and plural their RBAC rules name.
     */
    public WorkerDeploymentDependent() {
        super(Deployment.class);
    }

    public WorkerDeploymentDependent(OperatorConfig config) {
        this();
        this.config = config;
    }

    @Override
    protected Deployment desired(LLMDeployment llmd, Context<LLMDeployment> context) {
        return WorkerDeployment.of(llmd, config, ApiKeySecrets.observed(llmd, context));
    }

    /** Under autoscaling the apply leaves spec.replicas out; {@link ReplicasHandover} keeps the count first. */
    @Override
    public Deployment update(Deployment actual, Deployment desired, LLMDeployment llmd, Context<LLMDeployment> context) {
        if (desired.getSpec().getReplicas() == null) {
            ReplicasHandover.keepReplicas(context.getClient(), actual, context.getControllerConfiguration().fieldManager());
        }
        return super.update(actual, desired, llmd, context);
    }
}
