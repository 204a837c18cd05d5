package dev.gantry.operator.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Max;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.ValidationRule;
import io.fabric8.kubernetes.api.model.autoscaling.v2.HorizontalPodAutoscalerBehavior;

/** Worker autoscaling through an autoscaling/v2 HorizontalPodAutoscaler on the workers' Deployment. */
@JsonInclude(JsonInclude.Include.NON_NULL)
@ValidationRule(value = "!has(self.minReplicas) || self.minReplicas <= self.maxReplicas",
        message = "minReplicas must not be greater than maxReplicas", reason = "FieldValueInvalid")
public class AutoscalingSpec {

    @Min(1)
    @JsonPropertyDescription("The fewest workers (default 1).")
    public Integer minReplicas;

    @Required
    @Min(1)
    @JsonPropertyDescription("The most workers.")
    public Integer maxReplicas;

    @Min(1)
    @JsonPropertyDescription("Target per-worker average of waiting requests (the vllm:num_requests_waiting gauge, "
            + "through a custom-metrics adapter such as prometheus-adapter). Default when no target is set: "
            + "the operator's gantry.operator.autoscaling.default-target-queue-depth.")
    public Integer targetQueueDepth;

    @Min(1)
    @Max(100)
    @JsonPropertyDescription("Target per-worker average GPU utilization in percent (the DCGM exporter's "
            + "DCGM_FI_DEV_GPU_UTIL, through a custom-metrics adapter).")
    public Integer targetGpuUtilization;

    @JsonPropertyDescription("Scale-up and scale-down policies and stabilization windows, as in a "
            + "HorizontalPodAutoscaler's spec.behavior.")
    public HorizontalPodAutoscalerBehavior behavior;
}
