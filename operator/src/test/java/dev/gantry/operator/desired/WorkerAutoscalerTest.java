package dev.gantry.operator.desired;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.gantry.operator.Fixtures;
import dev.gantry.operator.api.AutoscalingSpec;
import dev.gantry.operator.api.LLMDeployment;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.autoscaling.v2.HPAScalingRulesBuilder;
import io.fabric8.kubernetes.api.model.autoscaling.v2.HorizontalPodAutoscaler;
import io.fabric8.kubernetes.api.model.autoscaling.v2.HorizontalPodAutoscalerBehaviorBuilder;
import io.fabric8.kubernetes.api.model.autoscaling.v2.MetricSpec;
import org.junit.jupiter.api.Test;

class WorkerAutoscalerTest {

    private static LLMDeployment autoscaled(Integer min, int max) {
        LLMDeployment llmd = Fixtures.llmd();
        llmd.getSpec().autoscaling = new AutoscalingSpec();
        llmd.getSpec().autoscaling.minReplicas = min;
        llmd.getSpec().autoscaling.maxReplicas = max;
        return llmd;
    }

    @Test
    void wantedOnlyWithAutoscaling() {
        assertThat(WorkerAutoscaler.wanted(Fixtures.llmd())).isFalse();
        assertThat(WorkerAutoscaler.wanted(autoscaled(null, 2))).isTrue();
        assertThatThrownBy(() -> WorkerAutoscaler.of(Fixtures.llmd(), Fixtures.config()))
                .isInstanceOf(IllegalStateException.class);
    }

    @Test
    void scalesTheWorkerDeploymentOnQueueDepthByDefault() {
        HorizontalPodAutoscaler hpa = WorkerAutoscaler.of(autoscaled(null, 4), Fixtures.config());
        assertThat(hpa.getSpec().getScaleTargetRef().getKind()).isEqualTo("Deployment");
        assertThat(hpa.getSpec().getScaleTargetRef().getApiVersion()).isEqualTo("apps/v1");
        assertThat(hpa.getSpec().getScaleTargetRef().getName()).isEqualTo("chat");
        assertThat(hpa.getSpec().getMinReplicas()).isEqualTo(1);
        assertThat(hpa.getSpec().getMaxReplicas()).isEqualTo(4);
        assertThat(hpa.getSpec().getMetrics()).singleElement().satisfies(m -> {
            assertThat(m.getType()).isEqualTo("Pods");
            assertThat(m.getPods().getMetric().getName()).isEqualTo("vllm:num_requests_waiting");
            assertThat(m.getPods().getTarget().getType()).isEqualTo("AverageValue");
            assertThat(m.getPods().getTarget().getAverageValue()).isEqualTo(new Quantity("5"));
        });
    }

    @Test
    void bothTargetsGiveTwoPodsMetrics() {
        LLMDeployment llmd = autoscaled(2, 8);
        llmd.getSpec().autoscaling.targetQueueDepth = 3;
        llmd.getSpec().autoscaling.targetGpuUtilization = 80;
        HorizontalPodAutoscaler hpa = WorkerAutoscaler.of(llmd, Fixtures.config());
        assertThat(hpa.getSpec().getMinReplicas()).isEqualTo(2);
        assertThat(hpa.getSpec().getMetrics()).extracting(MetricSpec::getType).containsOnly("Pods");
        assertThat(hpa.getSpec().getMetrics()).extracting(m -> m.getPods().getMetric().getName())
                .containsExactly("vllm:num_requests_waiting", "DCGM_FI_DEV_GPU_UTIL");
        assertThat(hpa.getSpec().getMetrics()).extracting(m -> m.getPods().getTarget().getAverageValue())
                .containsExactly(new Quantity("3"), new Quantity("80"));
    }

    @Test
    void gpuTargetAloneDoesNotAddTheDefaultQueueTarget() {
        LLMDeployment llmd = autoscaled(1, 3);
        llmd.getSpec().autoscaling.targetGpuUtilization = 70;
        assertThat(WorkerAutoscaler.of(llmd, Fixtures.config()).getSpec().getMetrics())
                .singleElement().satisfies(m -> assertThat(m.getPods().getMetric().getName()).isEqualTo("DCGM_FI_DEV_GPU_UTIL"));
    }

    @Test
    void behaviorIsPassedThrough() {
        LLMDeployment llmd = autoscaled(1, 3);
        llmd.getSpec().autoscaling.behavior = new HorizontalPodAutoscalerBehaviorBuilder()
                .withScaleDown(new HPAScalingRulesBuilder().withStabilizationWindowSeconds(600).build())
                .build();
        assertThat(WorkerAutoscaler.of(llmd, Fixtures.config()).getSpec().getBehavior().getScaleDown()
                .getStabilizationWindowSeconds()).isEqualTo(600);
    }

    @Test
    void everyTargetIsOneMetricAndOnlyWhenSet() {
        LLMDeployment llmd = autoscaled(1, 6);
        llmd.getSpec().autoscaling.targetRequestsPerSecond = 0.5;
        llmd.getSpec().autoscaling.targetCpuUtilization = 70;
        llmd.getSpec().autoscaling.targetMemoryUtilization = 90;
        var metrics = WorkerAutoscaler.of(llmd, Fixtures.config()).getSpec().getMetrics();
        // No queue target was set, and other targets are: no default queue metric either.
        assertThat(metrics).extracting(MetricSpec::getType).containsExactly("Pods", "Resource", "Resource");
        assertThat(metrics.get(0).getPods().getMetric().getName()).isEqualTo("gantry:requests_per_second");
        assertThat(metrics.get(0).getPods().getTarget().getType()).isEqualTo("AverageValue");
        assertThat(metrics.get(0).getPods().getTarget().getAverageValue()).isEqualTo(new Quantity("500m"));
        assertThat(metrics.get(1).getResource().getName()).isEqualTo("cpu");
        assertThat(metrics.get(1).getResource().getTarget().getType()).isEqualTo("Utilization");
        assertThat(metrics.get(1).getResource().getTarget().getAverageUtilization()).isEqualTo(70);
        assertThat(metrics.get(2).getResource().getName()).isEqualTo("memory");
        assertThat(metrics.get(2).getResource().getTarget().getAverageUtilization()).isEqualTo(90);
    }

    @Test
    void metricNamesComeFromTheOperatorConfig() {
        LLMDeployment llmd = autoscaled(1, 2);
        llmd.getSpec().autoscaling.targetRequestsPerSecond = 2.0;
        llmd.getSpec().autoscaling.targetQueueDepth = 4;
        var config = Fixtures.config(java.util.Map.of(
                "gantry.operator.autoscaling.requests-per-second-metric", "rps",
                "gantry.operator.autoscaling.queue-depth-metric", "queue"));
        assertThat(WorkerAutoscaler.of(llmd, config).getSpec().getMetrics())
                .extracting(m -> m.getPods().getMetric().getName(), m -> m.getPods().getTarget().getAverageValue())
                .containsExactly(org.assertj.core.groups.Tuple.tuple("queue", new Quantity("4")),
                        org.assertj.core.groups.Tuple.tuple("rps", new Quantity("2")));
    }

    @Test
    void fractionalTargetsKeepThousandths() {
        assertThat(WorkerAutoscaler.milli(0.25)).isEqualTo(new Quantity("250m"));
        assertThat(WorkerAutoscaler.milli(3)).isEqualTo(new Quantity("3"));
        assertThat(WorkerAutoscaler.milli(1.0005)).isEqualTo(new Quantity("1001m"));
        // Never a zero target, which the HPA would refuse.
        assertThat(WorkerAutoscaler.milli(0.0001)).isEqualTo(new Quantity("1m"));
    }
}
