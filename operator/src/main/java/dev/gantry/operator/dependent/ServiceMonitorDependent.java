package dev.gantry.operator.dependent;

import dev.gantry.operator.api.LLMDeployment;
import dev.gantry.operator.desired.WorkerServiceMonitor;
import dev.gantry.operator.monitoring.ServiceMonitor;
import io.javaoperatorsdk.operator.api.config.informer.Informer;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.processing.dependent.kubernetes.CRUDKubernetesDependentResource;
import io.javaoperatorsdk.operator.processing.dependent.kubernetes.KubernetesDependent;

/**
 * The workers' ServiceMonitor. Activated by {@link ServiceMonitorCrdPresent}: without the
 * Prometheus Operator's CRD there is no informer to start and nothing to create, and the
 * prometheus.io/* pod annotations remain for annotation-based scraping.
 */
@KubernetesDependent(informer = @Informer(labelSelector = Selectors.MANAGED))
public class ServiceMonitorDependent extends CRUDKubernetesDependentResource<ServiceMonitor, LLMDeployment> {

    public ServiceMonitorDependent() {
        super(ServiceMonitor.class);
    }

    @Override
    protected ServiceMonitor desired(LLMDeployment llmd, Context<LLMDeployment> context) {
        return WorkerServiceMonitor.of(llmd);
    }
}
