package dev.gantry.operator.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.Size;
import io.fabric8.generator.annotation.ValidationRule;
import io.fabric8.kubernetes.api.model.Affinity;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.Toleration;
import io.fabric8.kubernetes.model.annotation.SpecReplicas;
import java.util.List;
import java.util.Map;

/** The desired state of an {@link LLMDeployment}. */
@JsonInclude(JsonInclude.Include.NON_NULL)
// Both set would leave two owners of the worker count (the operator and the HPA) fighting.
@ValidationRule(value = "!(has(self.replicas) && has(self.autoscaling))",
        message = "set either replicas or autoscaling, not both", reason = "FieldValueForbidden")
// A Utilization target is a percentage of the pods' request; without one the HPA cannot compute it.
// (A limit alone also gives a request: Kubernetes copies it.)
@ValidationRule(value = "!has(self.autoscaling) || !has(self.autoscaling.targetCpuUtilization) || (has(self.resources) "
        + "&& ((has(self.resources.requests) && has(self.resources.requests.cpu)) "
        + "|| (has(self.resources.limits) && has(self.resources.limits.cpu))))",
        message = "autoscaling.targetCpuUtilization is a percentage of the CPU request: set resources.requests.cpu",
        reason = "FieldValueRequired")
@ValidationRule(value = "!has(self.autoscaling) || !has(self.autoscaling.targetMemoryUtilization) || (has(self.resources) "
        + "&& ((has(self.resources.requests) && has(self.resources.requests.memory)) "
        + "|| (has(self.resources.limits) && has(self.resources.limits.memory))))",
        message = "autoscaling.targetMemoryUtilization is a percentage of the memory request: set resources.requests.memory",
        reason = "FieldValueRequired")
public class LLMDeploymentSpec {
    /** Variables spec.env may not set (the CRD's CEL rule refuses them): other objects depend on their values. */
    public static final List<String> RESERVED_ENV = List.of("GANTRY_MODEL", "GANTRY_CACHE", "QUARKUS_HTTP_PORT");
    static final String RESERVED_ENV_CEL = "['GANTRY_MODEL', 'GANTRY_CACHE', 'QUARKUS_HTTP_PORT']";
    /** Bounds the CEL rule's cost, which the API server estimates from the list's largest size. */
    static final int MAX_ENV = 256;

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

    @JsonPropertyDescription("An Ingress in front of the workers' Service; none: reachable in the cluster only.")
    public IngressSpec ingress;

    @Size(max = MAX_ENV)
    @ValidationRule(value = "self.all(e, !has(e.name) || !(e.name in " + RESERVED_ENV_CEL + "))",
            message = "GANTRY_MODEL, GANTRY_CACHE and QUARKUS_HTTP_PORT are set by the operator from spec.model and "
                    + "spec.serving.port", reason = "FieldValueForbidden")
    @JsonPropertyDescription("Extra environment variables of the worker container (value or valueFrom), applied after "
            + "the operator's own: a name the operator also sets (HF_ENDPOINT, GANTRY_DRAIN_TIMEOUT, ...) takes this "
            + "value. GANTRY_MODEL, GANTRY_CACHE and QUARKUS_HTTP_PORT are reserved: the model's volume, the Service "
            + "and the probes depend on them.")
    public List<EnvVar> env;
}
