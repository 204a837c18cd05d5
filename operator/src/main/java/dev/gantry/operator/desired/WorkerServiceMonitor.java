package dev.gantry.operator.desired;

import dev.gantry.operator.api.LLMDeployment;
import dev.gantry.operator.monitoring.ServiceMonitor;
import dev.gantry.operator.monitoring.ServiceMonitorSpec;
import java.util.List;

/** The Prometheus Operator ServiceMonitor that scrapes the workers' /metrics through their Service. */
public final class WorkerServiceMonitor {
    /** Engine gauges (queue depth, KV-cache use) move fast; 15s keeps autoscaling responsive. */
    static final String INTERVAL = "15s";

    private WorkerServiceMonitor() {
    }

    public static ServiceMonitor of(LLMDeployment llmd) {
        ServiceMonitorSpec spec = new ServiceMonitorSpec();
        spec.selector = WorkerLabels.labelSelector(llmd);
        ServiceMonitorSpec.Endpoint endpoint = new ServiceMonitorSpec.Endpoint();
        endpoint.port = WorkerLabels.HTTP_PORT_NAME;
        endpoint.path = WorkerContainer.METRICS_PATH;
        endpoint.interval = INTERVAL;
        spec.endpoints = List.of(endpoint);
        ServiceMonitor monitor = new ServiceMonitor();
        monitor.setMetadata(WorkerLabels.metadata(llmd));
        monitor.setSpec(spec);
        return monitor;
    }
}
