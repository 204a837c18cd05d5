package dev.gantry.operator.desired;

import dev.gantry.operator.api.AutoscalingSpec;
import dev.gantry.operator.api.LLMDeployment;
import dev.gantry.operator.config.OperatorConfig;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.autoscaling.v2.HorizontalPodAutoscaler;
import io.fabric8.kubernetes.api.model.autoscaling.v2.HorizontalPodAutoscalerBuilder;
import io.fabric8.kubernetes.api.model.autoscaling.v2.MetricSpec;
import io.fabric8.kubernetes.api.model.autoscaling.v2.MetricSpecBuilder;
import java.util.ArrayList;
import java.util.List;

/**
 * The HorizontalPodAutoscaler of autoscaled workers: one metric per target the spec sets, the HPA
 * taking the largest replica count among them.
 * <ul>
 * <li>queue depth and requests per second: Pods metrics (per-pod averages) from a custom-metrics
 * adapter such as prometheus-adapter over the workers' /metrics. Waiting requests are what users
 * feel; arrivals per second lead the queue.
 * <li>GPU utilization: a Pods metric from the DCGM exporter, through the same adapter; it catches
 * saturation before queues form.
 * <li>CPU and memory: Resource metrics (metrics-server), as a percentage of the pod's requests.
 * </ul>
 * With no target at all, the queue depth at the operator's default target.
 */
public final class WorkerAutoscaler {

    private WorkerAutoscaler() {
    }

    /** Whether an HPA belongs to this LLMDeployment at all (the dependent's precondition). */
    public static boolean wanted(LLMDeployment llmd) {
        return llmd.getSpec().autoscaling != null;
    }

    public static HorizontalPodAutoscaler of(LLMDeployment llmd, OperatorConfig config) {
        AutoscalingSpec autoscaling = llmd.getSpec().autoscaling;
        if (autoscaling == null) {
            throw new IllegalStateException("no autoscaling in the spec of " + llmd.getMetadata().getName());
        }
        return new HorizontalPodAutoscalerBuilder()
                .withMetadata(WorkerLabels.metadata(llmd))
                .withNewSpec()
                .withNewScaleTargetRef()
                .withApiVersion("apps/v1").withKind("Deployment").withName(llmd.getMetadata().getName())
                .endScaleTargetRef()
                .withMinReplicas(autoscaling.minReplicas == null ? 1 : autoscaling.minReplicas)
                .withMaxReplicas(autoscaling.maxReplicas)
                .withMetrics(metrics(autoscaling, config.autoscaling()))
                .withBehavior(autoscaling.behavior)
                .endSpec()
                .build();
    }

    static List<MetricSpec> metrics(AutoscalingSpec autoscaling, OperatorConfig.Autoscaling config) {
        List<MetricSpec> metrics = new ArrayList<>();
        Integer queueDepth = autoscaling.targetQueueDepth;
        if (queueDepth == null && !anyTarget(autoscaling)) {
            queueDepth = config.defaultTargetQueueDepth();
        }
        if (queueDepth != null) {
            metrics.add(podsAverage(config.queueDepthMetric(), new Quantity(String.valueOf(queueDepth))));
        }
        if (autoscaling.targetRequestsPerSecond != null) {
            metrics.add(podsAverage(config.requestsPerSecondMetric(), milli(autoscaling.targetRequestsPerSecond)));
        }
        if (autoscaling.targetGpuUtilization != null) {
            // An AverageValue, not a Utilization target: Utilization exists only for cpu/memory
            // Resource metrics, and the DCGM gauge already is a percentage.
            metrics.add(podsAverage(config.gpuUtilizationMetric(),
                    new Quantity(String.valueOf(autoscaling.targetGpuUtilization))));
        }
        if (autoscaling.targetCpuUtilization != null) {
            metrics.add(resourceUtilization("cpu", autoscaling.targetCpuUtilization));
        }
        if (autoscaling.targetMemoryUtilization != null) {
            metrics.add(resourceUtilization("memory", autoscaling.targetMemoryUtilization));
        }
        return metrics;
    }

    static boolean anyTarget(AutoscalingSpec a) {
        return a.targetQueueDepth != null || a.targetGpuUtilization != null || a.targetCpuUtilization != null
                || a.targetMemoryUtilization != null || a.targetRequestsPerSecond != null;
    }

    /** A fractional target as a quantity in thousandths ("500m" for 0.5), the HPA's own precision. */
    static Quantity milli(double value) {
        long thousandths = Math.max(1, Math.round(value * 1000));
        return thousandths % 1000 == 0 ? new Quantity(String.valueOf(thousandths / 1000)) : new Quantity(thousandths + "m");
    }

    private static MetricSpec podsAverage(String metric, Quantity target) {
        return new MetricSpecBuilder()
                .withType("Pods")
                .withNewPods()
                .withNewMetric().withName(metric).endMetric()
                .withNewTarget().withType("AverageValue").withAverageValue(target).endTarget()
                .endPods()
                .build();
    }

    private static MetricSpec resourceUtilization(String resource, int percent) {
        return new MetricSpecBuilder()
                .withType("Resource")
                .withNewResource()
                .withName(resource)
                .withNewTarget().withType("Utilization").withAverageUtilization(percent).endTarget()
                .endResource()
                .build();
    }
}
