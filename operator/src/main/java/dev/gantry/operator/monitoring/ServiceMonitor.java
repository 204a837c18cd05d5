package dev.gantry.operator.monitoring;

import io.fabric8.kubernetes.api.model.Namespaced;
import io.fabric8.kubernetes.client.CustomResource;
import io.fabric8.kubernetes.model.annotation.Group;
import io.fabric8.kubernetes.model.annotation.Kind;
import io.fabric8.kubernetes.model.annotation.Plural;
import io.fabric8.kubernetes.model.annotation.Version;

/**
 * The Prometheus Operator's ServiceMonitor (monitoring.coreos.com/v1), only the fields Gantry sets.
 * A typed class rather than a GenericKubernetesResource so that JOSDK's
 * CRDPresentActivationCondition can name the CRD it waits for from the annotations. The CRD is the
 * Prometheus Operator's: Gantry never generates nor installs it.
 */
@Group("monitoring.coreos.com")
@Version("v1")
@Kind("ServiceMonitor")
@Plural("servicemonitors")
public class ServiceMonitor extends CustomResource<ServiceMonitorSpec, Void> implements Namespaced {
}
