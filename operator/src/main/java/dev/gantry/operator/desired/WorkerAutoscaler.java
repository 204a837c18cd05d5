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
 * The HorizontalPodAutoscaler of autoscaled workers. Both targets are Pods metrics (per-pod
 * averages from a custom-metrics adapter such as prometheus-adapter over the workers' /metrics and
 * the DCGM exporter): the queue depth says when requests wait, which is what users feel; GPU
 * utilization catches saturation before queues form. With both, the HPA takes the larger count.
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
        if (queueDepth == null && autoscaling.targetGpuUtilization == null) {
            queueDepth = config.defaultTargetQueueDepth();
        }
        if (queueDepth != null) {
            metrics.add(podsAverage(config.queueDepthMetric(), queueDepth));
        }
        if (autoscaling.targetGpuUtilization != null) {
            // An AverageValue, not a Utilization target: Utilization exists only for cpu/memory
            // Resource metrics, and the DCGM gauge already is a percentage.
            metrics.add(podsAverage(config.gpuUtilizationMetric(), autoscaling.targetGpuUtilization));
        }
        return metrics;
    }

    private static MetricSpec podsAverage(String metric, int target) {
        return new MetricSpecBuilder()
                .withType("Pods")
                .withNewPods()
                .withNewMetric().withName(metric).endMetric()
                .withNewTarget().withType("AverageValue").withAverageValue(new Quantity(String.valueOf(target))).endTarget()
                .endPods()
                .build();
    }
}
