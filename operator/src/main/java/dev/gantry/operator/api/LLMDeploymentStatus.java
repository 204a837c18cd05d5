package dev.gantry.operator.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.model.annotation.LabelSelector;
import io.fabric8.kubernetes.model.annotation.StatusReplicas;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * The observed state of an {@link LLMDeployment}; built only by {@code status.StatusAggregator}.
 * {@link #equals} is by value so the reconciler can skip status writes that would change nothing.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class LLMDeploymentStatus {

    @JsonPropertyDescription("Ready, Progressing, Degraded and, under autoscaling, Autoscaling (whether the "
            + "HorizontalPodAutoscaler reads its metrics), each with the generation it describes.")
    public List<Condition> conditions = new ArrayList<>();

    @StatusReplicas
    @JsonPropertyDescription("Workers that exist (the Deployment's status.replicas).")
    public Integer replicas;

    @JsonPropertyDescription("Workers that pass their readiness probe.")
    public Integer readyReplicas;

    @JsonPropertyDescription("The URL of the OpenAI-compatible API: through the Ingress (http(s)://host/path) when "
            + "spec.ingress names a host, else the in-cluster Service URL.")
    public String url;

    @JsonPropertyDescription("The metadata.generation this status was computed for.")
    public Long observedGeneration;

    @LabelSelector
    @JsonPropertyDescription("The workers' label selector, for the scale subresource.")
    public String selector;

    @Override
    public boolean equals(Object o) {
        return o instanceof LLMDeploymentStatus s
                && Objects.equals(conditions, s.conditions)
                && Objects.equals(replicas, s.replicas)
                && Objects.equals(readyReplicas, s.readyReplicas)
                && Objects.equals(url, s.url)
                && Objects.equals(observedGeneration, s.observedGeneration)
                && Objects.equals(selector, s.selector);
    }

    @Override
    public int hashCode() {
        return Objects.hash(conditions, replicas, readyReplicas, url, observedGeneration, selector);
    }
}
