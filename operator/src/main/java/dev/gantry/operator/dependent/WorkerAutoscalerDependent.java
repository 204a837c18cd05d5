package dev.gantry.operator.dependent;

import dev.gantry.operator.api.LLMDeployment;
import dev.gantry.operator.config.OperatorConfig;
import dev.gantry.operator.desired.WorkerAutoscaler;
import io.fabric8.kubernetes.api.model.autoscaling.v2.HorizontalPodAutoscaler;
import io.javaoperatorsdk.operator.api.config.informer.Informer;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.processing.dependent.kubernetes.KubernetesDependent;
import jakarta.inject.Inject;

/**
 * The workers' HorizontalPodAutoscaler. Reconciled only while {@link AutoscalingEnabled} holds;
 * when it stops holding, the workflow deletes the HPA.
 */
@KubernetesDependent(informer = @Informer(labelSelector = Selectors.MANAGED))
public class WorkerAutoscalerDependent extends ConditionalDependent<HorizontalPodAutoscaler> {
    /** Injected under Quarkus; given to the other constructor by {@code StandaloneOperator}. */
    @Inject
    OperatorConfig config;

    /**
     * For CDI, and for quarkus-operator-sdk's build step, which instantiates dependents to find
     * the group and plural their RBAC rules name.
     */
    public WorkerAutoscalerDependent() {
        super(HorizontalPodAutoscaler.class);
    }

    public WorkerAutoscalerDependent(OperatorConfig config) {
        this();
        this.config = config;
    }

    @Override
    protected HorizontalPodAutoscaler desired(LLMDeployment llmd, Context<LLMDeployment> context) {
        return WorkerAutoscaler.of(llmd, config);
    }
}
