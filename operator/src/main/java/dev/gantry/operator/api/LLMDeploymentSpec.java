package dev.gantry.operator.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.ValidationRule;
import io.fabric8.kubernetes.api.model.Affinity;
import io.fabric8.kubernetes.api.model.Toleration;
import io.fabric8.kubernetes.model.annotation.SpecReplicas;
import java.util.List;
import java.util.Map;

/** The desired state of an {@link LLMDeployment}. */
@JsonInclude(JsonInclude.Include.NON_NULL)
// Both set would leave two owners of the worker count (the operator and the HPA) fighting.
@ValidationRule(value = "!(has(self.replicas) && has(self.autoscaling))",
        message = "set either replicas or autoscaling, not both", reason = "FieldValueForbidden")
public class LLMDeploymentSpec {

    @Required
    @JsonPropertyDescription("The model to serve and how the workers see it.")
    public ModelSpec model;

    @JsonPropertyDescription("Serving-engine settings, named as vLLM names them.")
    public EngineSpec engine;

    @JsonPropertyDescription("CPU, memory and GPUs of each worker.")
    public WorkerResources resources;

    @JsonPropertyDescription("Node labels a worker's node must have (pod spec.nodeSelector).")
    public Map<String, String> nodeSelector;

    @JsonPropertyDescription("Taints the workers tolerate (pod spec.tolerations), e.g. those of GPU nodes.")
    public List<Toleration> tolerations;

    @JsonPropertyDescription("Pod (anti-)affinity and node affinity of the workers (pod spec.affinity).")
    public Affinity affinity;

    @JsonPropertyDescription("The worker container image; default: the operator's gantry.operator.worker-image.")
    public String image;

    @SpecReplicas
    @Min(0)
    @JsonPropertyDescription("A fixed number of workers (default 1). Mutually exclusive with autoscaling.")
    public Integer replicas;

    @JsonPropertyDescription("Scale workers with a HorizontalPodAutoscaler instead of a fixed count. "
            + "Mutually exclusive with replicas.")
    public AutoscalingSpec autoscaling;

    @JsonPropertyDescription("How the workers serve: port, API key, response cache.")
    public ServingSpec serving;
}
