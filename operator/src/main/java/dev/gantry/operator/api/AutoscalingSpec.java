package dev.gantry.operator.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Max;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.ValidationRule;
import io.fabric8.kubernetes.api.model.autoscaling.v2.HorizontalPodAutoscalerBehavior;

/**
 * Worker autoscaling through an autoscaling/v2 HorizontalPodAutoscaler on the workers' Deployment:
 * one HPA metric per target that is set (the HPA takes the largest replica count they give).
 */
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
            + "through a custom-metrics adapter such as prometheus-adapter). Default when no target of any kind is "
            + "set: the operator's gantry.operator.autoscaling.default-target-queue-depth.")
    public Integer targetQueueDepth;

    @Min(1)
    @Max(100)
    @JsonPropertyDescription("Target per-worker average GPU utilization in percent (the DCGM exporter's "
            + "DCGM_FI_DEV_GPU_UTIL, through a custom-metrics adapter).")
    public Integer targetGpuUtilization;

    @Min(1)
    @JsonPropertyDescription("Target per-worker average CPU use, in percent of the worker's CPU request (a Resource "
            + "metric from the resource metrics API, metrics-server). Needs resources.requests.cpu.")
    public Integer targetCpuUtilization;

    @Min(1)
    @JsonPropertyDescription("Target per-worker average memory use, in percent of the worker's memory request (a "
            + "Resource metric from metrics-server). Needs resources.requests.memory. The model's weights and KV cache "
            + "are allocated at start, so memory says little about load; it guards against growth past the request.")
    public Integer targetMemoryUtilization;

    // Exclusive 0, not an inclusive 0.001: the API server compares a whole-number value (0) with
    // the minimum as whole numbers, so a fractional minimum would let 0 through.
    @Min(value = 0, inclusive = false)
    @JsonPropertyDescription("Target per-worker average of generation requests arriving per second (the rate of "
            + "gantry:requests_received_total, through a custom-metrics adapter), e.g. 0.5. Arrivals, not completions: "
            + "completions stop growing once a worker is saturated, arrivals do not.")
    public Double targetRequestsPerSecond;

    @JsonPropertyDescription("Scale-up and scale-down policies and stabilization windows, as in a "
            + "HorizontalPodAutoscaler's spec.behavior.")
    public HorizontalPodAutoscalerBehavior behavior;
}
